"""Notification channels set in the dashboard, and who is told of each alert kind.

The rule, for each alert transition of kind *K*:

- if at least one **enabled** stored channel receives *K* (it lists *K*, or receives every
  kind), the transition goes to those stored channels, and only to them;
- otherwise it goes to the defaults of the environment (``FLEET_SMTP_TO`` through
  ``FLEET_SMTP_HOST``, ``FLEET_WEBHOOK_URL``), as before channels existed.

So a kind nobody has set a channel for still reaches the environment's recipients, and a
disabled channel is as if it did not exist. E-mail channels are sent through the SMTP relay of
the settings (``FLEET_SMTP_HOST``, ``FLEET_SMTP_PORT``, ``FLEET_SMTP_FROM``): without a relay
they cannot be sent, and the page says so.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet.alerts.notifiers import (
    EmailNotifier,
    Gettext,
    Notification,
    NotificationFailed,
    Notifier,
    WebhookNotifier,
    redacted_url,
)
from fleet.alerts.rules import ALERT_KINDS
from fleet.core.config import FleetSettings
from fleet.i18n import gettext_for, supported_or
from fleet.models import ALL_ALERT_KINDS, CHANNEL_MEDIA, NotificationChannel
from fleet.states import AlertState

MAX_TARGET_CHARS: Final = 500
#: An e-mail address as the page accepts it: one local part, one domain with a dot, no spaces
#: or angle brackets (the relay has the last word).
_LOCAL_PART: Final = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_DOMAIN_LABEL: Final = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


class ChannelRefused(ValueError):
    """The form's values cannot make a channel; ``reason`` names which rule (see the page)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ChannelValues:
    """A channel as the form gives it, checked."""

    medium: str
    target: str
    alert_kinds: str
    enabled: bool


def valid_email(address: str) -> bool:
    if len(address) > 254 or address.count("@") != 1:
        return False
    local, domain = address.split("@")
    if not _LOCAL_PART.match(local) or local.startswith(".") or local.endswith("."):
        return False
    if ".." in local:
        return False
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_domain.split(".")
    return len(labels) >= 2 and all(_DOMAIN_LABEL.match(label) for label in labels)


def valid_webhook_url(url: str) -> bool:
    if any(character.isspace() for character in url):
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - a port out of range raises
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def check(
    medium: str, target: str, kinds: Iterable[str], every_kind: bool, enabled: bool
) -> ChannelValues:
    """The channel the form describes, or :class:`ChannelRefused`."""
    target = target.strip()
    if medium not in CHANNEL_MEDIA:
        raise ChannelRefused("medium")
    if not target or len(target) > MAX_TARGET_CHARS:
        raise ChannelRefused("target_missing")
    if medium == "email" and not valid_email(target):
        raise ChannelRefused("email")
    if medium == "webhook" and not valid_webhook_url(target):
        raise ChannelRefused("url")
    chosen = sorted(set(kinds))
    if any(kind not in ALERT_KINDS for kind in chosen):
        raise ChannelRefused("kind")
    if every_kind:
        stored = ALL_ALERT_KINDS
    elif chosen:
        stored = ",".join(kind for kind in ALERT_KINDS if kind in chosen)
    else:
        raise ChannelRefused("no_kind")
    return ChannelValues(medium, target, stored, enabled)


def kinds_of(channel: NotificationChannel) -> tuple[str, ...]:
    """The alert kinds the channel receives (every kind for ``*``)."""
    if channel.alert_kinds == ALL_ALERT_KINDS:
        return ALERT_KINDS
    return tuple(kind for kind in channel.alert_kinds.split(",") if kind)


def shown_target(channel: NotificationChannel) -> str:
    """The target as logs and the audit show it: a webhook's URL without its secret parts."""
    return redacted_url(channel.target) if channel.medium == "webhook" else channel.target


def audit_detail(channel: NotificationChannel) -> str:
    """What the audit keeps of a channel: medium, target (redacted), kinds, enabled."""
    state = "enabled" if channel.enabled else "disabled"
    return f"{channel.medium} {shown_target(channel)} kinds={channel.alert_kinds} {state}"


def list_channels(session: Session) -> Sequence[NotificationChannel]:
    return session.scalars(
        select(NotificationChannel).order_by(NotificationChannel.medium, NotificationChannel.id)
    ).all()


def create(
    session: Session, values: ChannelValues, username: str, now: datetime
) -> NotificationChannel:
    channel = NotificationChannel(
        medium=values.medium,
        target=values.target,
        alert_kinds=values.alert_kinds,
        enabled=values.enabled,
        created_by=username,
        created_at=now,
        updated_by=username,
        updated_at=now,
    )
    session.add(channel)
    session.flush()
    return channel


def update(
    channel: NotificationChannel, values: ChannelValues, username: str, now: datetime
) -> None:
    channel.medium = values.medium
    channel.target = values.target
    channel.alert_kinds = values.alert_kinds
    channel.enabled = values.enabled
    channel.updated_by = username
    channel.updated_at = now


def fleet_gettext(settings: FleetSettings) -> Gettext:
    """The ``_()`` of the fleet's default language: what e-mails are written in."""
    return gettext_for(supported_or(settings.default_language, "fr"))


def notifier_for(channel: NotificationChannel, settings: FleetSettings) -> Notifier:
    """The notifier that sends to ``channel``: the same classes as the environment's."""
    if channel.medium == "webhook":
        return WebhookNotifier(channel.target, settings.webhook_timeout_s)
    if not settings.smtp_host:
        return _NoRelay(channel.target)
    return EmailNotifier(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_from,
        [channel.target],
        fleet_gettext(settings),
        settings.smtp_timeout_s,
    )


class _NoRelay:
    """An e-mail channel on a fleet without an SMTP relay: every send fails, saying so."""

    name = "e-mail"

    def __init__(self, address: str) -> None:
        self._address = address

    def send(self, notification: Notification) -> None:
        raise NotificationFailed(
            f"no SMTP relay (FLEET_SMTP_HOST) to send the e-mail to {self._address}", "no_relay"
        )


class StoredChannels:
    """The stored channels' notifiers for each alert kind (the engine asks once per pass)."""

    def __init__(self, settings: FleetSettings) -> None:
        self._settings = settings

    def by_kind(self, session: Session) -> dict[str, list[Notifier]]:
        """Alert kind -> notifiers of the enabled channels receiving it (absent: none)."""
        found: dict[str, list[Notifier]] = {}
        for channel in session.scalars(
            select(NotificationChannel)
            .where(NotificationChannel.enabled.is_(True))
            .order_by(NotificationChannel.id)
        ):
            notifier = notifier_for(channel, self._settings)
            for kind in kinds_of(channel):
                found.setdefault(kind, []).append(notifier)
        return found


def trial_notification(now: datetime, summary: str) -> Notification:
    """What « Envoyer un test » sends: marked as a test (id 0, terminal « test »)."""
    return Notification(
        alert_id=0,
        terminal_id="test",
        kind="down",
        state=AlertState.OPEN,
        summary=summary,
        opened_at=now,
        at=now,
        test=True,
    )
