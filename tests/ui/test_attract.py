"""The attract screen and night dimming: greetings in every language, a schedule on a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kiosk.contract.catalog import Catalog
from kiosk.contract.settings import InvalidSettings, parse_brightness_schedule
from kiosk.ui.backlight import BrightnessSchedule, SimulatedBacklight, SysfsBacklight, percent_at
from kiosk.ui.home import HomeScreen
from kiosk.ui.i18n import RESIDENT_LANGUAGES
from kiosk.ui.qt import QGuiApplication, QObject
from tests.ui.conftest import STANDIN_TILE, close_home, session_view
from tests.ui.kiosk_items import item, text_of, touch

pytestmark = pytest.mark.qt

SCHEDULE = "07:00-22:00=100,22:00-07:00=30"


class FakeClock:
    def __init__(self, hour: int, minute: int = 0) -> None:
        self.moment = datetime(2026, 11, 25, hour, minute)

    def __call__(self) -> datetime:
        return self.moment


@pytest.mark.parametrize(
    ("hour", "minute", "percent"),
    [(6, 59, 30), (7, 0, 100), (12, 0, 100), (21, 59, 100), (22, 0, 30), (3, 0, 30)],
)
def test_schedule_percent_at(hour: int, minute: int, percent: int) -> None:
    periods = parse_brightness_schedule(SCHEDULE)
    assert percent_at(periods, datetime(2026, 1, 1, hour, minute)) == percent


def test_uncovered_time_is_full_brightness() -> None:
    periods = parse_brightness_schedule("22:00-07:00=20")
    assert percent_at(periods, datetime(2026, 1, 1, 12, 0)) == 100


def test_schedule_dims_only_while_nobody_uses_the_terminal() -> None:
    backlight = SimulatedBacklight()
    clock = FakeClock(23)
    schedule = BrightnessSchedule(backlight, SCHEDULE, now=clock)
    schedule.set_in_use(False)
    assert backlight.percent == 30
    schedule.set_in_use(True)
    assert backlight.percent == 100
    schedule.set_in_use(False)
    clock.moment = clock.moment.replace(hour=8)
    schedule.apply()
    assert backlight.percent == 100
    with pytest.raises(InvalidSettings):
        schedule.set_schedule("all night")
    schedule.set_schedule("00:00-23:59=50")
    assert backlight.percent == 50


def test_sysfs_backlight_scales_to_max_brightness(tmp_path: Path) -> None:
    device = tmp_path / "backlight" / "panel0"
    device.mkdir(parents=True)
    (device / "max_brightness").write_text("255\n")
    (device / "brightness").write_text("255\n")
    backlight = SysfsBacklight.first(tmp_path / "backlight")
    assert backlight is not None
    backlight.set_percent(30)
    assert (device / "brightness").read_text() == "76\n"
    backlight.set_percent(0)
    assert (device / "brightness").read_text() == "1\n"  # never fully black
    assert SysfsBacklight.first(tmp_path / "none") is None


@pytest.fixture
def night_kiosk(
    qapp: QGuiApplication, qtbot: QtBot, standin_bundle: Path, standin_catalog: Catalog
) -> Iterator[tuple[HomeScreen, SimulatedBacklight]]:
    backlight = SimulatedBacklight()
    home = HomeScreen(
        qapp, standin_catalog, standin_bundle, "fr", backlight=backlight, attract_after_s=0.2
    )
    home.attract.brightness.now = FakeClock(23)
    with qtbot.waitSignal(home.window.frameSwapped, timeout=10_000):
        home.show(windowed=True)
    yield home, backlight
    close_home(home, qtbot)


def test_attract_screen_cycles_greetings_and_dims_at_night(
    night_kiosk: tuple[HomeScreen, SimulatedBacklight], qtbot: QtBot
) -> None:
    home, backlight = night_kiosk
    qtbot.waitUntil(lambda: item(home, "attractScreen").isVisible(), timeout=5_000)
    assert backlight.percent == 30
    seen = {text_of(home, "attractGreeting")}
    cycle = home.window.findChild(QObject, "attractCycle")
    assert cycle is not None
    cycle.setProperty("interval", 50)  # a greeting stays 4 s on the terminal
    for _ in range(len(RESIDENT_LANGUAGES) - 1):
        with qtbot.waitSignal(cycle.triggered, timeout=10_000):
            pass
        seen.add(text_of(home, "attractGreeting"))
    assert seen == {lang.greeting for lang in RESIDENT_LANGUAGES}
    # A touch wakes it: full brightness, the tiles, and no session started by that touch.
    touch(home, qtbot, "attractScreen")
    qtbot.waitUntil(lambda: not item(home, "attractScreen").isVisible(), timeout=5_000)
    assert backlight.percent == 100
    assert not home.browser.sessionActive


def test_no_attract_screen_during_a_session(
    night_kiosk: tuple[HomeScreen, SimulatedBacklight], qtbot: QtBot
) -> None:
    home, backlight = night_kiosk
    home.browser.openTile(STANDIN_TILE)
    qtbot.waitUntil(lambda: session_view(home) is not None, timeout=10_000)
    with qtbot.assertNotEmitted(home.attract.shownChanged, wait=400):
        pass
    assert backlight.percent == 100
    with qtbot.waitSignal(home.attract.shownChanged, timeout=5_000):
        home.browser.finishSession()
    assert home.attract.shown
    assert backlight.percent == 30
