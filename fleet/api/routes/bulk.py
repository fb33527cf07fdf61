"""The bulk actions page: filter terminals, tick some or take all matching, confirm, act."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Form, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from fleet import bulk, commands
from fleet.api import formatting
from fleet.api.deps import FormText, Page, PageDep, PublisherDep, SessionDep, may_send_commands
from fleet.api.operator_form import check_operator_form
from fleet.i18n import N_

#: HTML pages: out of the API's OpenAPI document.
router = APIRouter(tags=["dashboard"], include_in_schema=False)

PATH: Final = "/terminals/actions"
FLASH_SESSION_KEY: Final = "bulk_flash"
#: Terminals listed per page (each with its box to tick).
PAGE_SIZE: Final = 100
SCOPE_TICKED: Final = "ticked"
SCOPE_MATCHING: Final = "matching"

IdList = Annotated[list[str], Form()]


def _labels(page: Page) -> dict[str, Any]:
    _ = page.language.gettext
    return {
        "action_labels": {
            **{
                f"command:{name}": _("Command: %(command)s")
                % {"command": formatting.command_label(name, _)}
                for name in bulk.BULK_COMMANDS
            },
            bulk.MAINTENANCE: _("Start a maintenance window"),
            bulk.ACKNOWLEDGE: _("Acknowledge their open alerts"),
        },
        "state_label": lambda state: formatting.state_label(state, _),
        "number": lambda value: format_decimal(value, locale=page.language.code),
    }


def _filter_query(flt: bulk.Filter, **more: str) -> str:
    values = {"state": flt.state, "commune": flt.commune, "q": flt.text, **more}
    return urlencode({key: value for key, value in values.items() if value})


def _render(
    page: Page,
    session: Session,
    flt: bulk.Filter,
    offset: int = 0,
    error: str | None = None,
    confirm: dict[str, Any] | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    flash = page.request.session.pop(FLASH_SESSION_KEY, None)
    matching = bulk.count_targets(session, bulk.Selection(flt, everything_matching=True))
    offset = max(0, min(offset, max(matching - 1, 0)))
    context: dict[str, Any] = {
        "filter": flt,
        "communes": bulk.communes(session),
        "states": bulk.FILTER_STATES,
        "actions": bulk.ACTIONS,
        "matching": matching,
        "rows": bulk.matching_page(session, flt, PAGE_SIZE, offset),
        "offset": offset,
        "page_size": PAGE_SIZE,
        "filter_query": _filter_query(flt),
        "next_query": _filter_query(flt, offset=str(offset + PAGE_SIZE)),
        "previous_query": _filter_query(flt, offset=str(max(offset - PAGE_SIZE, 0))),
        "may_act": may_send_commands(page.user),
        "max_minutes": bulk.MAX_WINDOW_MINUTES,
        "max_ticked": bulk.MAX_TICKED,
        "error": error,
        "flash": flash if isinstance(flash, str) else None,
        "confirm": confirm,
        **_labels(page),
    }
    return page.render("bulk.html", context, status_code)


@router.get(PATH, response_model=None)
def bulk_page(page: PageDep, session: SessionDep) -> Response:
    params = page.request.query_params
    offset_text = params.get("offset", "0")
    offset = int(offset_text) if offset_text.isdigit() and len(offset_text) < 8 else 0
    return _render(page, session, bulk.Filter.from_params(params), offset)


def _selection(flt: bulk.Filter, scope: str, ids: list[str]) -> bulk.Selection:
    if scope == SCOPE_MATCHING:
        return bulk.Selection(flt, everything_matching=True)
    unique = tuple(dict.fromkeys(part.strip() for part in ids if part.strip()))
    return bulk.Selection(flt, ids=unique)


def _error_text(page: Page, exc: bulk.BulkError) -> str:
    _ = page.language.gettext
    params = {
        key: format_decimal(value, locale=page.language.code) if isinstance(value, int) else value
        for key, value in exc.params.items()
    }
    return _("Nothing was done: %(reason)s.") % {"reason": _(exc.message) % params}


@dataclass(frozen=True)
class BulkForm:
    """The bulk form as sent, checked: an operator's, with this session's CSRF token."""

    page: Page
    filter: bulk.Filter
    selection: bulk.Selection
    action: str
    minutes: str
    reason: str

    def chosen(self) -> bulk.Action:
        """The action asked for (:class:`bulk.BulkError` if it is not one)."""
        return bulk.Action.parse(self.action, self.minutes, self.reason)

    def refused(self, session: Session, exc: bulk.BulkError) -> Response:
        """The page again, saying why nothing was done."""
        return _render(
            self.page,
            session,
            self.filter,
            error=_error_text(self.page, exc),
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )


def get_bulk_form(
    page: PageDep,
    state: FormText = "",
    commune: FormText = "",
    q: FormText = "",
    scope: FormText = SCOPE_TICKED,
    ids: IdList = [],  # noqa: B006 (FastAPI copies the default)
    action: FormText = "",
    minutes: FormText = "60",
    reason: FormText = "",
    csrf_token: FormText = "",
) -> BulkForm:
    check_operator_form(page.request, page.user, page.language, csrf_token)
    flt = bulk.Filter.from_params({"state": state, "commune": commune, "q": q})
    return BulkForm(page, flt, _selection(flt, scope, ids), action, minutes, reason)


BulkFormDep = Annotated[BulkForm, Depends(get_bulk_form)]


@router.post(f"{PATH}/confirm", response_model=None)
def confirm_bulk_action(form: BulkFormDep, session: SessionDep) -> Response:
    """The confirmation: how many terminals, what will be done; nothing is done yet."""
    selection = form.selection
    try:
        bulk.check_selection(selection)
        chosen = form.chosen()
        count = bulk.count_targets(session, selection)
        if count == 0:
            raise bulk.BulkError(N_("no terminal matches: nothing to do"))
    except bulk.BulkError as exc:
        return form.refused(session, exc)
    confirm = {
        "count": count,
        "action": chosen,
        "scope": SCOPE_MATCHING if selection.everything_matching else SCOPE_TICKED,
        "ids": selection.ids,
    }
    return _render(form.page, session, form.filter, confirm=confirm)


@router.post(PATH, response_model=None)
def do_bulk_action(
    form: BulkFormDep,
    session: SessionDep,
    publisher: PublisherDep,
    confirmed_count: FormText = "",
) -> Response:
    """Do the confirmed action, all of it or nothing, and say what was done."""
    page = form.page
    _ = page.language.gettext
    try:
        chosen = form.chosen()
        if not confirmed_count.isdigit():
            raise bulk.BulkError(N_("confirm first: the page says how many terminals"))
        outcome = bulk.perform(
            session,
            form.selection,
            chosen,
            int(confirmed_count),
            page.user.username,
            page.now,
            publisher,
        )
    except bulk.BulkError as exc:
        return form.refused(session, exc)
    number = format_decimal(outcome.terminals, locale=page.language.code)
    if chosen.kind == "command":
        text = _("Command sent to %(count)s terminals.") % {"count": number}
        if outcome.held:
            text += " " + _(
                "%(held)s of them wait for the broker or for the next pass; they expire in "
                "%(minutes)d minutes."
            ) % {
                "held": format_decimal(outcome.held, locale=page.language.code),
                "minutes": commands.DEFAULT_TTL_S // 60,
            }
    elif chosen.kind == bulk.MAINTENANCE:
        text = _("Maintenance window of %(minutes)d minutes opened for %(count)s terminals.") % {
            "minutes": chosen.minutes,
            "count": number,
        }
    else:
        text = _("%(alerts)s open alerts acknowledged on %(count)s terminals.") % {
            "alerts": format_decimal(outcome.affected, locale=page.language.code),
            "count": number,
        }
    page.request.session[FLASH_SESSION_KEY] = text
    query = _filter_query(form.filter)
    return RedirectResponse(PATH + (f"?{query}" if query else ""), status.HTTP_303_SEE_OTHER)
