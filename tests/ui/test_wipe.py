"""The privacy wipe: every kind of state planted in session N is absent in session N+1."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from kiosk.ui.browser.selfcheck import PROBE_CHECKS, SelfCheck
from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import QGuiApplication, QQuickItem, Qt
from tests.ui.conftest import OpenKiosk, close_home, session_view
from tests.ui.standin import TYPED_SECRET, Standin
from tests.ui.web import (
    evaluate,
    focus_field,
    open_standin,
    settled_value,
    type_text,
    url_of,
    wait_title,
)

pytestmark = pytest.mark.qt


@dataclass
class TwoSessions:
    """What session N planted and what session N+1 found."""

    planted: dict[str, Any]
    found: dict[str, Any]
    zoom_before: float
    zoom_after: float
    could_go_back_after: bool
    self_check: SelfCheck
    cached_hits: tuple[int, int, int]
    probe_cookie_header: str
    profiles_differ: bool
    logs: str
    typed_in_session_n: str
    submitted_query: str
    typed_after: str
    autofilled_after: str
    probe_report: dict[str, Any]
    #: Requests the stand-in received while the self-check probed its origin.
    requests_during_probe: int


def end_with_button(home: HomeScreen, qtbot: QtBot) -> SelfCheck:
    """Touch "Finish and erase my data" in the bar; return the self-check of the wipe."""
    button = home.window.findChild(QQuickItem, "finishButton")
    assert button is not None
    assert button.isVisible()
    centre = button.mapToScene(button.boundingRect().center()).toPoint()
    with qtbot.waitSignal(home.browser.selfCheckDone, timeout=10_000) as done:
        qtbot.mouseClick(home.window, Qt.MouseButton.LeftButton, pos=centre)
    result = done.args[0]
    assert isinstance(result, SelfCheck)
    return result


@pytest.fixture(scope="module")
def two_sessions(
    open_kiosk_module: OpenKiosk, qtbot_module: QtBot, standin: Standin
) -> TwoSessions:
    qtbot = qtbot_module
    home = open_kiosk_module()
    reports: list[dict[str, Any]] = []
    home.browser.probeDone.connect(reports.append)
    handler = _ListHandler()
    logging.getLogger("kiosk").addHandler(handler)
    logging.getLogger("kiosk").setLevel(logging.INFO)
    try:
        # Session N: plant everything. The stand-in lives for the whole test run, so count
        # from here: the page fetches /cached.js twice and only the first may reach the server.
        hits_before_plant = standin.log.hits("/cached.js")
        view = open_standin(home, qtbot, standin.url("/plant"))
        planted_title = wait_title(qtbot, view, lambda t: t.startswith(("planted:", "plant-")))
        assert planted_title.startswith("planted:"), planted_title
        first_profile = home.browser.current_profile
        hits_after_plant = standin.log.hits("/cached.js")
        view.setProperty("zoomFactor", 1.5)
        qtbot.waitUntil(lambda: abs(float(view.property("zoomFactor")) - 1.5) < 0.01)
        zoom_before = float(view.property("zoomFactor"))
        home.browser.load(standin.url("/"))
        wait_title(qtbot, view, lambda t: t == "standin-home")
        # Typed text: real keys into the focused field of a plain page, read back from it
        # (the planting page's permission request takes the page's focus away).
        focus_field(home, qtbot, view, "#field")
        type_text(home, TYPED_SECRET)
        typed = settled_value(qtbot, view, "#field", TYPED_SECRET)
        submitted_query = ""
        assert bool(view.property("canGoBack"))
        requests: list[int] = []
        home.browser.sessionEnded.connect(lambda *_: requests.append(len(standin.log.requests)))
        check = end_with_button(home, qtbot)
        requests.append(len(standin.log.requests))
        assert session_view(home) is None
        # Session N+1: look for it.
        view = open_standin(home, qtbot)
        could_go_back = bool(view.property("canGoBack"))
        zoom_after = float(view.property("zoomFactor"))
        home.browser.load(standin.url("/probe"))
        found_title = wait_title(qtbot, view, lambda t: t.startswith(("probe:", "probe-")))
        assert found_title.startswith("probe:"), found_title
        assert url_of(view) == standin.url("/probe")
        # The same field in N+1, on the same plain page: nothing offered, only what this
        # resident types.
        home.browser.load(standin.url("/"))
        wait_title(qtbot, view, lambda t: t == "standin-home")
        focus_field(home, qtbot, view, "#field")
        type_text(home, TYPED_SECRET[0])
        typed_after = settled_value(qtbot, view, "#field", TYPED_SECRET[0])
        autofilled_after = evaluate(
            qtbot, view, "document.querySelector('input:-webkit-autofill') !== null"
        )
        return TwoSessions(
            planted=json.loads(planted_title.removeprefix("planted:")),
            found=json.loads(found_title.removeprefix("probe:")),
            zoom_before=zoom_before,
            zoom_after=zoom_after,
            could_go_back_after=could_go_back,
            self_check=check,
            cached_hits=(
                hits_before_plant + 1,
                hits_after_plant,
                standin.log.hits("/cached.js"),
            ),
            probe_cookie_header=standin.log.cookies["/probe"][-1],
            profiles_differ=home.browser.current_profile is not first_profile,
            logs=handler.text(),
            typed_in_session_n=typed,
            submitted_query=submitted_query,
            typed_after=typed_after,
            autofilled_after=autofilled_after,
            probe_report=reports[-1],
            requests_during_probe=requests[-1] - requests[0],
        )
    finally:
        logging.getLogger("kiosk").removeHandler(handler)


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def text(self) -> str:
        return "\n".join(self.messages)


@pytest.fixture(scope="module")
def qtbot_module(qapp: QGuiApplication, request: pytest.FixtureRequest) -> QtBot:
    return QtBot(request)


@pytest.fixture(scope="module")
def open_kiosk_module(
    qapp: QGuiApplication, qtbot_module: QtBot, standin_bundle: Any, standin_catalog: Any
) -> Iterator[OpenKiosk]:
    opened: list[HomeScreen] = []

    def show() -> HomeScreen:
        home = HomeScreen(qapp, standin_catalog, standin_bundle, "fr")
        opened.append(home)
        with qtbot_module.waitSignal(home.window.frameSwapped, timeout=10_000):
            home.show(windowed=True)
        return home

    yield show
    for home in opened:
        close_home(home, qtbot_module)


def test_session_n_planted_every_kind_of_state(two_sessions: TwoSessions) -> None:
    # Without this, an empty N+1 would prove nothing.
    assert two_sessions.planted == {"idb": True, "cache": True, "sw": 1, "geo": "denied"}
    low, after_plant, _ = two_sessions.cached_hits
    assert after_plant == low, "the HTTP cache did not cache in session N"
    assert two_sessions.zoom_before == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("kind", "empty"),
    [
        ("cookies", ""),
        ("localStorage", None),
        ("sessionStorage", None),
        ("indexedDB", []),
        ("cacheStorage", []),
        ("serviceWorkers", 0),
        ("geolocation", "prompt"),
        # The new session's own two pages (the tile's address, then the probe), nothing older.
        ("historyLength", 2),
        ("typed", ""),
        ("autofilled", False),
    ],
)
def test_state_is_absent_in_the_next_session(
    two_sessions: TwoSessions, kind: str, empty: object
) -> None:
    assert two_sessions.found[kind] == empty


def test_persistent_cookies_are_not_sent_in_the_next_session(two_sessions: TwoSessions) -> None:
    assert two_sessions.probe_cookie_header == ""


def test_http_cache_is_empty_in_the_next_session(two_sessions: TwoSessions) -> None:
    _low, after_plant, after_probe = two_sessions.cached_hits
    assert after_probe == after_plant + 1, "session N+1 was served from session N's cache"


def test_zoom_and_back_stack_are_reset(two_sessions: TwoSessions) -> None:
    assert two_sessions.zoom_after == pytest.approx(1.0)
    assert not two_sessions.could_go_back_after


def test_each_session_has_its_own_off_the_record_profile(two_sessions: TwoSessions) -> None:
    assert two_sessions.profiles_differ


def test_self_check_after_the_wipe_passes(two_sessions: TwoSessions) -> None:
    assert two_sessions.self_check == SelfCheck(ok=True, checks_failed=())


def test_typed_text_landed_in_session_n_and_is_gone_in_n_plus_1(two_sessions: TwoSessions) -> None:
    # Session N: the keys really reached the field (and the form was sent with it).
    assert two_sessions.typed_in_session_n == TYPED_SECRET
    # Session N+1: the field starts empty, nothing is filled in or offered when typing.
    assert two_sessions.found["typed"] == ""
    assert two_sessions.typed_after == TYPED_SECRET[0]
    assert two_sessions.autofilled_after == "false"


def test_self_check_probe_finds_nothing_where_session_n_planted(two_sessions: TwoSessions) -> None:
    # The stand-in's origin was probed (a count for each kind) and held nothing.
    assert two_sessions.probe_report == dict.fromkeys(PROBE_CHECKS, 0)


def test_self_check_probe_sends_no_request(two_sessions: TwoSessions) -> None:
    # The probe document is given the stand-in's origin without asking the stand-in for it.
    assert two_sessions.requests_during_probe == 0


def test_logs_name_tiles_and_sessions_never_addresses_nor_typed_text(
    two_sessions: TwoSessions,
) -> None:
    logs = two_sessions.logs
    assert "tile standin" in logs
    assert "session " in logs
    assert "wiped" in logs
    for secret in ("test-gouv", "https", "/plant", "/probe", TYPED_SECRET):
        assert secret not in logs


def test_clipboard_is_emptied_by_the_wipe(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    open_standin(home, qtbot)
    clipboard = QGuiApplication.clipboard()
    clipboard.setText(TYPED_SECRET)
    with qtbot.waitSignal(home.browser.selfCheckDone, timeout=10_000):
        home.browser.finishSession()
    assert clipboard.text() == ""


def test_wipe_now_ends_the_session_from_the_agent(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    open_standin(home, qtbot)
    with qtbot.waitSignal(home.browser.sessionEnded, timeout=10_000) as ended:
        home.browser.wipe_now()
    assert ended.args[1] == "wipe-now"
    assert session_view(home) is None
    assert not home.browser.sessionActive
    assert not home.browser.browsing
