"""A stand-in public-service site over HTTPS on loopback, for the lockdown and wipe tests.

Chromium reaches it under test host names (``www.test-gouv.fr`` allowed by the test tile,
``www.test-ailleurs.fr`` outside it) mapped to 127.0.0.1 by ``--host-resolver-rules``; its
throwaway certificate is trusted through ``--ignore-certificate-errors-spki-list``. A second
server with an untrusted certificate stands for a site whose certificate is wrong.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import html
import json
import os
import shutil
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.contract.catalog import default_bundle_dir

ALLOWED_HOST: Final = "www.test-gouv.fr"
OTHER_ALLOWED_HOST: Final = "autre.test-gouv.fr"
OUTSIDE_HOST: Final = "www.test-ailleurs.fr"
BAD_CERT_HOST: Final = "badcert.test-gouv.fr"
#: A webmail's stand-in (its sign-in is a session cookie, HttpOnly, as webmails use).
WEBMAIL_HOST: Final = "webmail.test-gouv.fr"
#: A school portal's stand-in (its sign-in is a token kept in the page's storage).
SCHOOL_HOST: Final = "ent.test-gouv.fr"
#: A family-call or telemedicine stand-in, the only origin its tile grants the camera to.
VISIO_HOST: Final = "visio.test-gouv.fr"
# Every other host name resolves to nothing: the tests never reach the real internet (the
# default catalog's tiles point at real sites).
HOST_RESOLVER_RULES: Final = (
    "MAP *.test-gouv.fr 127.0.0.1, MAP *.test-ailleurs.fr 127.0.0.1, MAP * ~NOTFOUND"
)
TYPED_SECRET: Final = "secretdupatient"
#: What a resident types into a sign-in form (letters only: ``type_text`` sends letters).
SIGN_IN_USER: Final = "parentdeleve"
SIGN_IN_PASSWORD: Final = "motdepasse"
#: The session cookie the webmail stand-in sets once signed in.
SIGN_IN_COOKIE: Final = "mail_session"


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    spki_sha256: str


def make_certificate(directory: Path, name: str, hosts: list[str]) -> TlsFiles:
    """A self-signed certificate for ``hosts``, and its public key's SHA-256 (base64)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    return TlsFiles(cert_path, key_path, digest)


def _html(title: str, body: str = "", script: str = "") -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body style='margin:0;font:24px sans-serif'>{body}"
        f"<script>{script}</script></body></html>"
    )


# Everything state a session can leave behind, planted by /plant and looked for by /probe.
PLANT_SCRIPT: Final = """
(async () => {
  const done = {};
  document.cookie = 'js_session=1; path=/; secure';
  document.cookie = 'js_persistent=1; path=/; max-age=86400; secure';
  localStorage.setItem('planted', '1');
  sessionStorage.setItem('planted', '1');
  done.idb = await new Promise((resolve) => {
    const open = indexedDB.open('planted-db', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('s');
    open.onsuccess = () => {
      const tx = open.result.transaction('s', 'readwrite');
      tx.objectStore('s').put('1', 'k');
      tx.oncomplete = () => { open.result.close(); resolve(true); };
    };
    open.onerror = () => resolve(false);
  });
  const cache = await caches.open('planted-cache');
  await cache.put('/cache-entry', new Response('1'));
  done.cache = (await caches.keys()).includes('planted-cache');
  const reg = await navigator.serviceWorker.register('/sw.js');
  await navigator.serviceWorker.ready;
  done.sw = (await navigator.serviceWorker.getRegistrations()).length;
  await fetch('/cached.js');
  await fetch('/cached.js');
  done.geo = await new Promise((resolve) => navigator.geolocation.getCurrentPosition(
      () => resolve('granted'), () => resolve('denied')));
  document.title = 'planted:' + JSON.stringify(done);
})().catch((e) => { document.title = 'plant-failed:' + e; });
"""

