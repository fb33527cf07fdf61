"""Telling people: one e-mail (SMTP) and one webhook POST (JSON) per alert transition."""

from __future__ import annotations

import json
import logging
import smtplib
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

from fleet.alerts.labels import alert_details, alert_kind_label, alert_state_label
from fleet.core.config import FleetSettings
from fleet.i18n import Words, gettext_for, supported_or

logger = logging.getLogger(__name__)

Gettext = Callable[[str], str]


class NotificationFailed(RuntimeError):
    """A notifier could not deliver; the message says where and why (in English, for the log).

    ``cause`` says why in a word a page can put in the reader's language (see
    :data:`FAILURE_CAUSES`), ``status`` is the HTTP status a webhook answered, if any.
    """

    def __init__(self, message: str, cause: str = "network", status: int | None = None) -> None:
        super().__init__(message)
        self.cause = cause
        self.status = status


#: The causes :class:`NotificationFailed` names.
FAILURE_CAUSES = (
    "refused",
    "timeout",
    "unknown_host",
    "tls",
    "recipient_refused",
    "smtp_refused",
    "http_status",
    "no_relay",
    "network",
)


def failure_cause(exc: BaseException) -> str:
    """The word of :data:`FAILURE_CAUSES` for an exception met while sending."""
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        return failure_cause(exc.reason)
    if isinstance(exc, smtplib.SMTPRecipientsRefused | smtplib.SMTPSenderRefused):
        return "recipient_refused"
    if isinstance(exc, smtplib.SMTPException):
        return "smtp_refused"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, socket.gaierror):
        return "unknown_host"
    if isinstance(exc, ssl.SSLError):
        return "tls"
    return "network"


def redacted_url(url: str) -> str:
    """``url`` as logs and the audit may show it: scheme, host and port only.

    A webhook URL often carries its secret (``https://hooks.example.org/services/T0/B0/XyZ``,
    ``?token=``, ``user:password@``): its path, query and credentials never reach a log.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(URL)"
    if ":" in host:
        host = f"[{host}]"
    shown = f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        shown += "/…"
    return shown


@dataclass(frozen=True, slots=True)
class Notification:
    """One transition of one alert, as people are told of it."""

    alert_id: int
    terminal_id: str
    kind: str
    state: str
    summary: str
    opened_at: datetime
    at: datetime
    acknowledged_by: str | None = None
    #: Sent by « Envoyer un test » of the notifications page: no terminal is concerned.
    test: bool = False
    #: The rule's facts (:mod:`fleet.alerts.rules`); None for an alert older than migration 0014.
    details: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "alert_id": self.alert_id,
            "terminal_id": self.terminal_id,
            "kind": self.kind,
            "state": self.state,
            "summary": self.summary,
            "details": self.details,
            "opened_at": self.opened_at.isoformat(),
            "at": self.at.isoformat(),
            "acknowledged_by": self.acknowledged_by,
        }
        if self.test:
            data["test"] = True
        return data


class Notifier(Protocol):
    name: str

    def send(self, notification: Notification) -> None:
        """Deliver, or raise :class:`NotificationFailed`."""


class EmailNotifier:
    """A plain-text e-mail through an SMTP relay, in the fleet's default language."""

    name = "e-mail"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        recipients: list[str],
        gettext: Gettext,
        timeout_s: float = 10.0,
        language: str = "en",
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._recipients = recipients
        self._ = gettext
        self._words = Words(language)
        self._timeout_s = timeout_s

    def details_text(self, notification: Notification) -> str:
        """The details in the e-mail's language (the English summary for an older alert)."""
        if notification.details is None:
            return notification.summary
        return alert_details(notification.kind, notification.details, self._words)

    def message(self, notification: Notification) -> EmailMessage:
        _ = self._
        kind = alert_kind_label(notification.kind, _)
        state = alert_state_label(notification.state, _)
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = ", ".join(self._recipients)
        message["Subject"] = f"[{notification.terminal_id}] {kind}: {state}"
        lines: list[str] = []
        if notification.test:
            message.replace_header("Subject", f"[{_('Test')}] " + str(message["Subject"]))
            lines.append(_("This is a test of the notification channel: no terminal is concerned."))
        lines += [
            _("Terminal: %(terminal)s") % {"terminal": notification.terminal_id},
            _("Alert: %(kind)s") % {"kind": kind},
            _("State: %(state)s") % {"state": state},
            _("Details: %(summary)s") % {"summary": self.details_text(notification)},
            _("Opened at: %(at)s") % {"at": notification.opened_at.isoformat(timespec="seconds")},
        ]
        if notification.acknowledged_by:
            lines.append(_("Acknowledged by: %(user)s") % {"user": notification.acknowledged_by})
        message.set_content("\n".join(lines) + "\n")
        return message

    def send(self, notification: Notification) -> None:
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout_s) as smtp:
                smtp.send_message(self.message(notification))
        except (OSError, smtplib.SMTPException) as exc:
            raise NotificationFailed(
                f"SMTP relay {self._host}:{self._port} did not take the e-mail: {exc}",
                failure_cause(exc),
            ) from exc


class WebhookNotifier:
    """A JSON POST (:meth:`Notification.as_json`) to a URL; any 2xx answer is delivery."""

    name = "webhook"

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self._url = url
        self._timeout_s = timeout_s

    def send(self, notification: Notification) -> None:
        request = urllib.request.Request(
            self._url,
            data=json.dumps(notification.as_json()).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, urllib.error.URLError) as exc:
            raise NotificationFailed(
                f"webhook {redacted_url(self._url)} failed: {exc}", failure_cause(exc)
            ) from exc
        if not 200 <= status < 300:
            raise NotificationFailed(
                f"webhook {redacted_url(self._url)} answered HTTP {status}", "http_status", status
            )


def notifiers_from_settings(settings: FleetSettings) -> list[Notifier]:
    """The notifiers the settings configure (none when neither SMTP nor webhook is set)."""
    notifiers: list[Notifier] = []
    recipients = settings.smtp_recipients()
    if settings.smtp_host and recipients:
        language = supported_or(settings.default_language, "fr")
        gettext = gettext_for(language)
        notifiers.append(
            EmailNotifier(
                settings.smtp_host,
                settings.smtp_port,
                settings.smtp_from,
                recipients,
                gettext,
                settings.smtp_timeout_s,
                language,
            )
        )
    elif settings.smtp_host:
        logger.warning("smtp_host is set but smtp_to is empty: no alert e-mail will be sent.")
    if settings.webhook_url:
        notifiers.append(WebhookNotifier(settings.webhook_url, settings.webhook_timeout_s))
    return notifiers
