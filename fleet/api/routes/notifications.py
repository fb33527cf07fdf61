"""The notifications page (administrators only): who is told of which alert kind.

Channels (e-mail addresses, webhook URLs) are stored in the database and chosen per alert kind;
the environment's settings stay as the defaults (the rule: :mod:`fleet.alerts.channels`).
Every change is audited, with a webhook's URL reduced to its scheme, host and port.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Path, Query, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from fleet import audit
from fleet.alerts import channels
from fleet.alerts.labels import alert_kind_label
from fleet.alerts.notifiers import NotificationFailed, redacted_url
from fleet.alerts.rules import ALERT_KINDS
from fleet.api import formatting
from fleet.api.deps import CsrfForm, FormText, Page, PageDep, SessionDep, check_form_csrf
from fleet.models import ALL_ALERT_KINDS, NotificationChannel
from fleet.roles import Role

logger = logging.getLogger(__name__)

#: HTML pages: out of the API's OpenAPI document.
router = APIRouter(tags=["dashboard"], include_in_schema=False)
PATH: Final = "/notifications"
FLASH_SESSION_KEY: Final = "notifications_flash"
#: A channel id in a path: SQL integers, positive.
ChannelId = Annotated[int, Path(ge=1, le=2**31 - 1)]
#: The alert kinds ticked in the form.
FormKinds = Annotated[list[str], Form()]


def medium_label(medium: str, _: formatting.Gettext) -> str:
    labels = {"email": _("E-mail"), "webhook": _("Webhook")}
    return labels.get(medium, medium)


def refusal_message(reason: str, _: formatting.Gettext) -> str:
    messages = {
        "medium": _("Choose e-mail or webhook."),
        "target_missing": _("Enter an e-mail address or a webhook URL (at most 500 characters)."),
        "email": _(
            "This is not an e-mail address: one name, one @ and a domain, "
            "like astreinte@bordeaux-metropole.fr."
        ),
        "url": _(
            "This is not a webhook URL: it starts with https:// (or http://) and names a host, "
            "like https://hooks.example.org/fleet."
        ),
        "kind": _("Unknown alert kind."),
        "no_kind": _("Tick at least one alert kind, or « All alert kinds »."),
        "unknown": _("No such channel: it may have been deleted meanwhile."),
    }
    return messages.get(reason, reason)


def failure_message(failure: NotificationFailed, _: formatting.Gettext) -> str:
    """Why a test could not be sent, in the reader's language."""
    causes = {
        "refused": _("the server refused the connection"),
        "timeout": _("the server did not answer in time"),
        "unknown_host": _("the host name is unknown"),
        "tls": _("the secure connection (TLS) failed"),
        "recipient_refused": _("the SMTP relay refused the sender or the recipient"),
        "smtp_refused": _("the SMTP relay refused the message"),
        "http_status": _("the webhook answered with HTTP status %(status)s")
        % {"status": failure.status},
        "no_relay": _("no SMTP relay is configured (FLEET_SMTP_HOST)"),
        "network": _("network error"),
    }
    return causes.get(failure.cause, causes["network"])


def _refused(page: Page) -> Response:
    return page.render(
        "notifications.html", {"refused": True}, status.HTTP_403_FORBIDDEN, no_store=True
    )


