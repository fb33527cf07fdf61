"""Camera and microphone: granted to the tile's own origins only, shown, stoppable, revoked.

Chromium runs with fake capture devices (``--use-fake-device-for-media-stream``: a test
pattern and a tone), so a granted page gets live tracks. Nothing grants them behind the
kiosk's back (no ``--use-fake-ui-for-media-stream``): each request reaches the view's
``permissionRequested`` and ``BrowserController.allowMedia`` decides.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from pytestqt.qtbot import QtBot

from kiosk.ui.home import HomeScreen
from kiosk.ui.menu import CaptureDevices
from kiosk.ui.qt import QGuiApplication, QJSValue, QObject
from tests.ui.conftest import STANDIN_TILE, VISIO_TILE, OpenKiosk, close_home, session_view
from tests.ui.kiosk_items import item, text_of, touch
from tests.ui.standin import OTHER_ALLOWED_HOST, VISIO_HOST, Standin
from tests.ui.web import evaluate, open_page, url_of, wait_title

pytestmark = pytest.mark.qt

MEDIA_TITLES = ("media:", "frame:", "visio-ready")


def tile_view(home: HomeScreen, qtbot: QtBot, tile: str) -> QObject:
    """Open ``tile`` (a session starts); its session's view."""
    home.browser.openTile(tile)
    qtbot.waitUntil(lambda: session_view(home) is not None, timeout=10_000)
    view = session_view(home)
    assert view is not None
    return view


def open_visio(home: HomeScreen, qtbot: QtBot, standin: Standin, query: str = "?auto=1") -> str:
    """Open the video-call tile and let its page ask for the camera at once; its report."""
    view = tile_view(home, qtbot, VISIO_TILE)
    url = standin.url(f"/visio{query}", host=VISIO_HOST)
    home.browser.load(url)
    qtbot.waitUntil(lambda: url_of(view) == url, timeout=10_000)
    return wait_title(qtbot, view, lambda t: t.startswith(MEDIA_TITLES))


def refusals_of(home: HomeScreen) -> list[str]:
    seen: list[str] = []
    home.browser.refused.connect(seen.append)
    return seen


def test_the_tile_s_own_origin_gets_camera_and_microphone(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    refused = refusals_of(home)
    assert open_visio(home, qtbot, standin) == "media:live:2"
    assert refused == []
    assert home.browser.mediaActive
    assert home.browser.cameraOn
    qtbot.waitUntil(lambda: item(home, "mediaBanner").isVisible(), timeout=5_000)
    assert text_of(home, "mediaBannerText") == "La caméra est allumée pour ce service."
    assert text_of(home, "stopMediaButton") == "Éteindre la caméra"


def test_no_other_origin_ever_gets_them(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    refused = refusals_of(home)
    # The same tile, a host its allow-list opens, but not one it declares for the camera.
    view = tile_view(home, qtbot, VISIO_TILE)
    url = standin.url("/visio?auto=1", host=OTHER_ALLOWED_HOST)
    # Refused (Chromium names it AbortError when the embedder says no).
    assert open_page(home, qtbot, view, url, "media:").startswith("media:denied:")
    # A frame of that other origin inside the declared page: refused too.
    framed = standin.url("/visio?auto=1&framed=1", host=OTHER_ALLOWED_HOST)
    url = standin.url(f"/visio-frame?to={quote(framed, safe='')}", host=VISIO_HOST)
    assert open_page(home, qtbot, view, url, "frame:").startswith("frame:media:denied:")
    assert refused == ["permission", "permission"]
    assert not home.browser.mediaActive
    assert not item(home, "mediaBanner").isVisible()


def test_another_tile_never_gets_them_even_on_the_declared_origin(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    view = tile_view(home, qtbot, STANDIN_TILE)
    # The stand-in tile allows every *.test-gouv.fr host, the video call's too: still no.
    url = standin.url("/visio?auto=1", host=VISIO_HOST)
    assert open_page(home, qtbot, view, url, "media:").startswith("media:denied:")
    assert not home.browser.mediaActive


def test_the_banner_stops_the_camera(open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin) -> None:
    home = open_kiosk()
    assert open_visio(home, qtbot, standin) == "media:live:2"
    view = session_view(home)
    assert view is not None
    touch(home, qtbot, "stopMediaButton")
    qtbot.waitUntil(lambda: not home.browser.mediaActive, timeout=5_000)
    # The page that held the tracks is gone: the tile starts again from its own address.
    wait_title(qtbot, view, lambda t: t == "visio-ready")
    assert url_of(view) == standin.url("/visio", host=VISIO_HOST)
    assert evaluate(qtbot, view, "typeof window.kioskStream") == "undefined"
    assert not item(home, "mediaBanner").isVisible()
    # Still the same session: the resident may call again.
    assert home.browser.sessionActive


def test_leaving_the_page_turns_the_banner_off(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    assert open_visio(home, qtbot, standin) == "media:live:2"
    view = session_view(home)
    assert view is not None
    home.browser.load(standin.url("/target", host=VISIO_HOST))
    wait_title(qtbot, view, lambda t: t == "target-page")
    assert not home.browser.mediaActive


def test_the_grant_ends_with_the_session(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    assert open_visio(home, qtbot, standin) == "media:live:2"
    with qtbot.waitSignal(home.browser.selfCheckDone, timeout=10_000) as done:
        home.browser.finishSession()
    # The new profile holds no permission for any origin (the self-check looks).
    assert done.args[0].ok, done.args[0]
    assert not home.browser.mediaActive
    profile = home.browser.current_profile
    assert profile is not None
    assert not profile.listAllPermissions()
    # The next session: the page finds no standing grant, only a question the kiosk answers.
    assert open_visio(home, qtbot, standin, query="") == "visio-ready"
    view = session_view(home)
    assert view is not None
    view.runJavaScript(  # type: ignore[attr-defined]
        "navigator.permissions.query({name: 'camera'})"
        ".then((p) => { document.title = 'perm:' + p.state; })",
        QJSValue(),
    )
    assert wait_title(qtbot, view, lambda t: t.startswith("perm:")) == "perm:prompt"


@pytest.mark.parametrize(
    ("devices", "note"),
    [
        (CaptureDevices(camera=False, microphone=True), "Pas de caméra sur cette borne"),
        (CaptureDevices(camera=True, microphone=False), "Pas de micro sur cette borne"),
        (CaptureDevices(camera=True, microphone=True), ""),
    ],
)
def test_a_terminal_without_a_camera_says_so_on_the_tile(
    qapp: QGuiApplication,
    qtbot: QtBot,
    standin_catalog: object,
    standin_bundle: object,
    devices: CaptureDevices,
    note: str,
) -> None:
    home = HomeScreen(
        qapp,
        standin_catalog,  # type: ignore[arg-type]
        standin_bundle,  # type: ignore[arg-type]
        "fr",
        devices=lambda: devices,
    )
    try:
        with qtbot.waitSignal(home.window.frameSwapped, timeout=10_000):
            home.show(windowed=True)
        home.menu.openGroup("sante")
        cards = {card.card_id: card for card in home.menu.group_cards}
        assert cards[VISIO_TILE].note == note
        assert cards[STANDIN_TILE].note == ""
        if note:
            qtbot.waitUntil(lambda: item(home, f"tile-{VISIO_TILE}-note").isVisible())
            assert text_of(home, f"tile-{VISIO_TILE}-note") == note
    finally:
        close_home(home, qtbot)
