"""How figures and times read on the dashboard, in the reader's language and time zone."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_time, format_timedelta
from babel.numbers import format_decimal

from fleet import states
from fleet.states import CommandState, TerminalState
from kiosk.contract.mqtt import Reason

Gettext = Callable[[str], str]

MISSING = "—"


def display_zone(name: str) -> ZoneInfo:
    """The dashboard's time zone, UTC if the name is unknown."""
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return ZoneInfo("UTC")


def state_label(state: str, _: Gettext) -> str:
    return states.label(TerminalState, state, _)


def command_label(name: str, _: Gettext) -> str:
    labels = {
        "reboot": _("Reboot"),
        "restart_ui": _("Restart the UI"),
        "wipe_session": _("End and wipe the current session"),
        "screenshot": _("Screenshot"),
        "set_settings": _("Change settings"),
        "refresh_content": _("Refresh the content"),
        "logs": _("Last log lines"),
    }
    return labels.get(name, name)


def event_kind_label(kind: str, _: Gettext) -> str | None:
    """A terminal event the fleet knows, in the reader's words; None for another name (shown
    as the terminal sent it, marked as a technical name)."""
    labels = {
        "session_ended": _("session ended"),
        "wipe_done": _("privacy wipe done"),
        "ui_crash": _("kiosk screen crashed"),
        "content_applied": _("content update applied"),
        "content_failed": _("content update failed"),
    }
    return labels.get(kind)


def command_state_label(state: str, _: Gettext) -> str:
    return states.label(CommandState, state, _)


def command_reason(reason: str | None, _: Gettext) -> str:
    """A terminal's reason in the reader's language when it is one of the contract's fixed
    reasons; a technical detail (a systemctl error, a content check) is shown as sent."""
    if not reason:
        return MISSING
    labels: dict[str, str] = {
        Reason.EXPIRED: _("expired before the terminal could act"),
        Reason.EXPIRES_BEFORE_ISSUED: _("the command expires before it was issued"),
        Reason.SESSION_OPEN: _("a resident is using the terminal"),
        Reason.SESSION_OPEN_FORCE: _(
            "a resident is using the terminal; send it again with force to interrupt them"
        ),
        Reason.SCREENSHOT: _("screenshots are never sent"),
        Reason.FORCE_NOT_BOOLEAN: _("the force argument must be true or false"),
        Reason.CANNOT_RECORD: _("the terminal cannot record commands"),
        Reason.REBOOTED: _("the terminal restarted"),
        Reason.INTERRUPTED: _("interrupted by a restart of the terminal"),
        Reason.INTERNAL_ERROR: _("internal error on the terminal"),
        Reason.ACTION_FAILED: _("the action failed"),
        Reason.UI_NOT_CONNECTED: _("the kiosk screen is not connected to the agent"),
        Reason.UI_NO_ANSWER: _("the kiosk screen did not answer the wipe order"),
        Reason.WIPE_NOT_CLEAN: _("the kiosk screen did not confirm a clean wipe"),
        Reason.NO_CONTENT_UPDATES: _("content updates are not configured on this terminal"),
        Reason.ISSUED_IN_FUTURE: _(
            "refused by the terminal: issued in the future by its clock (check its time sync)"
        ),
        Reason.VALIDITY_TOO_LONG: _("refused by the terminal: valid for too long"),
        Reason.SCREEN_IN_USE: _("Refused: a resident is using the terminal"),
        Reason.UI_NO_PICTURE: _("the kiosk screen sent no picture"),
        Reason.NO_JOURNAL: _("the terminal's journal cannot be read"),
        Reason.LINES_NOT_INTEGER: _("the number of log lines must be a whole number from 1 to 200"),
    }
    return labels.get(reason, reason)


def _pattern(template: str) -> re.Pattern[str]:
    """A regular expression matching what ``template % fields`` gives (``%(x)d``, ``%(x)s``)."""
    parts = re.split(r"(%\(\w+\)[ds]|%%)", template)
    regex = ""
    for part in parts:
        field = re.fullmatch(r"%\((\w+)\)([ds])", part)
        if field:
            regex += rf"(?P<{field[1]}>-?\d+)" if field[2] == "d" else rf"(?P<{field[1]}>.+?)"
        else:
            regex += "%" if part == "%%" else re.escape(part)
    return re.compile(regex)


def template_fields(text: str, template: str) -> dict[str, object] | None:
    """The fields that ``template % fields`` gave ``text``, or None if it did not come from it."""
    found = _pattern(template).fullmatch(text)
    if found is None:
        return None
    return {
        name: int(value) if f"%({name})d" in template else value
        for name, value in found.groupdict().items()
    }


def stored_text(text: str | None, templates: Sequence[str], _: Gettext) -> str:
    """Text the fleet stored in English from one of ``templates``, in the reader's language.

    Anything else (what an operator typed, a terminal's technical detail) is shown as stored.
    """
    if not text:
        return MISSING
    for template in templates:
        found = _pattern(template).fullmatch(text)
        if found:
            fields: dict[str, object] = {
                name: int(value) if f"%({name})d" in template else value
                for name, value in found.groupdict().items()
            }
            return _(template) % fields
    return text


