"""One shape for every error answer: ``{"error": code, "detail": sentence}``.

``error`` is a short code for programs (``not_found``, ``rate_limited``, an enrolment refusal's
kind...), ``detail`` a sentence for the person reading it; a refused request body or parameter
adds ``fields`` (where and what), an enrolment refusal may add ``cause``. FastAPI's own answers
(404 of an unknown path, 405, 422 of a request that does not fit its declaration) are given the
same shape, and :func:`responses` documents it in the OpenAPI document of each route.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

#: The error code of each status, when the route gives none of its own.
CODES: Final = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    422: "invalid_request",
    429: "rate_limited",
    502: "bad_gateway",
    503: "unavailable",
}
#: What each status means across the API (each route's own description may say more).
DESCRIPTIONS: Final = {
    400: "The request cannot be understood.",
    401: "No credentials, or unknown or revoked ones (an API token, or the dashboard's login).",
    403: "Authenticated, but this role may not do it (or the CSRF header is missing).",
    404: "No such object.",
    405: "This method is not allowed on this path (see the Allow header).",
    409: "The object is not in a state that allows it.",
    410: "The object existed but may no longer be used.",
    422: "The request does not fit this operation's declaration, or breaks its rules.",
    429: "Too many failed attempts from this address: wait Retry-After seconds.",
    503: "A service the fleet needs (the database, the MQTT broker) is unavailable.",
}
MAX_FIELDS: Final = 20
#: Paths of programs, never pages: their errors stay JSON even for a browser.
NOT_PAGES: Final = ("/api/", "/metrics", "/healthz", "/openapi.json", "/docs", "/static/")


class FieldProblem(BaseModel):
    """Where a request was refused, and why."""

    loc: list[str | int] = Field(description="Where: body, query, path or header, then names.")
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every error answer of the API."""

    error: str = Field(description="A short code for programs, e.g. not_found, rate_limited.")
    detail: str = Field(description="What went wrong, in a sentence for a person.")
    fields: list[FieldProblem] | None = Field(
        default=None, description="For a refused request: each parameter or field at fault."
    )
    cause: str | None = Field(default=None, description="A technical cause, when one helps.")


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route that may answer these error statuses."""
    return {code: {"model": ErrorOut, "description": DESCRIPTIONS[code]} for code in codes}


def error_body(status_code: int, detail: object, code: str | None = None) -> dict[str, Any]:
    text = detail if isinstance(detail, str) else HTTPStatus(status_code).phrase
    return {"error": code or CODES.get(status_code, "error"), "detail": text}


def _allowed_methods(routes: Iterable[BaseRoute], request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in routes:
        route_methods = getattr(route, "methods", None)
        # PARTIAL: the path matches, the method does not.
        if route_methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= set(route_methods)
    return sorted(methods)


def wants_a_page(request: Request) -> bool:
    """A browser navigating to a dashboard address (``Accept: text/html``), not a program."""
    return (
        request.method in ("GET", "HEAD")
        and not request.url.path.startswith(NOT_PAGES)
        and "text/html" in request.headers.get("accept", "")
    )


def error_page(
    request: Request, status_code: int, detail: object, headers: dict[str, str]
) -> Response:
    """The error as a page of the dashboard, in the reader's language (with a title, a
    heading and a way back) rather than JSON shown bare by the browser."""
    from fleet.api.deps import get_language

    language = get_language(request, request.app.state.settings)
    _ = language.gettext
    headings = {404: _("Page not found"), 403: _("Not allowed")}
    heading = headings.get(status_code, _("Something went wrong"))
    phrase = HTTPStatus(status_code).phrase
    if isinstance(detail, str) and detail != phrase:
        text = _(detail)
    elif status_code == 404:
        text = _("This address leads to no page of the fleet.")
    else:
        text = phrase
    context = {"heading": heading, "detail": text, "status_code": status_code}
    response = request.app.state.templates.render(
        request, language.code, "error.html", context, status_code=status_code
    )
    response.headers.update(headers)
    return response  # type: ignore[no-any-return]


def install(app: FastAPI, routes: Callable[[], Iterable[BaseRoute]]) -> None:
    """Give every error answer of ``app`` the one shape; ``routes`` lists the app's routes."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            allowed = _allowed_methods(routes(), request)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        if wants_a_page(request):
            return error_page(request, exc.status_code, exc.detail, headers)
        return JSONResponse(
            error_body(exc.status_code, exc.detail), exc.status_code, headers=headers or None
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "loc": [part for part in error.get("loc", ()) if isinstance(part, str | int)],
                "msg": str(error.get("msg", "")),
                "type": str(error.get("type", "")),
            }
            for error in exc.errors()[:MAX_FIELDS]
        ]
        where = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
            for problem in problems[:3]
        )
        body = error_body(422, f"The request was refused: {where}" if where else "Invalid request")
        body["fields"] = problems
        return JSONResponse(body, 422)
