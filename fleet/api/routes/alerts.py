"""The alerts page (open and acknowledged alerts, with acknowledge) and maintenance windows."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from fleet import audit, crud
from fleet.alerts import store
from fleet.api.deps import (
    FormText,
    LanguageDep,
    PageDep,
    PageUser,
    SessionDep,
    may_send_commands,
)
from fleet.api.labels import alert_words
from fleet.api.operator_form import check_operator_form
from fleet.presence import PresenceLimits

#: HTML pages: out of the API's OpenAPI document.
router = APIRouter(tags=["dashboard"], include_in_schema=False)

MAX_WINDOW_MINUTES: Final = 7 * 24 * 60
MAX_REASON_CHARS: Final = 200


#: Alerts per page of the alerts page: at 100,000 terminals thousands can be open at once.
ALERTS_PAGE_SIZE: Final = 100


@router.get("/alerts", response_model=None)
def alerts_page(page: PageDep, session: SessionDep) -> Response:
    _ = page.language.gettext
    limits = PresenceLimits.from_settings(page.settings)
    total = store.count_unresolved(session)
    pages = max((total + ALERTS_PAGE_SIZE - 1) // ALERTS_PAGE_SIZE, 1)
    asked = page.request.query_params.get("page", "1")
    number = min(int(asked) if asked.isdigit() and len(asked) < 7 else 1, pages) or 1
    context: dict[str, Any] = {
        "alerts": store.unresolved_alerts(
            session,
            limits=limits,
            now=page.now,
            limit=ALERTS_PAGE_SIZE,
            offset=(number - 1) * ALERTS_PAGE_SIZE,
        ),
        "alerts_total": total,
        "alerts_page": number,
        "alerts_pages": pages,
        "alerts_first": (number - 1) * ALERTS_PAGE_SIZE + 1,
        "may_acknowledge": may_send_commands(page.user),
        **alert_words(page.language.code),
    }
    return page.render("alerts.html", context)


@router.post("/alerts/{alert_id}/acknowledge", response_model=None)
def acknowledge_alert(
    alert_id: int,
    request: Request,
    user: PageUser,
    session: SessionDep,
    language: LanguageDep,
    csrf_token: FormText = "",
) -> Response:
    """Someone is on it: the alert stays listed, marked acknowledged by this user."""
    check_operator_form(request, user, language, csrf_token)
    now = crud.utc_now()
    if store.acknowledge(session, alert_id, user.username, now):
        audit.record(session, user.username, "alert_acknowledged", f"alert {alert_id}", at=now)
        session.commit()
    # Already acknowledged or resolved: the page shows how it stands now.
    return RedirectResponse("/alerts", status.HTTP_303_SEE_OTHER)


@router.post("/terminals/{terminal_id}/maintenance", response_model=None)
def open_maintenance_window(
    terminal_id: str,
    request: Request,
    user: PageUser,
    session: SessionDep,
    language: LanguageDep,
    minutes: Annotated[int, Form(ge=1, le=MAX_WINDOW_MINUTES)] = 60,
    reason: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """From now for ``minutes``: no notification and no door alarm for this terminal."""
    _ = language.gettext
    check_operator_form(request, user, language, csrf_token)
    terminal = crud.get_terminal(session, terminal_id)
    if terminal is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _("No such terminal."))
    now = crud.utc_now()
    reason = reason.strip()[:MAX_REASON_CHARS]
    store.open_window(session, terminal, minutes, reason, user.username, now)
    audit.record(
        session,
        user.username,
        "maintenance_opened",
        terminal_id,
        f"{minutes} min" + (f": {reason}" if reason else ""),
        at=now,
    )
    session.commit()
    return RedirectResponse(f"/terminals/{terminal_id}", status.HTTP_303_SEE_OTHER)
