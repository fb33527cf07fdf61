"""Dependencies shared by the routes: database session, settings, language, current user.

Over 400 lines because it is the one list of what a route may ask for (the user by role, the
page it renders, the form it checks): many short declarations, read one at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final, Protocol

from fastapi import Depends, Form, HTTPException, Path, Request, status
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from fleet import crud, roles, second_factor, throttle, web_sessions
from fleet.api import formatting
from fleet.api.templating import Templates
from fleet.commands import Publisher
from fleet.core.config import FleetSettings
from fleet.core.security import CSRF_SESSION_KEY, csrf_token_matches, new_csrf_token
from fleet.i18n import fleet_translations, gettext_for, supported_or
from fleet.models import OBSERVATORY_ROLE, ApiToken, User, WebSession
from fleet.roles import Role
from kiosk.contract.mqtt import TERMINAL_ID_PATTERN

LANGUAGE_SESSION_KEY = "lang"
#: The cookie's key for the server-side session's secret (see fleet.web_sessions).
SESSION_SECRET_KEY = "sid"
#: The header API clients echo the session's CSRF token in (the dashboard pages show it).
CSRF_HEADER = "X-CSRF-Token"
#: Who may send commands to terminals.
COMMAND_ROLES = roles.COMMAND_ROLES


class LoginRequired(Exception):
    """Raised by page dependencies when nobody is logged in; the app redirects to /login."""


class SecondFactorSetupRequired(Exception):
    """Raised when the user must set up a second factor first; the app redirects there."""


class BrokerLink(Protocol):
    """What the web side needs to know of the ingest's MQTT connection."""

    @property
    def broker_connected(self) -> bool: ...

    @property
    def broker_down_since(self) -> datetime | None: ...


@dataclass(frozen=True)
class BrokerState:
    """``connected`` is ``None`` when this process runs no ingest."""

    connected: bool | None
    down_since: datetime | None


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.session_factory() as session:
        yield session


def get_settings(request: Request) -> FleetSettings:
    settings: FleetSettings = request.app.state.settings
    return settings


def get_templates(request: Request) -> Templates:
    templates: Templates = request.app.state.templates
    return templates


def get_broker_state(request: Request) -> BrokerState:
    link: BrokerLink | None = request.app.state.ingest
    if link is None:
        return BrokerState(connected=None, down_since=None)
    return BrokerState(connected=link.broker_connected, down_since=link.broker_down_since)


def get_publisher(request: Request) -> Publisher | None:
    """The ingest's MQTT client, or ``None`` when this process runs no ingest."""
    publisher: Publisher | None = request.app.state.ingest
    return publisher


SessionDep = Annotated[Session, Depends(get_db)]
SettingsDep = Annotated[FleetSettings, Depends(get_settings)]
TemplatesDep = Annotated[Templates, Depends(get_templates)]
BrokerDep = Annotated[BrokerState, Depends(get_broker_state)]
PublisherDep = Annotated[Publisher | None, Depends(get_publisher)]


@dataclass(frozen=True)
class Language:
    """The reader's language and its ``_()``."""

    code: str
    gettext: Callable[[str], str]

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """The singular or plural of a message for ``count``, in this language."""
        return fleet_translations(self.code).ngettext(singular, plural, count)


def get_language(request: Request, settings: SettingsDep) -> Language:
    """``?lang=xx`` switches and is remembered in the session; else the fleet's default."""
    default = supported_or(settings.default_language, "fr")
    asked = request.query_params.get("lang")
    if asked is not None and supported_or(asked, "") == asked:
        request.session[LANGUAGE_SESSION_KEY] = asked
    code = supported_or(request.session.get(LANGUAGE_SESSION_KEY), default)
    return Language(code, gettext_for(code))


LanguageDep = Annotated[Language, Depends(get_language)]


def get_csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = new_csrf_token()
        request.session[CSRF_SESSION_KEY] = token
    return token


CsrfTokenDep = Annotated[str, Depends(get_csrf_token)]


