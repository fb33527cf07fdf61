"""Prometheus ``/metrics``: for an API token of any role, or from the allowed addresses."""

from __future__ import annotations

from ipaddress import ip_address

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response

from fleet import metrics
from fleet.api import errors
from fleet.api.deps import BearerDep, ClockDep, SessionDep, SettingsDep, token_user
from fleet.core.config import FleetSettings
from fleet.metrics import IngestCounters

router = APIRouter(tags=["metrics"])


def _address_allowed(request: Request, settings: FleetSettings) -> bool:
    if request.client is None:
        return False
    try:
        address = ip_address(request.client.host)
    except ValueError:
        return False
    return any(address in network for network in settings.metrics_networks())


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition format.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **errors.responses(401),
    },
)
def read_metrics(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    credentials: BearerDep,
) -> Response:
    """Terminals by state, ingest counts and lag, rejected messages, open alerts, commands."""
    now = clock()
    if credentials is not None:
        token_user(request, session, settings, credentials, now)
    elif not _address_allowed(request, settings):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "an API token is required (or an address in metrics_allowed_addresses)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    ingest = request.app.state.ingest
    counters: IngestCounters | None = getattr(ingest, "counters", None)
    body = metrics.exposition(metrics.collect(session, now, counters))
    return Response(body, media_type=metrics.CONTENT_TYPE)