PROBE_SCRIPT: Final = """
(async () => {
  const found = {};
  found.cookies = document.cookie;
  found.localStorage = localStorage.getItem('planted');
  found.sessionStorage = sessionStorage.getItem('planted');
  found.indexedDB = (await indexedDB.databases()).map((d) => d.name);
  found.cacheStorage = await caches.keys();
  found.serviceWorkers = (await navigator.serviceWorker.getRegistrations()).length;
  found.geolocation = (await navigator.permissions.query({name: 'geolocation'})).state;
  found.historyLength = history.length;
  found.typed = document.getElementById('field').value;
  // Chromium marks a field it filled in by itself (autofill of saved form data).
  found.autofilled = document.querySelector('input:-webkit-autofill') !== null;
  await fetch('/cached.js');
  document.title = 'probe:' + JSON.stringify(found);
})().catch((e) => { document.title = 'probe-failed:' + e; });
"""

FORM_BODY: Final = (
    "<form><input id='field' name='nom' autocomplete='on' autofocus "
    "style='font-size:40px;width:90%'></form>"
)

# A sign-in form as webmails and school portals have: the browser is told these are
# credentials (autocomplete), so anything it would remember or offer would show here.
SIGN_IN_FORM: Final = (
    "<form id='signin' method='get' action='/signed-in'>"
    "<input type='hidden' name='kind' value='KIND'>"
    "<input id='user' name='user' autocomplete='username' style='font-size:40px;width:90%'>"
    "<input id='password' name='password' type='password' autocomplete='current-password'"
    " style='font-size:40px;width:90%'>"
    "<button id='go' style='font-size:40px'>Se connecter</button></form>"
)
# The school stand-in signs in from script: a token in localStorage and in IndexedDB.
STORAGE_SIGN_IN_SCRIPT: Final = """
document.getElementById('signin').addEventListener('submit', (event) => {
  event.preventDefault();
  const user = document.getElementById('user').value;
  localStorage.setItem('token', 'jeton-' + user);
  const open = indexedDB.open('ent', 1);
  open.onupgradeneeded = () => open.result.createObjectStore('session');
  open.onsuccess = () => {
    const tx = open.result.transaction('session', 'readwrite');
    tx.objectStore('session').put(user, 'user');
    tx.oncomplete = () => { open.result.close(); location.href = '/inbox?kind=storage'; };
  };
});
"""
# Who the school stand-in's page believes is signed in (its storage, or nobody).
STORAGE_INBOX_SCRIPT: Final = """
(async () => {
  const token = localStorage.getItem('token');
  const names = (await indexedDB.databases()).map((d) => d.name);
  document.title = (token ? 'inbox:signed-in:' + token.slice(6) : 'inbox:signed-out')
      + (names.includes('ent') ? ':idb' : '');
})();
"""


def signed_in_user(cookie_header: str) -> str | None:
    """Whose webmail session a request's ``Cookie`` header carries (``None``: nobody's)."""
    for pair in cookie_header.split(";"):
        name, _eq, value = pair.strip().partition("=")
        if name == SIGN_IN_COOKIE and value:
            return value
    return None


# A video call as such services start one: a big "Call" button asks for the camera and the
# microphone (at once with ?auto=1); the title says what the page got: "media:live:2" (two
# live tracks) or "media:denied:<error>". In a frame (?framed=1) it tells its parent instead.
VISIO_SCRIPT: Final = """
const report = (text) => {
  if (new URLSearchParams(location.search).get('framed')) parent.postMessage(text, '*');
  else document.title = text;
};
const call = () => navigator.mediaDevices.getUserMedia({video: true, audio: true}).then(
  (stream) => {
    window.kioskStream = stream;
    // What the camera sees, where the call button was (Chromium's fake camera: a pattern).
    const video = document.createElement('video');
    Object.assign(video, {srcObject: stream, autoplay: true, muted: true});
    video.style = 'position:fixed;inset:0;width:100%;height:100%;background:#000';
    document.body.replaceChildren(video);
    report('media:live:' + stream.getTracks().filter((t) => t.readyState === 'live').length);
  },
  (error) => report('media:denied:' + error.name));
document.getElementById('call').onclick = call;
if (new URLSearchParams(location.search).get('auto')) call();
else document.title = 'visio-ready';
"""
VISIO_BODY: Final = (
    "<button id='call' style='position:fixed;inset:0;width:100%;height:100%;font-size:60px'>"
    "Appeler</button>"
)


