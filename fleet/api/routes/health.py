"""Liveness for load balancers and monitoring; no login."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from fleet.api.deps import BrokerDep, SessionDep

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """``status`` is ``degraded`` while the broker is down: pages work, reports do not arrive."""

    status: Literal["ok", "degraded", "error"]
    database: Literal["ok", "error"]
    broker: Literal["connected", "down", "disabled"]
    broker_down_since: datetime | None


@router.get(
    "/healthz",
    responses={503: {"model": Health, "description": "The database does not answer."}},
)
def healthz(session: SessionDep, broker: BrokerDep, response: Response) -> Health:
    try:
        session.execute(text("SELECT 1"))
        database: Literal["ok", "error"] = "ok"
    except SQLAlchemyError:
        logger.exception("Health check: the database does not answer; /healthz returns 503.")
        database = "error"
    broker_state: Literal["connected", "down", "disabled"] = (
        "disabled" if broker.connected is None else "connected" if broker.connected else "down"
    )
    if database == "error":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        overall: Literal["ok", "degraded", "error"] = "error"
    else:
        overall = "degraded" if broker_state == "down" else "ok"
    return Health(
        status=overall,
        database=database,
        broker=broker_state,
        broker_down_since=broker.down_since,
    )
