"""``kiosk-provision check`` on fake /sys, /proc and /dev trees, against local servers."""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from provisioning import checks
from provisioning.cli import build_app

runner = CliRunner()

TOUCH_DEVICES = """I: Bus=0011 Vendor=0001 Product=0001 Version=ab41
N: Name="AT Translated Set 2 keyboard"
H: Handlers=sysrq kbd event0
B: KEY=402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe

I: Bus=0003 Vendor=0eef Product=c000 Version=0111
N: Name="eGalax Inc. USB TouchController"
H: Handlers=mouse0 event5
B: KEY=400 0 0 0 0 0
B: ABS=260800000000003
"""


def fake_machine(root: Path, touch: bool = True, screen: str = "connected") -> checks.Paths:
    (root / "sys/class/drm/card0-HDMI-A-1").mkdir(parents=True)
    (root / "sys/class/drm/card0-HDMI-A-1/status").write_text(f"{screen}\n")
    (root / "proc/bus/input").mkdir(parents=True)
    (root / "proc/bus/input/devices").write_text(TOUCH_DEVICES if touch else "")
    (root / "proc/net").mkdir(parents=True)
    (root / "proc/net/route").write_text(
        "Iface\tDestination\tGateway\tFlags\nenp1s0\t00000000\t0100A8C0\t0003\n"
    )
    (root / "proc/asound").mkdir(parents=True)
    (root / "proc/asound/cards").write_text(" 0 [PCH ]: HDA-Intel - HDA Intel PCH\n")
    (root / "dev/input").mkdir(parents=True)
    for node in ("event0", "event5"):
        (root / "dev/input" / node).touch()
    sensors = root / "sensors"
    sensors.mkdir()
    (sensors / "door").write_text("0\n")
    (sensors / "temp").write_text("23500\n")
    (root / "etc").mkdir()
    (root / "etc/agent.toml").write_text(
        'terminal_id = "bdx-x-001"\n[mqtt]\npassword = "x"\n'
        f'[enclosure]\nbackend = "sysfs"\ndoor_gpio = "{sensors / "door"}"\n'
        f'temperature = "{sensors / "temp"}"\n'
    )
    return checks.Paths(root / "sys", root / "proc", root / "dev", root, root / "etc/agent.toml")


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A CA:TRUE certificate for localhost and 127.0.0.1 (its own CA), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "ca.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class DateHandler(http.server.BaseHTTPRequestHandler):
    offset_s = 0.0

    def date_time_string(self, timestamp: float | None = None) -> str:
        return formatdate(time.time() + self.offset_s, usegmt=True)

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


@pytest.fixture
def https_fleet(tls_files: tuple[Path, Path]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), DateHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_files)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def tls_broker(tls_files: tuple[Path, Path]) -> Iterator[tuple[str, int]]:
    """A TLS listener standing in for the broker's (handshake only)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_files)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _addr = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield ("localhost", listener.getsockname()[1])
    stop.set()
    listener.close()


def english(text: str) -> str:
    return text


def test_touch_devices_are_found_by_their_capabilities(tmp_path: Path) -> None:
    paths = fake_machine(tmp_path)
    found = checks.touch_devices(paths.proc_root, paths.dev_root)
    assert found == [("eGalax Inc. USB TouchController", str(paths.dev_root / "input/event5"))]


def test_a_healthy_unit_passes_everything(
    tmp_path: Path,
    https_fleet: str,
    tls_broker: tuple[str, int],
    tls_files: tuple[Path, Path],
) -> None:
    paths = fake_machine(tmp_path / "m")
    targets = checks.Targets(https_fleet, tls_broker, tls_files[0], which=lambda _: "/usr/bin/x")
    results = checks.run_all(paths, targets, english)
    assert [(r.item, r.verdict) for r in results if r.verdict != checks.Verdict.PASS] == [
        # The fake tree's disk is the real one: it may be full on a CI machine.
        (r.item, r.verdict)
        for r in results
        if r.item == "Disk space" and r.verdict != checks.Verdict.PASS
    ]
    assert checks.exit_code([r for r in results if r.item != "Disk space"]) == 0


def test_a_bare_unit_fails_with_what_to_do(tmp_path: Path) -> None:
    paths = fake_machine(tmp_path / "m", touch=False, screen="disconnected")
    results = {
        r.item: r for r in checks.run_all(paths, checks.Targets(which=lambda _: None), english)
    }
    assert results["Display"].verdict == checks.Verdict.FAIL
    assert "video cable" in results["Display"].todo
    assert results["Touch screen"].verdict == checks.Verdict.FAIL
    assert results["Audio for read-aloud"].verdict == checks.Verdict.WARN
    assert results["Fleet reachable"].verdict == checks.Verdict.WARN


def test_clock_offset_and_an_untrusted_certificate(
    tmp_path: Path, https_fleet: str, tls_files: tuple[Path, Path]
) -> None:
    DateHandler.offset_s = 600.0
    try:
        clock = checks.check_fleet(checks.Targets(https_fleet, ca_file=tls_files[0]), english)
    finally:
        DateHandler.offset_s = 0.0
    assert clock[0].verdict == checks.Verdict.PASS
    assert clock[1].verdict == checks.Verdict.FAIL
    assert "NTP" in clock[1].todo
    # Without the CA, the self-signed certificate is refused: TLS is really verified.
    untrusted = checks.check_fleet(checks.Targets(https_fleet), english)
    assert untrusted[0].verdict == checks.Verdict.FAIL
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted[0].detail


def test_broker_tls_is_verified(tls_broker: tuple[str, int], tls_files: tuple[Path, Path]) -> None:
    good = checks.check_broker(checks.Targets(broker=tls_broker, ca_file=tls_files[0]), english)
    assert good.verdict == checks.Verdict.PASS
    bad = checks.check_broker(
        checks.Targets(
            broker=tls_broker,
            ca_file=Path(
                ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt"
            ),
        ),
        english,
    )
    assert bad.verdict == checks.Verdict.FAIL


def test_silent_sensors_fail(tmp_path: Path) -> None:
    paths = fake_machine(tmp_path / "m")
    (tmp_path / "m/sensors/temp").unlink()
    result = checks.check_sensors(paths, english)
    assert result.verdict == checks.Verdict.FAIL
    assert "temperature" in result.detail


def test_the_command_prints_a_table_in_french_and_exits_with_the_verdict(tmp_path: Path) -> None:
    paths = fake_machine(tmp_path / "m", touch=False)
    result = runner.invoke(
        build_app("fr"),
        [
            "check",
            "--etc-dir",
            str(tmp_path / "m/etc"),
            "--sys-root",
            str(paths.sys_root),
            "--proc-root",
            str(paths.proc_root),
            "--dev-root",
            str(paths.dev_root),
            "--state-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "Écran tactile" in result.output
    assert "ÉCHEC" in result.output
