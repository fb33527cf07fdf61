"""The wipe's self-check can fail: handed a dirty profile, it names what it finds."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from pytestqt.qtbot import QtBot

from kiosk.ui.browser.selfcheck import (
    PROBE_CHECKS,
    PROBE_HTML,
    SelfCheck,
    add_reports,
    document_origin,
    is_probe_document,
    parse_probe_title,
    probe_failures,
    self_check,
)
from kiosk.ui.qt import QQmlComponent, QQmlEngine, QQuickWebEngineProfile, QUrl
from tests.ui.conftest import OpenKiosk
from tests.ui.standin import OTHER_ALLOWED_HOST, Standin
from tests.ui.web import open_standin, wait_title

pytestmark = pytest.mark.qt

#: What a session that planted everything on the stand-in leaves for the self-check to find.
DIRTY = {
    "previous-pages-destroyed",
    "no-cookie-in-store",
    "probe-cookies",
    "probe-local-storage",
    "probe-indexeddb",
    "probe-cache-storage",
}


def check_current_profile(home: object, qtbot: QtBot) -> tuple[SelfCheck, dict[str, int]]:
    browser = home.browser  # type: ignore[attr-defined]
    with (
        qtbot.waitSignal(browser.probeDone, timeout=10_000) as probed,
        qtbot.waitSignal(browser.selfCheckDone, timeout=10_000) as done,
    ):
        browser.checkCurrentProfile()
    result = done.args[0]
    assert isinstance(result, SelfCheck)
    return result, probed.args[0]


def test_self_check_fails_on_a_dirty_profile(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    """Cookies, storage, IndexedDB and caches planted on a stand-in origin are all named."""
    home = open_kiosk()
    view = open_standin(home, qtbot, standin.url("/plant"))
    wait_title(qtbot, view, lambda t: t.startswith("planted:"))
    # The store's count hears of cookies a moment after the page set them.
    qtbot.waitUntil(
        lambda: "no-cookie-in-store" in home.browser.check_now().checks_failed, timeout=5_000
    )
    result, report = check_current_profile(home, qtbot)
    assert not result.ok
    assert set(result.checks_failed) == DIRTY, result
    assert report == {"cookies": 3, "localStorage": 1, "indexedDB": 1, "cacheStorage": 1}


def test_self_check_probes_every_origin_the_session_used(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    """State planted on a second origin only (not the tile's own) is found too."""
    home = open_kiosk()
    open_standin(home, qtbot)
    view = open_standin(home, qtbot, standin.url("/plant", host=OTHER_ALLOWED_HOST))
    wait_title(qtbot, view, lambda t: t.startswith("planted:"))
    _result, report = check_current_profile(home, qtbot)
    assert report["localStorage"] == 1
    assert report["indexedDB"] == 1


def test_self_check_after_a_wipe_passes_and_probed_the_origin(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    reports: list[dict[str, int]] = []
    home.browser.probeDone.connect(reports.append)
    view = open_standin(home, qtbot, standin.url("/plant"))
    wait_title(qtbot, view, lambda t: t.startswith("planted:"))
    with qtbot.waitSignal(home.browser.selfCheckDone, timeout=10_000) as done:
        home.browser.finishSession()
    assert done.args[0] == SelfCheck(ok=True)
    assert reports == [dict.fromkeys(PROBE_CHECKS, 0)]
    # The next session starts with nothing to probe: the last one's origins are gone.
    assert home.browser.check_now() == SelfCheck(ok=True)


def test_a_session_started_during_the_probe_interrupts_it(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    open_standin(home, qtbot)
    with qtbot.waitSignal(home.browser.selfCheckDone, timeout=10_000) as done:
        with qtbot.waitSignal(home.browser.probe.runningChanged, timeout=10_000):
            home.browser.finishSession()
        assert home.browser.probe.running
        home.browser.openTile("standin")
    assert done.args[0].checks_failed == ("probe-interrupted",)


PERSISTENT_PROFILE_QML = """
import QtQml
import QtWebEngine
WebEngineProfilePrototype {
    property QtObject profile: null
    storageName: "kiosk-test-persistent"
    persistentStoragePath: "STORAGE"
    cachePath: "STORAGE/cache"
    Component.onCompleted: profile = instance()
}
"""


def test_self_check_fails_on_a_profile_kept_on_disk(qtbot: QtBot, tmp_path: Path) -> None:
    """A profile with a storage name (kept on disk) fails, even before any page wrote there."""
    storage = tmp_path / "storage"
    engine = QQmlEngine()
    component = QQmlComponent(engine)
    component.setData(PERSISTENT_PROFILE_QML.replace("STORAGE", str(storage)).encode(), QUrl())
    owner = component.create()
    assert owner is not None, component.errors()
    profile = owner.property("profile")
    assert isinstance(profile, QQuickWebEngineProfile)
    storage.mkdir(exist_ok=True)
    result = self_check(
        profile, previous_profile_destroyed=True, web_views_alive=0, cookies_in_store=0
    )
    assert set(result.checks_failed) == {
        "off-the-record",
        "nothing-on-disk",
        "no-persistent-cookies",
        "memory-http-cache",
    }
    with qtbot.waitSignal(owner.destroyed, timeout=5_000):
        owner.deleteLater()


def test_self_check_counts_cookies_and_views_it_is_told_of(
    open_kiosk: OpenKiosk, qtbot: QtBot
) -> None:
    home = open_kiosk()
    profile = home.browser.current_profile
    assert profile is not None
    result = self_check(
        profile, previous_profile_destroyed=False, web_views_alive=1, cookies_in_store=-1
    )
    assert result.checks_failed == (
        "previous-profile-destroyed",
        "previous-pages-destroyed",
        "no-cookie-in-store",
    )
    assert result.as_dict()["ok"] is False


def test_probe_document_is_recognised_only_whole() -> None:
    assert is_probe_document("data:text/html;charset=UTF-8," + quote(PROBE_HTML))
    assert not is_probe_document("data:text/html;charset=UTF-8," + quote(PROBE_HTML + "x"))
    assert not is_probe_document("https://www.test-gouv.fr/")


def test_probe_reports_are_read_and_summed() -> None:
    clean = dict.fromkeys(PROBE_CHECKS, 0)
    assert probe_failures(clean) == ()
    assert probe_failures({**clean, "cookies": -1}) == ()
    assert probe_failures({**clean, "cookies": 2}) == ("probe-cookies",)
    assert probe_failures({**clean, "indexedDB": "x"}) == ("probe-indexeddb",)
    assert probe_failures(None) == ("probe-did-not-report",)
    assert parse_probe_title('kiosk-probe https://a.fr {"cookies": 1}') == (
        "https://a.fr",
        {"cookies": 1},
    )
    assert parse_probe_title("kiosk-probe https://a.fr {") is None
    assert parse_probe_title("Accueil") is None
    assert add_reports({"cookies": 1}, {**clean, "cookies": 2, "localStorage": -1}) == {
        **clean,
        "cookies": 3,
    }


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://www.ameli.fr/assure", "https://www.ameli.fr"),
        ("https://WWW.Test-Gouv.fr:8443/x?y", "https://www.test-gouv.fr:8443"),
        ("https://a.fr:443/", "https://a.fr"),
        ("kiosk://refused/", None),
        ("chrome-extension://x/y", None),
        ("data:text/html,x", None),
    ],
)
def test_document_origin(url: str, origin: str | None) -> None:
    assert document_origin(url) == origin
