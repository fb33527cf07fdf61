"""Content rollouts: the pages (list, one rollout, the form and its actions) and the JSON API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from fleet import crud
from fleet.api import errors
from fleet.api.deps import (
    ApiOperator,
    ApiUser,
    FormText,
    LanguageDep,
    PageDep,
    PageUser,
    PublisherDep,
    RowIdPath,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    may_send_commands,
)
from fleet.api.labels import rollout_labels, rollout_state_label
from fleet.api.operator_form import check_operator_form
from fleet.models import Rollout, RolloutTarget
from fleet.rollouts import actions, engine, progress
from fleet.rollouts.errors import InvalidPlan, RolloutError, UnknownCanary, UnknownRollout
from fleet.rollouts.plan import (
    MAX_WAVE_SIZE,
    Plan,
    check_published,
    create_rollout,
    published_versions,
)
from fleet.states import Gettext
from kiosk.contract.mqtt import TERMINAL_ID_PATTERN

router = APIRouter(tags=["rollouts"])

FLASH_SESSION_KEY: Final = "rollout_flash"


def _parse_canary(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.replace(",", " ").split() if part)


def _render_page(page: PageDep, template: str, context: dict[str, Any]) -> Response:
    """A rollout page: its own ``context``, whether the reader may act, the flash left by the
    last refused form (read once) and the labels."""
    flash = page.request.session.pop(FLASH_SESSION_KEY, None)
    context = {
        **context,
        "may_act": may_send_commands(page.user),
        "flash": flash if isinstance(flash, str) else None,
        **rollout_labels(page.language),
    }
    return page.render(template, context)


def _flash_refusal(request: Request, template: str, exc: RolloutError, _: Gettext) -> None:
    """Leave why the fleet refused, in the reader's words, for the next page (read once)."""
    reason = exc.translated(_, lambda state: rollout_state_label(state, _))
    request.session[FLASH_SESSION_KEY] = template % {"reason": reason}


def _create(
    request: Request, session: SessionDep, settings: SettingsDep, plan: Plan, username: str
) -> Rollout:
    """Create the rollout of ``plan`` if its version is published; raises :class:`RolloutError`."""
    check_published(plan.version, published_versions(settings.content_repo))
    return create_rollout(session, plan, username, _now(request))


@router.get("/rollouts", response_model=None, include_in_schema=False)
def rollouts_page(page: PageDep, session: SessionDep) -> Response:
    context: dict[str, Any] = {
        "published": published_versions(page.settings.content_repo),
        "rollouts": progress.list_rollouts(session),
        "active": progress.active_rollout(session),
    }
    return _render_page(page, "rollouts.html", context)


@router.post("/rollouts", response_model=None, include_in_schema=False)
def create_rollout_form(
    request: Request,
    user: PageUser,
    session: SessionDep,
    language: LanguageDep,
    settings: SettingsDep,
    version: FormText = "",
    canary_terminals: FormText = "",
    canary_percent: FormText = "",
    wave_size: Annotated[int, Form()] = 10,
    success_threshold: Annotated[int, Form()] = 90,
    error_threshold: Annotated[int, Form()] = 10,
    csrf_token: FormText = "",
) -> Response:
    """Create a rollout; a refusal is shown on the page, in plain words."""
    check_operator_form(request, user, language, csrf_token)
    names = _parse_canary(canary_terminals)
    percent: int | None = None
    if canary_percent.strip() and not names:
        try:
            percent = int(canary_percent)
        except ValueError:
            percent = 0
    plan = Plan(
        version=version,
        canary_terminals=names,
        canary_percent=percent,
        wave_size=wave_size,
        success_threshold_percent=success_threshold,
        error_threshold_percent=error_threshold,
    )
    try:
        rollout = _create(request, session, settings, plan, user.username)
    except RolloutError as exc:
        _ = language.gettext
        _flash_refusal(request, _("Rollout not created: %(reason)s"), exc, _)
        return RedirectResponse("/rollouts", status.HTTP_303_SEE_OTHER)
    return RedirectResponse(f"/rollouts/{rollout.id}", status.HTTP_303_SEE_OTHER)


