"""How alert kinds and states read, in the reader's language (pages, e-mails)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from babel.numbers import format_decimal

from fleet import states
from fleet.i18n import Words
from fleet.models import Alert
from fleet.states import AlertState, TerminalState

Gettext = Callable[[str], str]


def alert_kind_label(kind: str, _: Gettext) -> str:
    labels = {
        "down": _("Terminal down"),
        "flapping": _("Connection unstable"),
        "disk_full": _("Disk nearly full"),
        "temperature": _("Temperature out of range"),
        "ui_not_responding": _("User interface not responding"),
        "ui_crash_loop": _("User interface restarting in a loop"),
        "wipe_failed": _("Privacy wipe self-check failed"),
        "door_open": _("Enclosure door open"),
        "content_failed": _("Content update failed"),
    }
    return labels.get(kind, kind)


def alert_state_label(state: str, _: Gettext) -> str:
    return states.label(AlertState, state, _)


# -- details: the rule's facts, in the reader's words ----------------------------------------

#: The English of every alert's details, for logs and ``alerts.summary`` (the source language).
ENGLISH: Final = Words("en")


def _number(value: object, words: Words, digits: int = 0) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=words.locale)


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def alert_details(kind: str, details: Mapping[str, Any], words: Words) -> str:
    """What is wrong, one sentence in ``words``' language, with no duration (the line that
    shows it has one: :func:`alert_since`)."""
    _ = words.gettext
    ngettext = words.ngettext
    if kind == "down":
        if details.get("state") == TerminalState.OFFLINE:
            return _("offline: the agent said goodbye (clean stop)")
        return _("lost: the connection dropped without a goodbye (the broker's last will)")
    if kind == "flapping":
        changes = _count(details.get("changes"))
        return ngettext(
            "%(count)d change of presence within %(minutes)d min, now %(state)s",
            "%(count)d changes of presence within %(minutes)d min, now %(state)s",
            changes,
        ) % {
            "count": changes,
            "minutes": _count(details.get("window_min")),
            "state": states.label(TerminalState, details.get("state"), _),
        }
    if kind == "disk_full":
        return _("disk %(used)s %% used (limit %(limit)s %%)") % {
            "used": _number(details.get("used"), words),
            "limit": _number(details.get("limit"), words),
        }
    if kind == "temperature":
        return _("%(reading)s °C, outside the range %(min)s to %(max)s °C") % {
            "reading": _number(details.get("reading"), words, 1),
            "min": _number(details.get("min"), words),
            "max": _number(details.get("max"), words),
        }
    if kind == "ui_not_responding":
        return _("the kiosk screen sends no heartbeat to the agent")
    if kind == "ui_crash_loop":
        crashes = _count(details.get("crashes"))
        return ngettext(
            "the kiosk screen crashed %(count)d time within %(minutes)d min",
            "the kiosk screen crashed %(count)d times within %(minutes)d min",
            crashes,
        ) % {"count": crashes, "minutes": _count(details.get("window_min"))}
    if kind == "wipe_failed":
        return _("the self-check after the last privacy wipe failed")
    if kind == "door_open":
        return _("enclosure door open outside a maintenance window")
    if kind == "content_failed":
        return _("the last content update failed")
    return alert_kind_label(kind, _)


def alert_text(alert: Alert, words: Words) -> str:
    """An alert's details in ``words``' language; an alert stored before its details were
    structured (revision r0010) shows its English summary as stored."""
    if alert.details is None:
        return alert.summary
    return alert_details(alert.kind, alert.details, words)


def alert_since(alert: Alert) -> datetime:
    """Since when what the alert tells is so: a terminal down since it went, else the opening."""
    if alert.details is not None and alert.kind == "down":
        since = _moment(alert.details.get("since"))
        if since is not None:
            return since
    return alert.opened_at


def english_summary(kind: str, details: Mapping[str, Any]) -> str:
    """The English sentence stored in ``alerts.summary`` (logs, older readers)."""
    return alert_details(kind, details, ENGLISH)[:300]