def _visio_frame(target: str) -> str:
    """A declared page holding a frame of another origin that asks for the camera itself."""
    return _html(
        "visio-frame",
        f"<iframe id='f' src='{html.escape(target)}' allow='camera; microphone'"
        " width=400 height=300></iframe>",
        "window.addEventListener('message', (e) => { document.title = 'frame:' + e.data; });",
    )


# After a page tries something, it marks itself "still-here" a moment later: if the attempt
# navigated away, that mark never comes (a page-side timer, so tests never sleep).
SETTLE: Final = "setTimeout(() => { document.title = 'still-here'; }, 600);"
# A page that waits for a touch says so once it is drawn and its handlers are set.
READY: Final = (
    "requestAnimationFrame(() => requestAnimationFrame(() => {document.title = 'READY';}));"
)


def _link_page(target: str) -> str:
    return _html(
        "link",
        f"<a id='a' href='{html.escape(target)}'>go</a>",
        "document.getElementById('a').click();" + SETTLE,
    )


def page_for(path: str, query: dict[str, list[str]]) -> str | None:
    """The stand-in's HTML for ``path`` (None for a 404)."""
    target = query.get("to", [""])[0]
    pages = {
        "/": lambda: _html("standin-home", "<h1>Service public (test)</h1>" + FORM_BODY),
        "/plant": lambda: _html("planting", FORM_BODY, PLANT_SCRIPT),
        "/probe": lambda: _html("probing", FORM_BODY, PROBE_SCRIPT),
        "/link": lambda: _link_page(target),
        "/frame": lambda: _html(
            "frame", f"<iframe id='f' src='{target}' width=400 height=300></iframe>", SETTLE
        ),
        "/popup": lambda: _html("popup", "", f"window.open('{target}');" + SETTLE),
        "/blank-link": lambda: _html(
            "blank-link",
            f"<a id='a' href='{html.escape(target)}' target='_blank'>go</a>",
            "document.getElementById('a').click();" + SETTLE,
        ),
        "/drag": lambda: _html(
            "drag",
            "<a id='a' href='/target' style='display:block;font-size:80px'>lien</a>"
            "<p id='p' style='font-size:80px'>texte</p>",
            # The page's own listener, registered as a site would: it sees whether the drag
            # was cancelled before it (and, if not, would see the drag go on).
            "document.addEventListener('dragstart', (e) => {"
            " document.title = 'dragstart:' + e.defaultPrevented; });"
            + READY.replace("READY", "drag-ready"),
        ),
        "/target": lambda: _html("target-page", "<p>target</p>"),
        "/print": lambda: _html("print", "", "window.print();" + SETTLE),
        "/keys": lambda: _html(
            "keys",
            "<textarea id='k' style='position:fixed;inset:0;width:100%;height:100%'></textarea>",
            "document.addEventListener('keydown', (e) => {"
            " if (['Control','Alt','Shift','Meta'].includes(e.key)) return;"
            # A leading space: document.title drops trailing white space.
            " document.title += ' ' + (e.ctrlKey ? 'C-' : '') + (e.altKey ? 'A-' : '') + e.code; },"
            " true);" + READY.replace("READY", "keys-ready"),
        ),
        "/touch": lambda: _html(
            "touch",
            "<button id='b' style='position:fixed;inset:0;width:100%;height:100%'>x</button>"
            "<input id='file' type='file' style='display:none'>",
            f"document.getElementById('b').onclick = () => {{ {target} }};"
            + READY.replace("READY", "touch-ready"),
        ),
        "/permission": lambda: _html("permission", "", PERMISSION_SCRIPTS.get(target, "")),
        "/visio": lambda: _html("visio", VISIO_BODY, VISIO_SCRIPT),
        "/visio-frame": lambda: _visio_frame(target),
        "/signin": lambda: _html(
            "signin",
            SIGN_IN_FORM.replace("KIND", html.escape(query.get("kind", ["cookie"])[0])),
            STORAGE_SIGN_IN_SCRIPT if query.get("kind") == ["storage"] else "",
        ),
    }
    make = pages.get(path)
    return make() if make else None


