"""Each way out of the lockdown, tried by the stand-in site in the real QtWebEngine."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from pytestqt.qtbot import QtBot

from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import QEvent, QGuiApplication, QKeyEvent, QObject, QPoint, QQuickItem, Qt
from tests.ui.conftest import OpenKiosk
from tests.ui.standin import OUTSIDE_HOST, SETTLE, Standin
from tests.ui.web import OFFLINE_TITLE, REFUSED_TITLE, open_standin, url_of, wait_title

pytestmark = pytest.mark.qt


def refusals(home: HomeScreen) -> list[str]:
    """The vectors the kiosk refuses from now on, in order."""
    seen: list[str] = []
    home.browser.refused.connect(seen.append)
    return seen


def settled(text: str) -> bool:
    """The page either was replaced by the refusal page or stayed where it was."""
    return text in (REFUSED_TITLE, "still-here")


def centre_of(view: QObject) -> QPoint:
    assert isinstance(view, QQuickItem)
    return view.mapToScene(view.boundingRect().center()).toPoint()


def outside(standin: Standin, path: str = "/target") -> str:
    return standin.url(path, host=OUTSIDE_HOST)


# ----- navigations -----------------------------------------------------------------------


def test_allowed_link_opens(open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin) -> None:
    home = open_kiosk()
    view = open_standin(home, qtbot, standin.url(f"/link?to={quote('/target')}"))
    wait_title(qtbot, view, lambda t: t == "target-page")


@pytest.mark.parametrize(
    ("target", "vector"),
    [
        pytest.param("outside", "outside-allow-list", id="outside-host"),
        pytest.param("redirect-outside", "outside-allow-list", id="server-redirect-outside"),
        pytest.param("http", "forbidden-scheme", id="plain-http"),
        pytest.param("file:///etc/hostname", "forbidden-scheme", id="file"),
        pytest.param("data:text/html,<title>escaped</title>", "forbidden-scheme", id="data"),
        pytest.param("view-source:self", "forbidden-scheme", id="view-source"),
        pytest.param("chrome://settings/", "forbidden-scheme", id="chrome"),
        pytest.param(
            "devtools://devtools/bundled/inspector.html", "forbidden-scheme", id="devtools"
        ),
        pytest.param("qrc:/qt-project.org/qmldir", "forbidden-scheme", id="qrc"),
    ],
)
def test_main_frame_navigation_is_refused(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin, target: str, vector: str
) -> None:
    target = {
        "outside": outside(standin),
        "redirect-outside": standin.url(f"/redirect?to={quote(outside(standin))}"),
        "http": f"http://www.test-gouv.fr:{standin.port}/target",
        "view-source:self": f"view-source:{standin.url('/target')}",
    }.get(target, target)
    home = open_kiosk()
    seen = refusals(home)
    view = open_standin(home, qtbot, standin.url(f"/link?to={quote(target, safe='')}"))
    final = wait_title(qtbot, view, settled)
    assert "escaped" not in final
    assert final != "target-page"
    assert url_of(view).split(":")[0] in ("https", "kiosk")
    assert OUTSIDE_HOST not in standin.log.hosts()
    if final == REFUSED_TITLE:
        assert vector in seen
    if vector != "forbidden-scheme" or target.startswith("http:"):
        # Links Chromium does not block by itself reach the kiosk's verdict and its page.
        assert final == REFUSED_TITLE
        assert seen[0] == vector


@pytest.mark.parametrize(
    "target",
    ["mailto:agent@example.org", "tel:+33556000000", "intent://scan/#Intent;scheme=zxing;end"],
    ids=["mailto", "tel", "intent"],
)
def test_external_protocol_is_refused(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin, target: str
) -> None:
    home = open_kiosk()
    seen = refusals(home)
    # A touch first: browsers hand these links to other applications only on a user gesture.
    script = quote(f"location.href = {target!r}; {SETTLE}")
    view = open_standin(home, qtbot, standin.url(f"/touch?to={script}"))
    wait_title(qtbot, view, lambda t: t == "touch-ready")
    click_page(home, qtbot, view, Qt.MouseButton.LeftButton)
    assert wait_title(qtbot, view, settled) == REFUSED_TITLE
    assert seen == ["external-protocol"]


@pytest.mark.parametrize(
    "target",
    [
        "javascript:document.title='escaped'",
        "data:text/html,<title>escaped</title>",
        "file:///etc/hostname",
        "view-source:https://www.test-gouv.fr/",
    ],
    ids=["javascript", "data", "file", "view-source"],
)
def test_view_refuses_forbidden_schemes_given_to_it(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin, target: str
) -> None:
    """The way in from outside the page (a typed or dropped address): refused by the kiosk.

    ``javascript:`` links *inside* an allowed page are that page's own script, which runs
    anyway; Chromium never offers them as navigations.
    """
    home = open_kiosk()
    seen = refusals(home)
    view = open_standin(home, qtbot, target)
    assert wait_title(qtbot, view, lambda t: t in (REFUSED_TITLE, "escaped")) == REFUSED_TITLE
    assert seen == ["forbidden-scheme"]


def test_refusal_page_has_a_way_back(open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin) -> None:
    home = open_kiosk()
    view = open_standin(home, qtbot, standin.url("/target"))
    wait_title(qtbot, view, lambda t: t == "target-page")
    home.browser.load(outside(standin))
    wait_title(qtbot, view, lambda t: t == REFUSED_TITLE)
    back = home.window.findChild(QQuickItem, "backButton")
    assert back is not None
    qtbot.mouseClick(
        home.window,
        Qt.MouseButton.LeftButton,
        pos=back.mapToScene(back.boundingRect().center()).toPoint(),
    )
    wait_title(qtbot, view, lambda t: t == "target-page")


def test_sub_frame_outside_the_list_is_refused(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    seen = refusals(home)
    view = open_standin(home, qtbot, standin.url(f"/frame?to={quote(outside(standin))}"))
    wait_title(qtbot, view, lambda t: t == "still-here")
    assert "outside-allow-list" in seen
    assert OUTSIDE_HOST not in standin.log.hosts()


def test_sub_frame_inside_the_list_loads(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    seen = refusals(home)
    hits = standin.log.hits("/target")
    view = open_standin(home, qtbot, standin.url(f"/frame?to={quote('/target')}"))
    wait_title(qtbot, view, lambda t: t == "still-here")
    assert standin.log.hits("/target") == hits + 1
    assert seen == []


# ----- new windows -----------------------------------------------------------------------


@pytest.mark.parametrize("page", ["popup", "blank-link"])
def test_new_window_outside_the_list_is_refused(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin, page: str
) -> None:
    home = open_kiosk()
    seen = refusals(home)
    view = open_standin(home, qtbot, standin.url(f"/{page}?to={quote(outside(standin))}"))
    wait_title(qtbot, view, lambda t: t == REFUSED_TITLE)
    assert "popup" in seen
    assert OUTSIDE_HOST not in standin.log.hosts()


@pytest.mark.parametrize("page", ["popup", "blank-link"])
def test_new_window_inside_the_list_opens_in_the_same_view(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin, page: str
) -> None:
    home = open_kiosk()
    view = open_standin(home, qtbot, standin.url(f"/{page}?to={quote(standin.url('/target'))}"))
    wait_title(qtbot, view, lambda t: t == "target-page")
    assert home.engine.rootObjects() == [home.window]


# ----- downloads, PDF, pickers, printing, menus ------------------------------------------


def test_download_is_refused(open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin) -> None:
    home = open_kiosk()
    seen = refusals(home)
    open_standin(home, qtbot, standin.url(f"/link?to={quote('/download')}"))
    qtbot.waitUntil(lambda: "download" in seen, timeout=10_000)


def test_pdf_is_shown_inline(open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin) -> None:
    home = open_kiosk()
    seen = refusals(home)
    view = open_standin(home, qtbot, standin.url("/doc.pdf"))
    qtbot.waitUntil(
        lambda: url_of(view).endswith("/doc.pdf") and not view.property("loading"),
        timeout=10_000,
    )
    assert seen == []
    # The viewer draws the white page in the middle of its grey backdrop, beside the grey
    # thumbnail column (a viewer missing its scripts stays all grey).
    centre = centre_of(view)

    def drawn() -> bool:
        image = home.window.grabWindow()
        return (
            image.pixelColor(centre.x(), centre.y()).name() == "#ffffff"
            and image.pixelColor(20, centre.y()).name() != "#ffffff"
        )

    qtbot.waitUntil(drawn, timeout=10_000)
    assert seen == []


def click_page(home: HomeScreen, qtbot: QtBot, view: QObject, button: Qt.MouseButton) -> None:
    qtbot.mouseClick(home.window, button, pos=centre_of(view))


def test_file_picker_is_refused(open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin) -> None:
    home = open_kiosk()
    seen = refusals(home)
    script = quote("document.getElementById('file').click(); document.title = 'clicked';")
    view = open_standin(home, qtbot, standin.url(f"/touch?to={script}"))
    wait_title(qtbot, view, lambda t: t == "touch-ready")
    click_page(home, qtbot, view, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "file-picker" in seen, timeout=10_000)


def test_fullscreen_is_refused(open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin) -> None:
    home = open_kiosk()
    script = quote(
        "document.documentElement.requestFullscreen().then("
        "() => { document.title = 'fs:granted'; }, () => { document.title = 'fs:refused'; });"
    )
    view = open_standin(home, qtbot, standin.url(f"/touch?to={script}"))
    wait_title(qtbot, view, lambda t: t == "touch-ready")
    click_page(home, qtbot, view, Qt.MouseButton.LeftButton)
    assert wait_title(qtbot, view, lambda t: t.startswith("fs:")) == "fs:refused"
    assert not bool(view.property("isFullScreen"))


def test_context_menu_is_suppressed(open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin) -> None:
    home = open_kiosk()
    seen = refusals(home)
    view = open_standin(home, qtbot, standin.url("/touch?to="))
    wait_title(qtbot, view, lambda t: t == "touch-ready")
    click_page(home, qtbot, view, Qt.MouseButton.RightButton)
    qtbot.waitUntil(lambda: "context-menu" in seen, timeout=10_000)


def test_printing_is_refused(open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin) -> None:
    home = open_kiosk()
    seen = refusals(home)
    open_standin(home, qtbot, standin.url("/print"))
    qtbot.waitUntil(lambda: "print" in seen, timeout=10_000)


# ----- permissions, prompts, certificates ------------------------------------------------


@pytest.mark.parametrize(
    "permission", ["geolocation", "camera", "microphone", "notifications", "clipboard-read"]
)
def test_permission_request_is_denied(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin, permission: str
) -> None:
    home = open_kiosk()
    view = open_standin(home, qtbot, standin.url(f"/permission?to={permission}"))
    assert wait_title(qtbot, view, lambda t: t.startswith("perm:")) == "perm:denied"
    profile = home.browser.current_profile
    assert profile is not None
    assert profile.listAllPermissions() == []


def test_http_auth_prompt_is_refused(open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin) -> None:
    home = open_kiosk()
    seen = refusals(home)
    view = open_standin(home, qtbot, standin.url("/auth"))
    qtbot.waitUntil(lambda: "http-auth" in seen, timeout=10_000)
    wait_title(qtbot, view, lambda t: t == "auth-refused")


def test_certificate_error_is_refused(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    seen = refusals(home)
    view = open_standin(home, qtbot, standin.bad_cert_url())
    wait_title(qtbot, view, lambda t: t == REFUSED_TITLE)
    assert "certificate-error" in seen
    assert url_of(view) == "kiosk://refused/?why=certificate"


def test_client_certificate_prompt_is_refused(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    seen = refusals(home)
    view = open_standin(home, qtbot, standin.client_cert_url())
    # With no certificate on the terminal Chromium has nothing to offer and goes on without
    # one; should it ever ask, the view answers "none" (and says so on ``refused``).
    final = wait_title(qtbot, view, lambda t: t in ("target-page", REFUSED_TITLE, OFFLINE_TITLE))
    assert final == "target-page"
    assert seen in ([], ["client-certificate"])


# ----- keyboard --------------------------------------------------------------------------

SHORTCUTS = [
    (Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_F5, Qt.KeyboardModifier.NoModifier),
    (Qt.Key.Key_F11, Qt.KeyboardModifier.NoModifier),
    (Qt.Key.Key_F12, Qt.KeyboardModifier.NoModifier),
    (Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier),
    (Qt.Key.Key_F4, Qt.KeyboardModifier.AltModifier),
    (Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier),
]


def test_shortcuts_are_swallowed_by_the_window(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    """Every shortcut stops at the window's filter; plain keys go on to the page.

    (That the page then never sees them follows from the filter returning True; Chromium's
    keyboard focus after a synthetic touch is too slow to settle for a reliable page-side
    count offscreen.)
    """
    home = open_kiosk()
    seen = refusals(home)
    view = open_standin(home, qtbot, standin.url("/target"))
    wait_title(qtbot, view, lambda t: t == "target-page")
    for key, modifiers in SHORTCUTS:
        send_key(home, key, modifiers)
    send_key(home, Qt.Key.Key_X, text="x")
    send_key(home, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert seen == ["shortcut"] * len(SHORTCUTS)
    assert home.window.isVisible()
    assert url_of(view) == standin.url("/target")


def send_key(
    home: HomeScreen,
    key: Qt.Key,
    modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
    text: str = "",
) -> None:
    """Press and release a key on the kiosk window, as a keyboard would (with its text)."""
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QGuiApplication.sendEvent(home.window, QKeyEvent(kind, key, modifiers, text))
