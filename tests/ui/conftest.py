"""Fixtures for the touch UI: a shown home screen, offscreen, in a chosen language.

QtWebEngine reads its Chromium switches once per process, when its first profile is made, so
the stand-in site's host mapping and certificate pin go on the application's command line
(``qapp_args``), which is built before the application and keeps arguments with spaces whole.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kiosk.contract.catalog import Catalog, default_bundle_dir, load_catalog
from kiosk.ui.browser import prepare_web_engine
from kiosk.ui.home import HomeScreen
from kiosk.ui.main import make_singletons_immortal
from kiosk.ui.qt import (
    QEventLoop,
    QGuiApplication,
    QMessageLogContext,
    QObject,
    QTimer,
    QtMsgType,
    qInstallMessageHandler,
)
from kiosk.ui.session import SessionTimeouts
from tests.ui.kiosk_items import settled
from tests.ui.standin import (
    ALLOWED_HOST,
    BAD_CERT_HOST,
    OTHER_ALLOWED_HOST,
    OUTSIDE_HOST,
    SCHOOL_HOST,
    VISIO_HOST,
    WEBMAIL_HOST,
    Standin,
    TlsFiles,
    make_certificate,
    route_web_engine_to_standin,
    running_standin,
    write_standin_bundle,
)

# The suite emits thousands of Qt signals: the same guard as the kiosk itself (see main.py).
make_singletons_immortal()

pytestmark = pytest.mark.qt

ShowHome = Callable[[str], HomeScreen]
#: Tiles of the test catalog: the stand-in service, one whose server is down, and a video
#: call granted the camera and microphone on its own origin.
STANDIN_TILE = "standin"
OFFLINE_TILE = "hors-ligne"
VISIO_TILE = "visio"


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[TlsFiles, TlsFiles]:
    """The stand-in's trusted certificate and the bad-certificate twin's untrusted one."""
    directory = tmp_path_factory.mktemp("tls")
    trusted = make_certificate(
        directory,
        "standin",
        [ALLOWED_HOST, OTHER_ALLOWED_HOST, OUTSIDE_HOST, WEBMAIL_HOST, SCHOOL_HOST, VISIO_HOST],
    )
    untrusted = make_certificate(directory, "badcert", [BAD_CERT_HOST])
    return trusted, untrusted


@pytest.fixture(scope="session")
def qapp_cls(tls_files: tuple[TlsFiles, TlsFiles]) -> type[QGuiApplication]:
    """The kiosk is a Qt Quick application: no widgets, but QtWebEngine set up first."""
    route_web_engine_to_standin(tls_files[0])
    prepare_web_engine()
    return QGuiApplication


@pytest.fixture(scope="session")
def standin(tls_files: tuple[TlsFiles, TlsFiles]) -> Iterator[Standin]:
    with running_standin(*tls_files) as site:
        yield site


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="session")
def standin_bundle(tmp_path_factory: pytest.TempPathFactory, standin: Standin) -> Path:
    """A content bundle whose tiles point at the stand-in (and at a server that is down)."""
    down: dict[str, object] = {
        "id": OFFLINE_TILE,
        "label": {"fr": "Service en panne"},
        "url": f"https://{ALLOWED_HOST}:{_closed_port()}/",
    }
    visio: dict[str, object] = {
        "id": VISIO_TILE,
        "label": {"fr": "Appel vidéo (test)"},
        "url": standin.url("/visio", host=VISIO_HOST),
        "media": {
            "devices": ["camera", "microphone"],
            "origins": [standin.url("", host=VISIO_HOST)],
        },
    }
    return write_standin_bundle(
        tmp_path_factory.mktemp("bundle"), standin.url(), "test", extra_tiles=(down, visio)
    )


@pytest.fixture(scope="session")
def standin_catalog(standin_bundle: Path) -> Catalog:
    return load_catalog(standin_bundle)


#: What QtWebEngine says once per process when it starts on the offscreen platform (it probes
#: OpenGL, which offscreen lacks, then renders in software). Dropped during the warm-up only.
STARTUP_NOISE = ("QRhiGles2: Failed to create", "Failed to create RHI for backend", "GPUInfo")


def _wait_for(condition: Callable[[], bool], timeout_ms: int) -> None:
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(20)
    poll.timeout.connect(lambda: loop.quit() if condition() else None)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    poll.start()
    deadline.start(timeout_ms)
    loop.exec()
    assert condition(), "QtWebEngine did not start in time"


@pytest.fixture(scope="session", autouse=True)
def web_engine_started(
    qapp: QGuiApplication, standin_bundle: Path, standin_catalog: Catalog
) -> None:
    """Start QtWebEngine once (a page really drawn) with its start-up noise filtered out."""
    forward: list[Callable[[QtMsgType, QMessageLogContext, str], object] | None] = []

    def drop_startup_noise(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if message.startswith(STARTUP_NOISE) or forward[0] is None:
            return
        forward[0](kind, context, message)

    forward.append(qInstallMessageHandler(drop_startup_noise))
    try:
        home = HomeScreen(qapp, standin_catalog, standin_bundle, "fr")
        home.show(windowed=True)
        home.browser.openTile(STANDIN_TILE)
        _wait_for(
            lambda: (
                (v := session_view(home)) is not None
                and not v.property("loading")
                and str(v.property("title")) == "standin-home"
            ),
            20_000,
        )
        home.browser.finishSession()
        _wait_for(
            lambda: home.browser.sessionActive is False and session_view(home) is None, 10_000
        )
        destroyed: list[bool] = []
        home.browser.destroyed.connect(lambda: destroyed.append(True))
        home.close()
        _wait_for(lambda: bool(destroyed), 10_000)
    finally:
        qInstallMessageHandler(forward[0])


def close_home(home: HomeScreen, qtbot: QtBot) -> None:
    """Close a home screen and wait until its view and profile are really gone."""
    if home.browser.sessionActive:
        with qtbot.waitSignal(home.browser.selfCheckDone, timeout=10_000):
            home.browser.wipe_now()
    with qtbot.waitSignal(home.browser.destroyed, timeout=10_000):
        home.close()


@pytest.fixture
def show_home(qapp: QGuiApplication, qtbot: QtBot) -> Iterator[ShowHome]:
    """Open the default home screen windowed in a language; return once its first frame is up."""
    opened: list[HomeScreen] = []

    def show(language: str) -> HomeScreen:
        home = HomeScreen(qapp, load_catalog(default_bundle_dir()), default_bundle_dir(), language)
        opened.append(home)
        with qtbot.waitSignal(home.window.frameSwapped, timeout=10_000):
            home.show(windowed=True)
        settled(home, qtbot)
        return home

    yield show
    for home in opened:
        close_home(home, qtbot)


OpenKiosk = Callable[..., HomeScreen]


@pytest.fixture
def open_kiosk(
    qapp: QGuiApplication, qtbot: QtBot, standin_bundle: Path, standin_catalog: Catalog
) -> Iterator[OpenKiosk]:
    """Show a kiosk on the stand-in catalog, with the session timeouts a test chooses."""
    opened: list[HomeScreen] = []

    def show(
        timeouts: SessionTimeouts | None = None,
        retry_interval_s: float = 10.0,
    ) -> HomeScreen:
        home = HomeScreen(
            qapp,
            standin_catalog,
            standin_bundle,
            "fr",
            timeouts or SessionTimeouts(),
            retry_interval_s=retry_interval_s,
        )
        opened.append(home)
        with qtbot.waitSignal(home.window.frameSwapped, timeout=10_000):
            home.show(windowed=True)
        settled(home, qtbot)
        return home

    yield show
    for home in opened:
        close_home(home, qtbot)


def session_view(home: HomeScreen) -> QObject | None:
    """The session's WebEngineView, if one is loaded."""
    browser_view = home.window.findChild(QObject, "browserView")
    assert browser_view is not None
    view = browser_view.property("webView")
    return view if isinstance(view, QObject) else None
