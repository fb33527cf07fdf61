"""Enrolment: the codes page for operators, the enrolment API for the technician's tool, and
decommissioning.

``POST /api/v1/enrol`` needs no login: the one-time code is the credential. Failed attempts are
throttled per client address, in the database (fleet.throttle): every fleet process counts them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Final

from babel.units import format_unit
from fastapi import APIRouter, Header, HTTPException, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from fleet import enrolment, second_factor, throttle
from fleet.api import errors
from fleet.api.deps import (
    ApiOperator,
    ClockDep,
    FormText,
    Language,
    LanguageDep,
    OperatorForm,
    OperatorPage,
    Page,
    SessionDep,
    SettingsDep,
    TerminalIdPath,
    client_address,
)
from fleet.broker import BrokerError
from fleet.core.config import FleetSettings
from fleet.models import Terminal
from kiosk.contract.agent_file import ContentUrl, MqttHost, Port
from kiosk.contract.enrolment import (
    CaPem,
    EnrolmentAnswer,
    EnrolmentRequest,
    EnrolmentStatus,
    TufRoot,
)

router = APIRouter(tags=["enrolment"])

#: What the fleet itself puts in every answer (broker, CA, content root and address), checked
#: against the contract before a code is spent.
FLEET_PART: Final = TypeAdapter(
    tuple[MqttHost, Port, CaPem | None, TufRoot | None, ContentUrl | None]
)


def enrolment_settings(request: Request) -> enrolment.EnrolmentSettings:
    """``app.state.enrolment_settings`` (tests set it), else read once from the environment."""
    found: enrolment.EnrolmentSettings | None = getattr(
        request.app.state, "enrolment_settings", None
    )
    if found is None:
        found = enrolment.EnrolmentSettings()
        request.app.state.enrolment_settings = found
    return found


def enrolment_policy(
    settings: FleetSettings, options: enrolment.EnrolmentSettings
) -> throttle.Policy:
    """Enrolment codes are throttled like passwords, with their own free failures and window."""
    return throttle.Policy(
        options.max_failures,
        settings.login_delay_base_s,
        settings.login_delay_max_s,
        options.failure_window_s,
    )


def error_message(kind: str, _: Callable[[str], str]) -> str:
    messages = {
        "malformed": _(
            "This is not an enrolment code: it has 16 letters and digits, "
            "like ACDE-FHJK-MNPR-TUVW. Check what you typed."
        ),
        "unknown": _("Unknown enrolment code: check what you typed, or ask for a new code."),
        "expired": _("This enrolment code has expired: ask the operations team for a new one."),
        "used": _(
            "This enrolment code has already been used: ask the operations team for a new one."
        ),
        "bad_terminal_id": _(
            "Invalid terminal identifier: 3 to 40 lower-case letters, digits and dashes."
        ),
        "terminal_exists": _(
            "A terminal with this identifier is already in service: choose another identifier "
            "or decommission the old terminal first."
        ),
        "no_broker": _(
            "The fleet cannot create MQTT credentials (no broker password file configured): "
            "call the operations team."
        ),
        "broker_failed": _(
            "The broker could not be updated: try again, or call the operations team."
        ),
        "rate_limited": _(
            "Too many failed attempts from this address: wait a few minutes and try again."
        ),
        "misconfigured": _(
            "The fleet's broker address, CA certificate or content root cannot be given to a "
            "terminal: call the operations team."
        ),
    }
    return messages.get(kind, kind)


# ---------------------------------------------------------------------------------------------
# Dashboard page


@router.get("/enrolment", response_model=None, include_in_schema=False)
def enrolment_page(page: OperatorPage, session: SessionDep) -> Response:
    return _render(page, session)


def _render(
    page: Page,
    session: Session,
    new_code: str | None = None,
    error: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    _ = page.language.gettext
    state_labels = {"valid": _("valid"), "used": _("used"), "expired": _("expired")}
    codes = [
        (code, state_labels[enrolment.code_state(code, page.now)])
        for code in enrolment.list_codes(session)
    ]
    ttl_h = enrolment_settings(page.request).code_ttl_h
    context: dict[str, Any] = {
        "codes": codes,
        "new_code": new_code,
        "error": error,
        "validity": format_unit(
            round(ttl_h, 1), "duration-hour", length="short", locale=page.language.code
        ),
    }
    if new_code is not None:
        # The whole line the technician types, with this fleet's address as the operator's
        # browser reached it, and the same line as a QR code for a phone.
        command = enroll_command(new_code, str(page.request.base_url))
        context["command"] = command
        context["command_qr"] = second_factor.qr_svg(command, _("QR code of the enrolment command"))
    return page.render("enrolment.html", context, status_code, no_store=True)


def enroll_command(code: str, fleet_address: str) -> str:
    """The technician's command line that enrols a terminal with ``code`` at this fleet."""
    return f"kiosk-provision enroll --code {code} --fleet {fleet_address.rstrip('/')}"


def _optional_float(text: str) -> float | None:
    text = text.strip().replace(",", ".")
    return float(text) if text else None


