"""Server-sent events: the dashboard's summary, plan and table, pushed when they change.

Each open dashboard costs a few aggregate queries a second (a fingerprint of the tables); the
partial is rendered only when the fingerprint moves, or every ``REFRESH_S`` so that "5 s ago"
keeps reading true. A comment line every ``KEEPALIVE_S`` keeps proxies from closing the stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from fleet.api.deps import (
    Language,
    LanguageDep,
    LiveUser,
    SessionDep,
    SettingsDep,
    get_broker_state,
    get_clock,
    signed_in,
)
from fleet.api.overview.changes import Fingerprint, fingerprint
from fleet.api.overview.context import live_context
from fleet.api.overview.table import TableQuery
from fleet.api.templating import Templates
from fleet.core.config import FleetSettings

#: HTML pages: out of the API's OpenAPI document.
router = APIRouter(tags=["dashboard"], include_in_schema=False)

POLL_S: Final = 1.0
KEEPALIVE_S: Final = 15.0
REFRESH_S: Final = 30.0
#: How long the browser waits before reconnecting after the stream breaks.
RETRY_MS: Final = 2000
EVENT_NAME: Final = "terminals"


def format_event(name: str, data: str) -> str:
    """One SSE message; every line of ``data`` gets its own ``data:`` field."""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {name}\n{lines}\n"


class TerminalStream:
    """The state of one client's stream: what it was last sent and when."""

    def __init__(
        self,
        request: Request,
        settings: FleetSettings,
        language: Language,
    ) -> None:
        self.request = request
        self.settings = settings
        self.language = language
        self.query = TableQuery.from_params(request.query_params)
        factory: sessionmaker[Session] = request.app.state.session_factory
        self.session_factory = factory
        templates: Templates = request.app.state.templates
        self.templates = templates

    def still_signed_in(self) -> bool:
        """Whether the session that opened the stream is still open (logout elsewhere, an
        administrator ending it, the idle timeout: the stream stops)."""
        with self.session_factory() as session:
            now = get_clock(self.request)()
            return signed_in(self.request, session, self.settings, now, touch=False) is not None

    def current_fingerprint(self) -> Fingerprint:
        with self.session_factory() as session:
            return (*fingerprint(session), get_broker_state(self.request))

    def render(self) -> str:
        with self.session_factory() as session:
            broker = get_broker_state(self.request)
            context = live_context(session, self.settings, self.language, broker, self.query)
            response = self.templates.render(
                self.request, self.language.code, "partial_terminals.html", context
            )
        return bytes(response.body).decode()

    async def events(self) -> AsyncIterator[str]:
        yield f"retry: {RETRY_MS}\n\n"
        last: Fingerprint | None = None
        last_sent = last_beat = time.monotonic()
        while not await self.request.is_disconnected():
            if not await run_in_threadpool(self.still_signed_in):
                return
            current = await run_in_threadpool(self.current_fingerprint)
            now = time.monotonic()
            if current != last or now - last_sent >= REFRESH_S:
                html = await run_in_threadpool(self.render)
                yield format_event(EVENT_NAME, html)
                last, last_sent, last_beat = current, now, now
            elif now - last_beat >= KEEPALIVE_S:
                yield ": keep-alive\n\n"
                last_beat = now
            await asyncio.sleep(POLL_S)


@router.get("/events/terminals", response_model=None)
async def terminal_events(
    request: Request,
    user: LiveUser,
    settings: SettingsDep,
    language: LanguageDep,
    session: SessionDep,
) -> StreamingResponse:
    """The dashboard's live parts, as ``terminals`` events (HTML of the partial)."""
    del user  # only the login matters here
    # The login check is done: give the connection back rather than hold it for hours.
    session.close()
    stream = TerminalStream(request, settings, language)
    return StreamingResponse(
        stream.events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