def _render(
    page: Page,
    session: Session,
    *,
    error: str | None = None,
    result: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    editing: NotificationChannel | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    _ = page.language.gettext
    settings = page.settings
    flash = page.request.session.pop(FLASH_SESSION_KEY, None)
    flashes = {
        "created": _("The channel was added."),
        "saved": _("The channel was saved."),
        "enabled": _("The channel was enabled."),
        "disabled": _("The channel was disabled: it receives nothing until enabled again."),
        "deleted": _("The channel was deleted."),
    }
    if form is None:
        source = editing
        form = {
            "medium": source.medium if source else "email",
            "target": source.target if source else "",
            "kinds": set(channels.kinds_of(source)) if source else set(),
            "every_kind": source.alert_kinds == ALL_ALERT_KINDS if source else True,
            "enabled": source.enabled if source else True,
        }
    context: dict[str, Any] = {
        "refused": False,
        "channels": channels.list_channels(session),
        "alert_kinds": ALERT_KINDS,
        "kind_label": lambda kind: alert_kind_label(kind, _),
        "medium_label": lambda medium: medium_label(medium, _),
        "kinds_of": channels.kinds_of,
        "all_kinds": ALL_ALERT_KINDS,
        "shown_target": channels.shown_target,
        "error": error,
        "result": result,
        "flash": flashes.get(flash) if isinstance(flash, str) else None,
        "form": form,
        "editing": editing,
        "defaults": {
            "smtp_relay": f"{settings.smtp_host}:{settings.smtp_port}"
            if settings.smtp_host
            else None,
            "smtp_from": settings.smtp_from,
            "smtp_to": settings.smtp_recipients(),
            "webhook": redacted_url(settings.webhook_url) if settings.webhook_url else None,
        },
    }
    return page.render("notifications.html", context, status_code, no_store=True)


@router.get(PATH, response_model=None)
def notifications_page(
    page: PageDep,
    session: SessionDep,
    edit: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    if page.user.role != Role.ADMIN:
        return _refused(page)
    editing = session.get(NotificationChannel, edit) if edit is not None else None
    if edit is not None and editing is None:
        _ = page.language.gettext
        return _render(page, session, error=refusal_message("unknown", _), status_code=404)
    return _render(page, session, editing=editing)


def _redirect(page: Page, flash: str) -> Response:
    page.request.session[FLASH_SESSION_KEY] = flash
    return RedirectResponse(PATH, status.HTTP_303_SEE_OTHER)


@dataclass(frozen=True)
class ChannelForm:
    """What the add and edit forms send."""

    medium: str
    target: str
    kinds: list[str]
    every_kind: str
    enabled: str


def channel_form(
    medium: FormText = "",
    target: FormText = "",
    kinds: FormKinds = [],  # noqa: B006 - FastAPI copies a form default
    every_kind: FormText = "",
    enabled: FormText = "",
) -> ChannelForm:
    return ChannelForm(medium, target, kinds, every_kind, enabled)


ChannelFormDep = Annotated[ChannelForm, Depends(channel_form)]


def _save(
    page: Page, session: Session, channel: NotificationChannel | None, sent: ChannelForm
) -> Response:
    _ = page.language.gettext
    every_kind, enabled = sent.every_kind == "1", sent.enabled == "1"
    try:
        values = channels.check(sent.medium, sent.target, sent.kinds, every_kind, enabled)
    except channels.ChannelRefused as refused:
        form = {
            "medium": sent.medium,
            "target": sent.target,
            "kinds": set(sent.kinds),
            "every_kind": every_kind,
            "enabled": enabled,
        }
        return _render(
            page,
            session,
            error=refusal_message(refused.reason, _),
            form=form,
            editing=channel,
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    actor = page.user.username
    if channel is None:
        channel = channels.create(session, values, actor, page.now)
        action, flash = "notification_channel_created", "created"
    else:
        channels.update(channel, values, actor, page.now)
        action, flash = "notification_channel_changed", "saved"
    session.flush()
    audit.record(session, actor, action, f"channel {channel.id}", channels.audit_detail(channel))
    session.commit()
    return _redirect(page, flash)


def _admin_form(page: Page, form_csrf_token: str) -> Response | None:
    """The refusal for anyone but an administrator; 400 for a form without the CSRF token."""
    if page.user.role != Role.ADMIN:
        return _refused(page)
    check_form_csrf(page.request, form_csrf_token)
    return None


def _channel_form(
    page: Page, session: Session, channel_id: int, form_csrf_token: str
) -> NotificationChannel | Response:
    """The channel an administrator's form is about, or the page that says why not."""
    refused = _admin_form(page, form_csrf_token)
    if refused is not None:
        return refused
    channel = session.get(NotificationChannel, channel_id)
    if channel is None:
        _ = page.language.gettext
        return _render(
            page,
            session,
            error=refusal_message("unknown", _),
            status_code=status.HTTP_404_NOT_FOUND,
        )
    return channel


@router.post(PATH, response_model=None)
def create_channel(
    page: PageDep, session: SessionDep, sent: ChannelFormDep, form_csrf_token: CsrfForm = ""
) -> Response:
    refused = _admin_form(page, form_csrf_token)
    return refused if refused is not None else _save(page, session, None, sent)


@router.post(PATH + "/{channel_id}", response_model=None)
def change_channel(
    channel_id: ChannelId,
    page: PageDep,
    session: SessionDep,
    sent: ChannelFormDep,
    form_csrf_token: CsrfForm = "",
) -> Response:
    found = _channel_form(page, session, channel_id, form_csrf_token)
    if isinstance(found, Response):
        return found
    return _save(page, session, found, sent)


@router.post(PATH + "/{channel_id}/enabled", response_model=None)
def enable_channel(
    channel_id: ChannelId,
    page: PageDep,
    session: SessionDep,
    enabled: FormText = "",
    form_csrf_token: CsrfForm = "",
) -> Response:
    """``enabled=1`` enables the channel, ``enabled=0`` disables it."""
    found = _channel_form(page, session, channel_id, form_csrf_token)
    if isinstance(found, Response):
        return found
    found.enabled = enabled == "1"
    found.updated_by = page.user.username
    found.updated_at = page.now
    action = "notification_channel_enabled" if found.enabled else "notification_channel_disabled"
    audit.record(
        session, page.user.username, action, f"channel {found.id}", channels.audit_detail(found)
    )
    session.commit()
    return _redirect(page, "enabled" if found.enabled else "disabled")


@router.post(PATH + "/{channel_id}/delete", response_model=None)
def delete_channel(
    channel_id: ChannelId, page: PageDep, session: SessionDep, form_csrf_token: CsrfForm = ""
) -> Response:
    found = _channel_form(page, session, channel_id, form_csrf_token)
    if isinstance(found, Response):
        return found
    audit.record(
        session,
        page.user.username,
        "notification_channel_deleted",
        f"channel {found.id}",
        channels.audit_detail(found),
    )
    session.delete(found)
    session.commit()
    return _redirect(page, "deleted")


@router.post(PATH + "/{channel_id}/test", response_model=None)
def send_test(
    channel_id: ChannelId, page: PageDep, session: SessionDep, form_csrf_token: CsrfForm = ""
) -> Response:
    """Send a test notification through the channel's own notifier, and show what happened."""
    found = _channel_form(page, session, channel_id, form_csrf_token)
    if isinstance(found, Response):
        return found
    _ = page.language.gettext
    fleet_gettext = channels.fleet_gettext(page.settings)
    notification = channels.trial_notification(
        page.now,
        fleet_gettext("Test sent from the notifications page by %(user)s.")
        % {"user": page.user.username},
    )
    target = channels.shown_target(found)
    try:
        channels.notifier_for(found, page.settings).send(notification)
    except NotificationFailed as failure:
        logger.warning("Test of notification channel %s failed: %s", found.id, failure)
        outcome = "failed"
        result = {
            "channel": str(found.id),
            "ok": "",
            "text": _("The test could not be sent to %(target)s: %(why)s.")
            % {"target": target, "why": failure_message(failure, _)},
        }
    else:
        outcome = "sent"
        result = {
            "channel": str(found.id),
            "ok": "1",
            "text": _("Test sent to %(target)s.") % {"target": target},
        }
    audit.record(
        session,
        page.user.username,
        "notification_channel_tested",
        f"channel {found.id}",
        f"{outcome}: {channels.audit_detail(found)}",
    )
    session.commit()
    code = status.HTTP_200_OK if outcome == "sent" else status.HTTP_502_BAD_GATEWAY
    return _render(page, session, result=result, status_code=code)