@router.post("/enrolment", response_model=None, include_in_schema=False)
def create_enrolment_code(
    page: OperatorForm,
    session: SessionDep,
    site: FormText = "",
    commune: FormText = "",
    latitude: FormText = "",
    longitude: FormText = "",
) -> Response:
    _ = page.language.gettext
    ttl = timedelta(hours=enrolment_settings(page.request).code_ttl_h)
    try:
        created = enrolment.create_code(
            session,
            site,
            commune or None,
            _optional_float(latitude),
            _optional_float(longitude),
            page.user.username,
            page.now,
            ttl,
        )
    except enrolment.UnprintableText:
        session.rollback()
        return _render(
            page,
            session,
            error=_(
                "The site name and the commune may not hold a tab, a line break or another "
                "control character: type them on one line."
            ),
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    except ValueError:
        session.rollback()
        return _render(
            page,
            session,
            error=_(
                "A code needs a site name (at most 120 characters), a commune (at most 80) and "
                "both coordinates or neither (latitude −90 to 90, longitude −180 to 180)."
            ),
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    session.commit()
    return _render(page, session, new_code=created.code, status_code=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------------------------
# API


def _refusal(
    kind: str, language: Language, detail: str = "", headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": kind, "detail": error_message(kind, language.gettext)}
    if detail and kind in ("broker_failed", "bad_terminal_id"):
        body["cause"] = detail[:300]
    return JSONResponse(body, status_code=enrolment.ERROR_STATUS.get(kind, 400), headers=headers)


@router.post(
    "/api/v1/enrol",
    response_model=EnrolmentAnswer,
    responses=errors.responses(400, 404, 409, 410, 422, 429, 503),
)
def enrol(
    request: Request,
    body: EnrolmentRequest,
    session: SessionDep,
    settings: SettingsDep,
    language: LanguageDep,
    clock: ClockDep,
) -> Response | EnrolmentAnswer:
    options = enrolment_settings(request)
    now = clock()
    attempt = throttle.Attempt(
        session,
        throttle.Scope.ENROLMENT,
        enrolment_policy(settings, options),
        client_address(request),
        None,
        now,
    )
    wait = attempt.wait_s()
    if wait > 0:
        return _refusal(
            "rate_limited", language, headers={"Retry-After": throttle.retry_after_header(wait)}
        )
    # Check the files first: a fleet that cannot answer fully must not burn the code.
    ca_pem = settings.broker_ca_file.read_text() if settings.broker_ca_file else None
    content_root: str | None = None
    content_base_url: str | None = None
    if settings.content_repo is not None:
        root_file = settings.content_repo / "metadata" / "1.root.json"
        if root_file.is_file():
            content_root = root_file.read_text()
            base = options.public_url or str(request.base_url)
            content_base_url = base.rstrip("/") + "/content"
    host = options.broker_public_host or settings.broker_host
    port = options.broker_public_port or settings.broker_port
    try:
        FLEET_PART.validate_python((host, port, ca_pem, content_root, content_base_url))
    except ValidationError:
        return _refusal("misconfigured", language)
    try:
        done = enrolment.enrol(
            session, body.code, body.terminal_id, body.hardware, now, options.credentials()
        )
    except enrolment.EnrolmentError as error:
        if error.kind in ("malformed", "unknown", "expired", "used"):
            session.rollback()
            attempt.failed()
            session.commit()
        return _refusal(error.kind, language, error.detail)
    return EnrolmentAnswer(
        terminal_id=done.terminal_id,
        site_name=done.site_name,
        commune=done.commune,
        latitude=done.latitude,
        longitude=done.longitude,
        mqtt_host=host,
        mqtt_port=port,
        mqtt_username=done.terminal_id,
        mqtt_password=done.mqtt_password,
        agent_config=enrolment.agent_config_toml(
            done.terminal_id,
            host,
            port,
            body.config_dir.rstrip("/") or "/",
            body.state_dir,
            ca_pem is not None,
            content_base_url,
        ),
        ca_pem=ca_pem,
        content_root=content_root,
        status_token=enrolment.status_token(settings, done.terminal_id),
    )


@router.get(
    "/api/v1/enrol/{terminal_id}/status",
    response_model=EnrolmentStatus,
    responses=errors.responses(401, 404, 422),
)
def enrolled_status(
    terminal_id: TerminalIdPath,
    session: SessionDep,
    settings: SettingsDep,
    x_terminal_token: Annotated[str | None, Header()] = None,
) -> EnrolmentStatus:
    """The terminal's presence, for the technician's tool (its status token from enrolment)."""
    if not enrolment.status_token_matches(settings, terminal_id, x_terminal_token):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown terminal or wrong token")
    terminal = session.get(Terminal, terminal_id)
    if terminal is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown terminal")
    return EnrolmentStatus(
        terminal_id=terminal.id,
        state=terminal.state,
        last_seen_at=terminal.last_seen_at,
        site_name=terminal.site_name,
        commune=terminal.commune,
        decommissioned_at=terminal.decommissioned_at,
    )


class DecommissionOut(BaseModel):
    terminal_id: str
    decommissioned_at: datetime | None


@router.post(
    "/api/v1/terminals/{terminal_id}/decommission",
    response_model=DecommissionOut,
    responses=errors.responses(401, 403, 404, 422, 503),
)
def decommission(
    request: Request,
    terminal_id: TerminalIdPath,
    user: ApiOperator,
    session: SessionDep,
    clock: ClockDep,
) -> DecommissionOut:
    """Take the terminal out of service: its MQTT access stops at once; audited."""
    credentials = enrolment_settings(request).credentials()
    try:
        terminal = enrolment.decommission(session, terminal_id, user.username, clock(), credentials)
    except BrokerError as error:
        session.rollback()
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from error
    if terminal is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "unknown terminal")
    return DecommissionOut(terminal_id=terminal.id, decommissioned_at=terminal.decommissioned_at)
