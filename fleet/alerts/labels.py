"""How alert kinds and states read, in the reader's language (pages, e-mails)."""

from __future__ import annotations

from collections.abc import Callable

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
    labels = {
        "open": _("open"),
        "acknowledged": _("acknowledged"),
        "resolved": _("resolved"),
    }
    return labels.get(state, state)