def get_clock(request: Request) -> Callable[[], datetime]:
    """The app's clock: ``app.state.clock`` when a test sets one, else the real time."""
    clock: Callable[[], datetime] = getattr(request.app.state, "clock", crud.utc_now)
    return clock


ClockDep = Annotated[Callable[[], datetime], Depends(get_clock)]


def signed_in(
    request: Request, session: Session, settings: FleetSettings, now: datetime, touch: bool = True
) -> tuple[WebSession, User] | None:
    """The live server-side session of the request's cookie and its user, else ``None``.

    ``touch``: the request is the person's (it keeps the session from idling out); the page's
    own live updates are not, or an unattended open dashboard would never time out.
    """
    row = web_sessions.find(
        session, request.session.get(SESSION_SECRET_KEY), now, web_sessions.Limits.of(settings)
    )
    if row is None or row.awaiting_second_factor:
        return None
    user = crud.get_user_by_id(session, row.user_id)
    # A disabled user's sessions are deleted; this check covers a row written meanwhile.
    if user is None or user.disabled:
        return None
    if touch:
        web_sessions.touch(session, row, now)
    return row, user


#: What the role ``observatoire`` may reach: the observatory's pages, and logging out.
#: Their own account too: its password, its sessions, its second factor (which the fleet may
#: require before anything else).
OBSERVATORY_PATHS: Final = ("/observatoire", "/account")
OBSERVATORY_ALSO: Final = frozenset({"/logout"})


def observatory_may_reach(path: str) -> bool:
    return path in OBSERVATORY_ALSO or any(
        path == prefix or path.startswith(prefix + "/") for prefix in OBSERVATORY_PATHS
    )


def _check_role_scope(request: Request, user: User) -> None:
    """The observatory's people read the observatory's pages and nothing else."""
    if user.role == OBSERVATORY_ROLE and not observatory_may_reach(request.url.path):
        if request.url.path == "/" and request.method == "GET":
            # Where the login sends everyone: their home is the observatory.
            raise HTTPException(status.HTTP_303_SEE_OTHER, headers={"Location": "/observatoire"})
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "the observatoire role reads the observatory pages only"
        )


def _session_user(
    request: Request, session: Session, settings: FleetSettings, now: datetime, touch: bool = True
) -> User | None:
    found = signed_in(request, session, settings, now, touch)
    if found is None:
        return None
    row, user = found
    _check_role_scope(request, user)
    request.state.web_session_id = row.id
    return user


def current_web_session_id(request: Request) -> int | None:
    """The id of the request's server-side session (set once its user is known)."""
    found: int | None = getattr(request.state, "web_session_id", None)
    return found


#: Declares the bearer scheme in the OpenAPI document; missing headers are not an error here.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    description="An API token created by an administrator on the /tokens page.",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
#: Set on ``request.state`` when the request was authenticated by an API token.
TOKEN_STATE_KEY = "api_token_id"


def token_user(
    request: Request,
    session: Session,
    settings: FleetSettings,
    credentials: HTTPAuthorizationCredentials,
    now: datetime,
) -> User:
    """The stand-in user of a valid API token (never stored), or 401."""
    token = crud.find_api_token(session, credentials.credentials)
    if token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "unknown or revoked API token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    _note_token_use(session, settings, token, now)
    setattr(request.state, TOKEN_STATE_KEY, token.id)
    user = User(id=None, username=f"token:{token.name}"[:64], role=token.role, disabled=False)
    _check_role_scope(request, user)
    return user


def _note_token_use(
    session: Session, settings: FleetSettings, token: ApiToken, now: datetime
) -> None:
    last = token.last_used_at
    if last is None or (now - last).total_seconds() >= settings.token_last_used_resolution_s:
        token.last_used_at = now
        session.commit()


