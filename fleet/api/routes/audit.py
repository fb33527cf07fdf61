"""The audit log page: what people did, newest first (administrators only)."""

from __future__ import annotations

import json
from typing import Any, Final

from babel.numbers import format_decimal
from fastapi import APIRouter, HTTPException, status
from fastapi.responses import Response

from fleet import audit, roles
from fleet.api import formatting
from fleet.api.deps import (
    PageDep,
    SessionDep,
)
from fleet.i18n import N_
from fleet.roles import Role

#: HTML pages: out of the API's OpenAPI document.
router = APIRouter(tags=["dashboard"], include_in_schema=False)


def audit_action_label(action: str, _: formatting.Gettext) -> str:
    labels = {
        "login": _("logged in"),
        "login_failed": _("failed to log in"),
        "logout": _("logged out"),
        "command_sent": _("sent a command"),
        "alert_acknowledged": _("acknowledged an alert"),
        "maintenance_opened": _("opened a maintenance window"),
        "admin_created": _("created an administrator"),
        "user_created": _("created a user"),
        "user_role_changed": _("changed a user's role"),
        "user_disabled": _("disabled a user"),
        "user_enabled": _("enabled a user"),
        "token_created": _("created an API token"),
        "token_revoked": _("revoked an API token"),
        "login_throttled": _("was refused a login (too many attempts)"),
        "terminal_located": _("placed a terminal on the plan"),
        "enrolment_code_created": _("created an enrolment code"),
        "terminal_enrolled": _("enrolled a terminal"),
        "terminal_decommissioned": _("decommissioned a terminal"),
        "second_factor_failed": _("gave a wrong second-factor code"),
        "recovery_code_used": _("used a recovery code"),
        "session_ended": _("ended one of their sessions"),
        "sessions_ended": _("ended their other sessions"),
        "password_changed": _("changed their password"),
        "password_change_failed": _("failed to change their password (wrong password)"),
        "second_factor_enabled": _("turned their second factor on"),
        "second_factor_disabled": _("turned their second factor off"),
        "recovery_codes_renewed": _("renewed their recovery codes"),
        "user_sessions_ended": _("ended a user's sessions"),
        "user_second_factor_reset": _("reset a user's second factor"),
        "sso_refused": _("was refused by single sign-on"),
        "notification_channel_created": _("added a notification channel"),
        "notification_channel_changed": _("changed a notification channel"),
        "notification_channel_enabled": _("enabled a notification channel"),
        "notification_channel_disabled": _("disabled a notification channel"),
        "notification_channel_deleted": _("deleted a notification channel"),
        "notification_channel_tested": _("sent a test through a notification channel"),
        "bulk_command_sent": _("sent a command to many terminals"),
        "bulk_maintenance_opened": _("opened maintenance windows on many terminals"),
        "bulk_alerts_acknowledged": _("acknowledged the alerts of many terminals"),
        "rollout_created": _("created a rollout"),
        "rollout_completed": _("completed a rollout"),
        "rollout_halted": _("halted a rollout"),
        "rollout_paused": _("paused a rollout"),
        "rollout_resumed": _("resumed a rollout"),
        "rollout_aborted": _("aborted a rollout"),
        "rollout_rolled_back": _("rolled a rollout back"),
    }
    return labels.get(action, action)


def bulk_targets(text: str | None, _: formatting.Gettext, locale: str) -> str:
    """An action on many terminals' targets, in the reader's words: the filter or the ids."""
    try:
        targets = json.loads(text or "")
    except ValueError:
        return text or ""
    if not isinstance(targets, dict):
        return text or ""
    number = targets.get("count")
    shown = format_decimal(number, locale=locale) if isinstance(number, int) else "?"
    count = _("%(count)s terminals") % {"count": shown}
    if isinstance(targets.get("ids"), list):
        return f"{count} : " + " ".join(str(i) for i in targets["ids"])
    names = {"state": _("state"), "commune": _("commune"), "q": _("text")}
    flt = targets.get("filter") or {}
    parts = [
        f"{names.get(key, key)} = {formatting.state_label(value, _) if key == 'state' else value}"
        for key, value in flt.items()
    ]
    every = _("every terminal")
    return _("filter: %(filter)s; %(count)s") % {
        "filter": ", ".join(parts) if parts else every,
        "count": count,
    }


#: What the fleet writes in an entry's target and details, in English (see the callers of
#: :func:`fleet.audit.record`): shown in the reader's language, each field translated too.
AUDIT_TEXTS: Final = (
    N_("password"),
    N_("single sign-on"),
    N_("second factor"),
    N_("recovery code"),
    N_("built-in"),
    N_("password and %(how)s"),
    N_("%(count)d left"),
    N_("%(count)d other sessions"),
    N_("%(count)d other sessions ended"),
    N_("%(count)d sessions ended"),
    N_("alert %(id)d"),
    N_("rollout %(id)d"),
    N_("%(minutes)d min: %(reason)s"),
    N_("%(count)d canary terminal(s)"),
    N_("canary %(percent)d %% (%(count)d)"),
    N_(
        "%(version)s (from %(previous)s): %(canary)s, %(waves)d wave(s) of %(size)d, "
        "success %(success)d %%, errors %(errors)d %%"
    ),
    N_("%(count)d terminal(s) back to %(version)s"),
    N_("%(count)d terminal(s) back to %(version)s: %(reason)s"),
    N_("code #%(id)d, %(commune)s, expires %(at)s"),
    N_("%(command)s (%(id)s)"),
)


def audit_text(text: str | None, _: formatting.Gettext, depth: int = 0) -> str:
    """An entry's target or details in the reader's language when the fleet wrote it from one
    of :data:`AUDIT_TEXTS` (its fields too: a command, a role); anything else (what a person
    typed, an id) as stored."""
    if not text:
        return formatting.MISSING
    if text in roles.LABELS:
        return roles.role_label(text, _)
    label = formatting.command_label(text, _)
    if label != text:
        return label
    for template in AUDIT_TEXTS:
        fields = formatting.template_fields(text, template)
        if fields is None:
            continue
        if depth < 2:
            fields = {
                name: audit_text(value, _, depth + 1) if isinstance(value, str) else value
                for name, value in fields.items()
            }
        return _(template) % fields
    return text


@router.get("/audit", response_model=None)
def audit_page(page: PageDep, session: SessionDep) -> Response:
    _ = page.language.gettext
    if page.user.role != Role.ADMIN:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, _("Only administrators may read the audit log.")
        )
    context: dict[str, Any] = {
        "entries": audit.recent(session),
        "action_label": lambda action: audit_action_label(action, _),
        "bulk_targets": lambda text: bulk_targets(text, _, page.language.code),
        "audit_text": lambda text: audit_text(text, _),
    }
    return page.render("audit.html", context)
