"""How figures and times read on the dashboard, in the reader's language and time zone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Gettext = Callable[[str], str]

MISSING = "—"


def display_zone(name: str) -> ZoneInfo:
    """The dashboard's time zone, UTC if the name is unknown."""
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return ZoneInfo("UTC")


def state_label(state: str, _: Gettext) -> str:
    labels = {
        "online": _("online"),
        "offline": _("offline"),
        "lost": _("lost"),
        "unknown": _("unknown"),
    }
    return labels.get(state, state)


def command_label(name: str, _: Gettext) -> str:
    labels = {
        "reboot": _("Reboot"),
        "restart_ui": _("Restart the UI"),
        "wipe_session": _("End and wipe the current session"),
        "screenshot": _("Screenshot"),
        "set_settings": _("Change settings"),
        "refresh_content": _("Refresh the content"),
    }
    return labels.get(name, name)


def command_state_label(state: str, _: Gettext) -> str:
    labels = {
        "pending": _("pending"),
        "accepted": _("accepted"),
        "done": _("done"),
        "failed": _("failed"),
        "refused": _("refused"),
        "expired": _("expired"),
    }
    return labels.get(state, state)


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


def milliseconds(value: float | None) -> str:
    return MISSING if value is None else f"{value:+.0f} ms"


def count(value: int | None) -> str:
    return MISSING if value is None else str(value)


def duration(seconds: float, _: Gettext) -> str:
    """A short human duration: ``42 s``, ``12 min``, ``3 h 05``, ``2 d 4 h``."""
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


def percent(value: float | None) -> str:
    return MISSING if value is None else f"{value:.0f} %"


def temperature(value: float | None) -> str:
    return MISSING if value is None else f"{value:.0f} °C"


@dataclass(frozen=True)
class Clock:
    """Formats instants relative to ``now`` in the dashboard's time zone."""

    now: datetime
    zone: tzinfo
    gettext: Gettext

    def timestamp(self, moment: datetime | None) -> str:
        if moment is None:
            return MISSING
        return moment.astimezone(self.zone).strftime("%d/%m/%Y %H:%M:%S")

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