def _now(request: Request) -> datetime:
    clock: Callable[[], datetime] = getattr(request.app.state, "clock", crud.utc_now)
    return clock()


@router.get("/rollouts/{rollout_id}", response_model=None, include_in_schema=False)
def rollout_page(rollout_id: int, page: PageDep, session: SessionDep) -> Response:
    rollout = session.get(Rollout, rollout_id)
    if rollout is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, page.language.gettext("No such rollout."))
    targets = progress.targets_of(session, rollout_id)
    context: dict[str, Any] = {
        "rollout": rollout,
        "targets": targets,
        "progress": progress.progress_of(targets),
    }
    return _render_page(page, "rollout.html", context)


@router.get("/terminals/{terminal_id}/rollout", response_model=None, include_in_schema=False)
def terminal_content_fragment(
    terminal_id: str,
    request: Request,
    user: PageUser,
    session: SessionDep,
    language: LanguageDep,
    templates: TemplatesDep,
) -> Response:
    """The terminal's place in its latest rollout (shown inside the terminal page)."""
    _ = language.gettext
    terminal = crud.get_terminal(session, terminal_id)
    if terminal is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _("No such terminal."))
    latest = progress.latest_target(session, terminal_id)
    context: dict[str, Any] = {
        "user": user,
        "terminal": terminal,
        "rollout": None if latest is None else latest[0],
        "target": None if latest is None else latest[1],
        **rollout_labels(language),
    }
    return templates.render(request, language.code, "_rollout_terminal.html", context)


@router.post("/rollouts/{rollout_id}/{action}", response_model=None, include_in_schema=False)
def rollout_action_form(
    rollout_id: int,
    action: str,
    request: Request,
    user: PageUser,
    session: SessionDep,
    language: LanguageDep,
    publisher: PublisherDep,
    reason: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Pause, resume, abort or roll back; a refusal is shown on the rollout's page."""
    _ = language.gettext
    if action not in actions.ACTIONS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _("No such action."))
    check_operator_form(request, user, language, csrf_token)
    try:
        retained = engine.desired_publisher(publisher)
        actions.act(session, rollout_id, action, user.username, retained, reason, _now(request))
    except UnknownRollout as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _("No such rollout.")) from exc
    except RolloutError as exc:
        _flash_refusal(request, _("Not done: %(reason)s"), exc, _)
    return RedirectResponse(f"/rollouts/{rollout_id}", status.HTTP_303_SEE_OTHER)


# --------------------------------------------------------------------------------------------
# JSON API


#: A content version in the API: what a catalog version can be, without control characters,
#: white space at either end (any kind: the plan strips it), or a colon (nothing that reads as
#: an address).
VERSION_PATTERN: Final = r"^[^\s\x00-\x1f\x7f:]([^\x00-\x1f\x7f:]*[^\s\x00-\x1f\x7f:])?$"
ContentVersion = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=VERSION_PATTERN)
]
TerminalId = Annotated[str, StringConstraints(pattern=f"^{TERMINAL_ID_PATTERN}$")]


class _RolloutPlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: ContentVersion
    wave_size: int = Field(default=10, ge=1, le=MAX_WAVE_SIZE)
    success_threshold_percent: int = Field(
        default=90, ge=1, le=100, description="Share of a wave applied before the next starts."
    )
    error_threshold_percent: int = Field(
        default=10, ge=1, le=100, description="Share of a wave failed that halts the rollout."
    )


class RolloutToTerminalsIn(_RolloutPlanIn):
    """A rollout whose canary group is these terminals."""

    canary_terminals: list[TerminalId] = Field(min_length=1, max_length=1000)


class RolloutToShareIn(_RolloutPlanIn):
    """A rollout whose canary group is this share of the fleet."""

    canary_percent: int = Field(ge=1, le=100)


#: A rollout to create: canary terminals or a canary percentage (not both), then waves.
RolloutIn = RolloutToTerminalsIn | RolloutToShareIn


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=200)