def get_signed_in_user(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> User:
    """The logged-in user, or a redirect to the login page (second factor set up or not)."""
    user = _session_user(request, session, settings, clock())
    if user is None:
        raise LoginRequired
    return user


def get_page_user(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> User:
    """The logged-in user, or a redirect to the login page (or to the second factor's setup
    when the fleet requires one and this user has none yet)."""
    user = get_signed_in_user(request, session, settings, clock)
    _check_second_factor(user, settings)
    return user


def get_live_user(
    request: Request, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> User:
    """As :func:`get_page_user`, for the dashboard's automatic updates (no idle refresh)."""
    user = _session_user(request, session, settings, clock(), touch=False)
    if user is None:
        raise LoginRequired
    _check_second_factor(user, settings)
    return user


def _second_factor_missing(user: User, settings: FleetSettings) -> bool:
    """The fleet requires a second factor of this user, who has none set up yet."""
    required = second_factor.required_for(user, settings.second_factor_required)
    return required and not user.has_second_factor


def _check_second_factor(user: User, settings: FleetSettings) -> None:
    if _second_factor_missing(user, settings):
        raise SecondFactorSetupRequired


def get_api_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    credentials: BearerDep,
) -> User:
    """The API token's user when an ``Authorization: Bearer`` header is sent, else the
    logged-in user, or 401 for API clients."""
    if credentials is not None:
        return token_user(request, session, settings, credentials, clock())
    user = _session_user(request, session, settings, clock())
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "login required")
    if _second_factor_missing(user, settings):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "set up a second factor first (dashboard: /account)"
        )
    return user


PageUser = Annotated[User, Depends(get_page_user)]
SignedInUser = Annotated[User, Depends(get_signed_in_user)]
LiveUser = Annotated[User, Depends(get_live_user)]
ApiUser = Annotated[User, Depends(get_api_user)]


def may_send_commands(user: User) -> bool:
    return user.role in COMMAND_ROLES


def get_api_operator(request: Request, user: ApiUser) -> User:
    """A logged-in operator or admin whose request carries the session's CSRF token in a header.

    The header proves the request comes from a page of this site (a cross-site form cannot set
    it). Requests with an API token carry no cookie a cross-site page could ride on, so they
    need no CSRF header.
    """
    if not may_send_commands(user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "operator or admin role required")
    if authenticated_by_token(request):
        return user
    submitted = request.headers.get(CSRF_HEADER)
    if not csrf_token_matches(request.session.get(CSRF_SESSION_KEY), submitted):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"missing or wrong {CSRF_HEADER} header for this session"
        )
    return user


ApiOperator = Annotated[User, Depends(get_api_operator)]


def authenticated_by_token(request: Request) -> bool:
    return getattr(request.state, TOKEN_STATE_KEY, None) is not None


def get_admin_page_user(user: PageUser, language: LanguageDep) -> User:
    """The logged-in administrator, or 403."""
    _ = language.gettext
    if user.role != Role.ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, _("Only administrators may manage this."))
    return user


AdminPageUser = Annotated[User, Depends(get_admin_page_user)]


@dataclass(frozen=True)
class Page:
    """A dashboard page being answered: who asks, in which language, at what time.

    :meth:`render` gives every template the user, the CSRF token its forms send back and the
    display clock, so a route only adds what its page is about.
    """

    request: Request
    user: User
    settings: FleetSettings
    language: Language
    templates: Templates
    csrf_token: str
    now: datetime

    @property
    def clock(self) -> formatting.Clock:
        """The time as the page shows it (the fleet's display time zone, the reader's words)."""
        return formatting.Clock(
            self.now,
            formatting.display_zone(self.settings.display_timezone),
            self.language.gettext,
            self.language.code,
        )

    def render(
        self,
        template: str,
        context: dict[str, Any],
        status_code: int = status.HTTP_200_OK,
        no_store: bool = False,
    ) -> Response:
        """The page drawn from ``template``; ``no_store`` when it may show a secret."""
        values = {"user": self.user, "csrf_token": self.csrf_token, "clock": self.clock}
        response = self.templates.render(
            self.request, self.language.code, template, {**values, **context}, status_code
        )
        if no_store:
            response.headers["Cache-Control"] = "no-store"
        return response


@dataclass(frozen=True)
class PageTools:
    """All a :class:`Page` needs but its user."""

    request: Request
    settings: FleetSettings
    language: Language
    templates: Templates
    csrf_token: str
    now: datetime

    def page_for(self, user: User) -> Page:
        return Page(
            self.request,
            user,
            self.settings,
            self.language,
            self.templates,
            self.csrf_token,
            self.now,
        )