PERMISSION_SCRIPTS: Final = {
    "geolocation": "navigator.geolocation.getCurrentPosition("
    "() => { document.title = 'perm:granted'; }, () => { document.title = 'perm:denied'; });",
    "camera": "navigator.mediaDevices.getUserMedia({video: true}).then("
    "() => { document.title = 'perm:granted'; }, () => { document.title = 'perm:denied'; });",
    "microphone": "navigator.mediaDevices.getUserMedia({audio: true}).then("
    "() => { document.title = 'perm:granted'; }, () => { document.title = 'perm:denied'; });",
    "notifications": "Notification.requestPermission().then("
    "(p) => { document.title = p === 'granted' ? 'perm:granted' : 'perm:denied'; });",
    "clipboard-read": "navigator.clipboard.readText().then("
    "() => { document.title = 'perm:granted'; }, () => { document.title = 'perm:denied'; });",
}

SERVICE_WORKER: Final = "self.addEventListener('fetch', () => {});"


def _pdf() -> bytes:
    """A valid one-page PDF saying "Attestation (test)", with its cross-reference table."""
    stream = b"BT /F1 36 Tf 60 300 Td (Attestation \\(test\\)) Tj ET"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length %d>>stream\n%s\nendstream" % (len(stream), stream),
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


PDF_BYTES: Final = _pdf()


@dataclass
class StandinLog:
    """What the stand-in received: (host, path) pairs and the Cookie header of each request."""

    requests: list[tuple[str, str]] = field(default_factory=list)
    cookies: dict[str, list[str]] = field(default_factory=dict)
    #: The query string of each request, by path (a submitted form's fields).
    queries: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hits(self, path: str) -> int:
        with self.lock:
            return sum(1 for _host, p in self.requests if p == path)

    def hosts(self) -> set[str]:
        with self.lock:
            return {host for host, _path in self.requests}

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
            self.cookies.clear()
            self.queries.clear()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a browser closing a connection early (favicon, cancelled load) is not news


def _handler(log: StandinLog) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass  # the test log stays quiet; StandinLog keeps what tests need

        def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            host = (self.headers.get("Host") or "").split(":")[0]
            with log.lock:
                log.requests.append((host, parts.path))
                log.cookies.setdefault(parts.path, []).append(self.headers.get("Cookie") or "")
                log.queries.setdefault(parts.path, []).append(parts.query)
            if parts.path == "/cached.js":
                self._send(200, b"// cached", "text/javascript", Cache_Control="max-age=3600")
            elif parts.path == "/sw.js":
                self._send(200, SERVICE_WORKER.encode(), "text/javascript")
            elif parts.path == "/doc.pdf":
                self._send(200, PDF_BYTES, "application/pdf")
            elif parts.path == "/download":
                self._send(
                    200,
                    b"not for the terminal's disk",
                    "application/octet-stream",
                    Content_Disposition="attachment; filename=releve.bin",
                )
            elif parts.path == "/auth":
                self._send(
                    401,
                    _html("auth-refused").encode(),
                    "text/html",
                    WWW_Authenticate='Basic realm="test"',
                )
            elif parts.path == "/redirect":
                target = parse_qs(parts.query).get("to", ["/"])[0]
                self._send(302, b"", "text/html", Location=target)
            elif parts.path == "/signed-in":
                # The webmail's sign-in: the session lives in an HttpOnly cookie.
                user = parse_qs(parts.query).get("user", [""])[0]
                self._send(
                    302,
                    b"",
                    "text/html",
                    Location="/inbox?kind=cookie",
                    Set_Cookie=f"{SIGN_IN_COOKIE}={user}; Path=/; Secure; HttpOnly",
                )
            elif parts.path == "/inbox":
                if parse_qs(parts.query).get("kind") == ["storage"]:
                    body = _html("inbox", "", STORAGE_INBOX_SCRIPT)
                else:
                    user = signed_in_user(self.headers.get("Cookie") or "")
                    body = _html(f"inbox:signed-in:{user}" if user else "inbox:signed-out")
                self._send(200, body.encode(), "text/html")
            elif parts.path == "/plant":
                body = page_for(parts.path, {})
                assert body is not None
                self._send(
                    200,
                    body.encode(),
                    "text/html",
                    Set_Cookie="server_persistent=1; Max-Age=86400; Path=/; Secure",
                )
            else:
                page = page_for(parts.path, parse_qs(parts.query))
                if page is None:
                    self._send(404, _html("not-found").encode(), "text/html")
                else:
                    self._send(200, page.encode(), "text/html")

    return Handler