class TargetOut(BaseModel):
    terminal_id: str
    wave: int
    state: str
    reason: str | None
    updated_at: datetime

    model_config = {"from_attributes": True}


class WaveOut(BaseModel):
    wave: int
    total: int
    states: dict[str, int]


class _RolloutRow(BaseModel):
    """A rollout's own columns, as the API shows them."""

    id: int
    version: str
    previous_version: str | None
    state: str
    reason: str | None
    success_threshold_percent: int
    error_threshold_percent: int
    wave_size: int
    current_wave: int
    created_by: str
    created_at: datetime
    updated_at: datetime


class RolloutOut(_RolloutRow):
    total: int
    states: dict[str, int]
    waves: list[WaveOut]
    targets: list[TargetOut] | None = None


def _out(
    rollout: Rollout, counts: progress.Progress, targets: list[RolloutTarget] | None = None
) -> RolloutOut:
    row = {name: getattr(rollout, name) for name in _RolloutRow.model_fields}
    return RolloutOut(
        **row,
        total=counts.total,
        states=counts.states,
        waves=[WaveOut(wave=w.wave, total=w.total, states=w.states) for w in counts.waves],
        targets=None if targets is None else [TargetOut.model_validate(t) for t in targets],
    )


def _detail(session: SessionDep, rollout_id: int) -> RolloutOut:
    rollout = session.get(Rollout, rollout_id)
    if rollout is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no rollout {rollout_id}")
    targets = progress.targets_of(session, rollout_id)
    return _out(rollout, progress.progress_of(targets), targets)


API_ERRORS: Final = errors.responses(401, 403)


@router.get("/api/v1/rollouts", responses=API_ERRORS)
def api_list_rollouts(user: ApiUser, session: SessionDep) -> list[RolloutOut]:
    """The latest rollouts, newest first, with their progress per state and per wave."""
    return [_out(rollout, counts) for rollout, counts in progress.list_rollouts(session)]


@router.get("/api/v1/rollouts/{rollout_id}", responses={**API_ERRORS, **errors.responses(404, 422)})
def api_get_rollout(rollout_id: RowIdPath, user: ApiUser, session: SessionDep) -> RolloutOut:
    """One rollout with every target's state and reason."""
    return _detail(session, rollout_id)


@router.post(
    "/api/v1/rollouts",
    status_code=status.HTTP_201_CREATED,
    responses={**API_ERRORS, **errors.responses(400, 404, 409, 422)},
)
def api_create_rollout(
    body: RolloutIn,
    request: Request,
    user: ApiOperator,
    session: SessionDep,
    settings: SettingsDep,
) -> RolloutOut:
    """404: a canary terminal is unknown; 409: a rollout is in progress, or no terminal; 422:
    the version is not published in the fleet's content repository (when it has one)."""
    plan = Plan(
        version=body.version,
        canary_terminals=tuple(getattr(body, "canary_terminals", ())),
        canary_percent=getattr(body, "canary_percent", None),
        wave_size=body.wave_size,
        success_threshold_percent=body.success_threshold_percent,
        error_threshold_percent=body.error_threshold_percent,
    )
    try:
        rollout = _create(request, session, settings, plan, user.username)
    except InvalidPlan as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    except UnknownCanary as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except RolloutError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return _detail(session, rollout.id)


@router.post(
    "/api/v1/rollouts/{rollout_id}/{action}",
    responses={**API_ERRORS, **errors.responses(400, 404, 409, 422)},
)
def api_rollout_action(
    rollout_id: RowIdPath,
    action: actions.Action,
    request: Request,
    user: ApiOperator,
    session: SessionDep,
    publisher: PublisherDep,
    body: ActionIn | None = None,
) -> RolloutOut:
    """Pause, resume, abort or roll back; 409 when the rollout's state does not allow it."""
    reason = body.reason if body is not None else ""
    try:
        retained = engine.desired_publisher(publisher)
        actions.act(session, rollout_id, action, user.username, retained, reason, _now(request))
    except UnknownRollout as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except RolloutError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return _detail(session, rollout_id)