def get_page_tools(
    request: Request,
    settings: SettingsDep,
    language: LanguageDep,
    templates: TemplatesDep,
    csrf_token: CsrfTokenDep,
    clock: ClockDep,
) -> PageTools:
    return PageTools(request, settings, language, templates, csrf_token, clock())


PageToolsDep = Annotated[PageTools, Depends(get_page_tools)]


def get_page(user: PageUser, tools: PageToolsDep) -> Page:
    return tools.page_for(user)


#: A page for any signed-in user.
PageDep = Annotated[Page, Depends(get_page)]


def get_signed_in_page(user: SignedInUser, tools: PageToolsDep) -> Page:
    return tools.page_for(user)


#: A page for a signed-in user who may still have to set up their second factor (their
#: account page is where they do it).
SignedInPage = Annotated[Page, Depends(get_signed_in_page)]


def client_address(request: Request) -> str:
    """The client's address: the peer's, or what a trusted proxy said (``trusted_proxies``)."""
    return request.client.host if request.client else "unknown"


def login_attempt(
    request: Request, session: Session, settings: FleetSettings, name: str, now: datetime
) -> throttle.Attempt:
    """A try at the password or second factor of the account ``name``, from this client."""
    return throttle.Attempt(
        session,
        throttle.Scope.LOGIN,
        throttle.login_policy(settings),
        client_address(request),
        throttle.account_key(name),
        now,
    )


def get_admin_page(page: PageDep) -> Page:
    """A page for administrators only (403 for the others)."""
    get_admin_page_user(page.user, page.language)
    return page


#: A page for administrators only.
AdminPage = Annotated[Page, Depends(get_admin_page)]


def get_operator_page(page: PageDep) -> Page:
    """A page for operators and administrators (403 for viewers)."""
    if not may_send_commands(page.user):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            page.language.gettext("Only operators and administrators may do this."),
        )
    return page


#: A page for operators and administrators.
OperatorPage = Annotated[Page, Depends(get_operator_page)]


def check_form_csrf(request: Request, submitted: str) -> None:
    """400 when a form's CSRF token is not the session's."""
    if not csrf_token_matches(request.session.get(CSRF_SESSION_KEY), submitted):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "missing or wrong CSRF token: reload the page"
        )


#: A text field of an HTML form (empty when absent: the route says what is missing).
FormText = Annotated[str, Form()]
#: The CSRF token a page's form sends back (checked with :func:`check_form_csrf`).
CsrfForm = Annotated[str, Form(alias="csrf_token")]


def get_signed_in_form(page: SignedInPage, form_csrf_token: CsrfForm = "") -> Page:
    """The page a signed-in user's form was sent from, with this session's CSRF token."""
    check_form_csrf(page.request, form_csrf_token)
    return page


def get_admin_form(page: AdminPage, form_csrf_token: CsrfForm = "") -> Page:
    """An administrator's form (403 for the others), with this session's CSRF token."""
    check_form_csrf(page.request, form_csrf_token)
    return page


def get_operator_form(page: OperatorPage, form_csrf_token: CsrfForm = "") -> Page:
    """An operator's or administrator's form (403 for viewers), with the CSRF token."""
    check_form_csrf(page.request, form_csrf_token)
    return page


#: A form sent by a signed-in user (who may still have to set up their second factor).
SignedInForm = Annotated[Page, Depends(get_signed_in_form)]
#: A form sent by an administrator.
AdminForm = Annotated[Page, Depends(get_admin_form)]
#: A form sent by an operator or an administrator.
OperatorForm = Annotated[Page, Depends(get_operator_form)]


#: A terminal id in an API path: refused (422) unless it can be one.
TerminalIdPath = Annotated[
    str,
    Path(
        pattern=f"^{TERMINAL_ID_PATTERN}$",
        description="The terminal's id: 3 to 40 lower-case letters, digits and dashes.",
    ),
]
#: A row id in an API path: a positive SQL integer.
RowIdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