@dataclass
class Standin:
    """The running stand-in: its port, what it saw, and URL helpers."""

    port: int
    bad_cert_port: int
    client_cert_port: int
    log: StandinLog

    def url(self, path: str = "/", host: str = ALLOWED_HOST) -> str:
        return f"https://{host}:{self.port}{path}"

    def bad_cert_url(self) -> str:
        return f"https://{BAD_CERT_HOST}:{self.bad_cert_port}/"

    def client_cert_url(self) -> str:
        return f"https://{OTHER_ALLOWED_HOST}:{self.client_cert_port}/target"


@contextmanager
def _serve(tls: TlsFiles, log: StandinLog, *, ask_client_cert: bool = False) -> Iterator[int]:
    server = _QuietServer(("127.0.0.1", 0), _handler(log))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls.cert, tls.key)
    if ask_client_cert:
        # The TLS handshake asks the browser for a certificate (as some ID-card sites do).
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(tls.cert)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def running_standin(trusted: TlsFiles, untrusted: TlsFiles) -> Iterator[Standin]:
    """Serve the stand-in (trusted certificate) and the bad-certificate twin."""
    log = StandinLog()
    with (
        _serve(trusted, log) as port,
        _serve(untrusted, StandinLog()) as bad_port,
        _serve(trusted, StandinLog(), ask_client_cert=True) as client_cert_port,
    ):
        yield Standin(port, bad_port, client_cert_port, log)


def route_web_engine_to_standin(trusted: TlsFiles) -> None:
    """Point QtWebEngine's host names at the stand-in and trust its certificate (before the
    application starts). The switches go into ``QTWEBENGINE_CHROMIUM_FLAGS``, whose parser keeps
    a double-quoted value whole; application arguments after ``--webEngineArgs`` were not
    honoured for ``--host-resolver-rules`` with PySide6 6.12."""
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
    # Fake camera and microphone (a test pattern and a tone) so that a granted page gets live
    # tracks; never --use-fake-ui-for-media-stream, which would grant them without asking the
    # kiosk: the permission decision stays the kiosk's own.
    os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = (
        f'{flags} --host-resolver-rules="{HOST_RESOLVER_RULES}"'
        f" --ignore-certificate-errors-spki-list={trusted.spki_sha256}"
        " --use-fake-device-for-media-stream"
    ).strip()


def write_standin_bundle(
    bundle: Path, url: str, version: str, extra_tiles: tuple[dict[str, object], ...] = ()
) -> Path:
    """A content bundle in ``bundle`` whose ``standin`` tile opens ``url`` (one group, the
    stand-in's allow-list); ``extra_tiles`` get the same group, icon and allow-list."""
    shutil.copy(default_bundle_dir() / "sante.svg", bundle / "sante.svg")
    tile = {"group": "sante", "icon": "sante.svg", "allow": ["*.test-gouv.fr"]}
    catalog = {
        "v": 1,
        "version": version,
        "groups": [{"id": "sante", "label": {"fr": "Santé"}, "icon": "sante.svg"}],
        "tiles": [
            {**tile, "id": "standin", "label": {"fr": "Service test"}, "url": url},
            *({**tile, **extra} for extra in extra_tiles),
        ],
    }
    (bundle / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
    return bundle
