"""A resident signed in to a webmail and a school portal: the next resident finds neither.

These are the pages where a forgotten session hurts most. Session N signs in on two stand-ins
with real keys, each of one kind: the webmail keeps its session in an ``HttpOnly`` cookie, the
school portal in localStorage and IndexedDB; both forms are marked as credentials
(``autocomplete``), so anything the browser remembered or offered would show. Session N+1
comes back to both: signed out, empty forms, nothing filled in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kiosk.contract.catalog import Catalog
from kiosk.ui.browser.selfcheck import SelfCheck
from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import QEvent, QGuiApplication, QKeyEvent, QObject, Qt
from tests.ui.conftest import close_home
from tests.ui.standin import (
    SCHOOL_HOST,
    SIGN_IN_PASSWORD,
    SIGN_IN_USER,
    WEBMAIL_HOST,
    Standin,
    signed_in_user,
)
from tests.ui.test_wipe import end_with_button
from tests.ui.web import (
    evaluate,
    focus_field,
    open_page,
    open_standin,
    settled_value,
    type_text,
    wait_title,
)

pytestmark = pytest.mark.qt

KINDS = {"webmail": (WEBMAIL_HOST, "cookie"), "school": (SCHOOL_HOST, "storage")}


def press_enter(home: HomeScreen) -> None:
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        event = QKeyEvent(kind, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier, "\r")
        QGuiApplication.sendEvent(home.window, event)


def sign_in(home: HomeScreen, qtbot: QtBot, view: QObject, standin: Standin, name: str) -> str:
    """Type the resident's name and password into the stand-in's form, send it; the inbox's
    title (who the site believes is signed in)."""
    host, kind = KINDS[name]
    open_page(home, qtbot, view, standin.url(f"/signin?kind={kind}", host=host), "signin")
    focus_field(home, qtbot, view, "#user")
    type_text(home, SIGN_IN_USER)
    assert settled_value(qtbot, view, "#user", SIGN_IN_USER) == SIGN_IN_USER
    focus_field(home, qtbot, view, "#password")
    type_text(home, SIGN_IN_PASSWORD)
    assert settled_value(qtbot, view, "#password", SIGN_IN_PASSWORD) == SIGN_IN_PASSWORD
    press_enter(home)
    return wait_title(qtbot, view, lambda t: t.startswith("inbox:"))


@dataclass
class SignIns:
    signed_in: dict[str, str]
    cookie_sent_in_n: str | None
    self_check: SelfCheck
    probe_report: dict[str, int]
    inbox_after: dict[str, str]
    cookie_sent_after: str | None
    forms_after: dict[str, str]


@pytest.fixture(scope="module")
def sign_ins(
    qapp: QGuiApplication,
    request: pytest.FixtureRequest,
    standin: Standin,
    standin_bundle: Path,
    standin_catalog: Catalog,
) -> Iterator[SignIns]:
    qtbot = QtBot(request)
    home = HomeScreen(qapp, standin_catalog, standin_bundle, "fr")
    with qtbot.waitSignal(home.window.frameSwapped, timeout=10_000):
        home.show(windowed=True)
    reports: list[dict[str, int]] = []
    home.browser.probeDone.connect(reports.append)
    try:
        # Session N: signed in to both; the webmail's cookie really goes with its requests.
        view = open_standin(home, qtbot)
        signed_in = {"webmail": sign_in(home, qtbot, view, standin, "webmail")}
        cookie_in_n = signed_in_user(standin.log.cookies["/inbox"][-1])
        signed_in["school"] = sign_in(home, qtbot, view, standin, "school")
        check = end_with_button(home, qtbot)
        # Session N+1: back to both sites, then to both forms.
        view = open_standin(home, qtbot)
        inbox_after, cookie_after = {}, None
        for name, (host, kind) in KINDS.items():
            url = standin.url(f"/inbox?kind={kind}", host=host)
            inbox_after[name] = open_page(home, qtbot, view, url, "inbox:")
            if name == "webmail":
                cookie_after = signed_in_user(standin.log.cookies["/inbox"][-1])
        forms_after = {}
        for name, (host, kind) in KINDS.items():
            open_page(home, qtbot, view, standin.url(f"/signin?kind={kind}", host=host), "signin")
            focus_field(home, qtbot, view, "#user")
            type_text(home, SIGN_IN_USER[0])
            settled_value(qtbot, view, "#user", SIGN_IN_USER[0])
            forms_after[name] = evaluate(
                qtbot,
                view,
                "[document.querySelector('#user').value, document.querySelector('#password')"
                ".value, document.querySelector('input:-webkit-autofill') !== null].join('|')",
            )
        yield SignIns(
            signed_in=signed_in,
            cookie_sent_in_n=cookie_in_n,
            self_check=check,
            probe_report=reports[-1],
            inbox_after=inbox_after,
            cookie_sent_after=cookie_after,
            forms_after=forms_after,
        )
    finally:
        close_home(home, qtbot)


def test_session_n_was_signed_in_to_both(sign_ins: SignIns) -> None:
    # Without this, signed out in N+1 would prove nothing.
    assert sign_ins.signed_in == {
        "webmail": f"inbox:signed-in:{SIGN_IN_USER}",
        "school": f"inbox:signed-in:{SIGN_IN_USER}:idb",
    }
    assert sign_ins.cookie_sent_in_n == SIGN_IN_USER


def test_the_wipe_after_the_sign_ins_checks_both_sites(sign_ins: SignIns) -> None:
    assert sign_ins.self_check == SelfCheck(ok=True)
    # Both origins probed, nothing found: a count for every kind, all zero.
    assert sign_ins.probe_report == {
        "cookies": 0,
        "localStorage": 0,
        "indexedDB": 0,
        "cacheStorage": 0,
    }


@pytest.mark.parametrize("name", list(KINDS))
def test_the_next_resident_is_signed_out(sign_ins: SignIns, name: str) -> None:
    assert sign_ins.inbox_after[name] == "inbox:signed-out"


def test_the_webmail_session_cookie_is_never_sent_again(sign_ins: SignIns) -> None:
    assert sign_ins.cookie_sent_after is None


@pytest.mark.parametrize("name", list(KINDS))
def test_the_sign_in_form_offers_nothing_to_the_next_resident(sign_ins: SignIns, name: str) -> None:
    # Only the letter this resident typed; no password filled in, nothing autofilled.
    assert sign_ins.forms_after[name] == f"{SIGN_IN_USER[0]}||false"