def ui_alive(value: bool | None, _: Gettext) -> str:
    if value is None:
        return MISSING
    return _("responding") if value else _("not responding")


def door(value: bool | None, _: Gettext) -> str:
    if value is None:
        return MISSING
    return _("open") if value else _("closed")


def clock_sync(value: bool | None, _: Gettext) -> str:
    if value is None:
        return MISSING
    return _("synchronised") if value else _("not synchronised")


def _shown(value: float | None) -> bool:
    """Whether a stored figure can be shown (what older fleets stored may be NaN or infinite)."""
    return value is not None and math.isfinite(value)


def milliseconds(value: float | None) -> str:
    return f"{value:+.0f} ms" if _shown(value) else MISSING


def count(value: int | None) -> str:
    return MISSING if value is None else str(value)


def clock_error(seconds: float | None, _: Gettext) -> str:
    """How far a terminal's clock is from the fleet's: ``3 h 05 ahead``, ``12 d 4 h behind``."""
    if seconds is None or not _shown(seconds):
        return MISSING
    if seconds >= 0:
        return _("%(duration)s ahead") % {"duration": duration(seconds, _)}
    return _("%(duration)s behind") % {"duration": duration(-seconds, _)}


def duration(seconds: float, _: Gettext) -> str:
    """A short human duration: ``42 s``, ``12 min``, ``3 h 05``, ``2 d 4 h``."""
    if not _shown(seconds):
        return MISSING
    total = max(0, int(seconds))
    if total < 60:
        return _("%(seconds)d s") % {"seconds": total}
    minutes = total // 60
    if minutes < 60:
        return _("%(minutes)d min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(hours)d h %(minutes)02d") % {"hours": hours, "minutes": minutes}
    days, hours = divmod(hours, 24)
    return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}


def decimal(value: float | None, locale: str, digits: int = 1) -> str:
    """A figure with ``digits`` decimals in the locale's way (``74,5`` in French)."""
    if value is None or not _shown(value):
        return MISSING
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=locale)


def duration_words(seconds: float, locale: str) -> str:
    """A duration in words for the locale, rounded to its largest unit (``4 minutes``,
    ``2 heures``): for a state's age, where precision matters less than reading at a glance."""
    if not _shown(seconds):
        return MISSING
    return format_timedelta(
        timedelta(seconds=max(0.0, seconds)), threshold=1.0, format="long", locale=locale
    )


def percent(value: float | None) -> str:
    return f"{value:.0f} %" if _shown(value) else MISSING


def temperature(value: float | None) -> str:
    return f"{value:.0f} °C" if _shown(value) else MISSING


@dataclass(frozen=True)
class Clock:
    """Formats instants relative to ``now`` in the dashboard's time zone."""

    now: datetime
    zone: tzinfo
    gettext: Gettext
    #: The Babel locale dates are written for (``fr``: 03/12/2026 15:10:45).
    locale: str = "fr"

    def _local(self, moment: datetime) -> datetime:
        try:
            return moment.astimezone(self.zone)
        except (OverflowError, ValueError):
            # At the very ends of the calendar (stored before timestamps were bounded).
            return moment

    def timestamp(self, moment: datetime | None) -> str:
        if moment is None:
            return MISSING
        local = self._local(moment)
        try:
            day = format_date(local, "short", locale=self.locale)
            hour = format_time(local, "medium", locale=self.locale)
        except (OverflowError, ValueError):
            return local.isoformat(sep=" ", timespec="seconds")
        # Babel's short date has a two-digit year in some locales: the year is written whole.
        if str(local.year) not in day:
            day = format_date(local, "medium", locale=self.locale)
        return f"{day} {hour}"

    def day(self, moment: date | None) -> str:
        """A day written out for the locale (``3 décembre 2026``)."""
        return MISSING if moment is None else format_date(moment, "long", locale=self.locale)

    def time_of_day(self, moment: datetime | None) -> str:
        """The time of day (``15:35``), for something due today or soon."""
        if moment is None:
            return MISSING
        return format_time(self._local(moment), "short", locale=self.locale)

    def ago(self, moment: datetime | None) -> str:
        _ = self.gettext
        if moment is None:
            return _("never")
        elapsed = (self.now - moment).total_seconds()
        return _("%(duration)s ago") % {"duration": duration(elapsed, _)}

    def since(self, moment: datetime) -> str:
        _ = self.gettext
        elapsed = (self.now - moment).total_seconds()
        return _("for %(duration)s") % {"duration": duration(elapsed, _)}

    def uptime(self, seconds: float | None) -> str:
        return MISSING if seconds is None else duration(seconds, self.gettext)


def stale_reading_age(state: str, health_at: datetime | None, clock: Clock) -> str | None:
    """``read 12 min ago`` beside a terminal's figures when they are its last words (it is not
    online, so it cannot report now, and it has reported before); None when they are current.
    The one helper of the terminal page and of the overview's rows and phone cards."""
    if state == "online" or health_at is None:
        return None
    return clock.gettext("read %(ago)s") % {"ago": clock.ago(health_at)}
