"""Every GET route of the fleet, with real values for its path: for tests that visit them all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from fastapi.routing import APIRoute

from fleet import rollouts
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.main import ROUTERS
from fleet.models import CommandOutputRecord, CommandRecord
from kiosk.contract.mqtt import Channel, topic_for

from .conftest import status_payload
from .test_command_web import store

TERMINAL = "bdx-page-001"
OBSERVATORY_PERIOD = "2027-02"
#: Routes that never end by themselves (visited with a stream elsewhere).
STREAMS = frozenset({"/events/terminals"})


#: The picture of the terminal's screen that ``fill`` stores (a real 1×1 PNG).
SCREEN_COMMAND = "0123456789abcdef0123456789abcdef"
ONE_PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b55"
    "0000000a49444154789c636000000002000148afa4710000000049454e44ae426082"
)


@dataclass(frozen=True)
class Fleet:
    """A fleet with something on every page: a terminal, a rollout, a picture of a screen."""

    terminal_id: str
    rollout_id: int
    screen_command_id: str = SCREEN_COMMAND


def fill(settings: FleetSettings) -> Fleet:
    store(settings, topic_for(TERMINAL, Channel.STATUS), status_payload("online"))
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        rollout = rollouts.create_rollout(
            session, rollouts.Plan(version="v2", canary_terminals=(TERMINAL,)), "admin"
        )
        rollout_id = rollout.id
        now = datetime.now(UTC)
        session.add(
            CommandRecord(
                id=SCREEN_COMMAND,
                terminal_id=TERMINAL,
                name="screenshot",
                args={},
                issued_at=now,
                expires_at=now + timedelta(minutes=15),
                issued_by="admin",
                state="done",
                updated_at=now,
            )
        )
        session.flush()
        session.add(
            CommandOutputRecord(
                command_id=SCREEN_COMMAND,
                terminal_id=TERMINAL,
                kind="screenshot",
                received_at=now,
                lines=None,
                png=ONE_PIXEL_PNG,
            )
        )
        session.commit()
    engine.dispose()
    return Fleet(TERMINAL, rollout_id)


def get_paths(fleet: Fleet) -> list[str]:
    """Every GET route of the app with its path parameters filled in, streams aside."""
    values = {
        "terminal_id": fleet.terminal_id,
        "rollout_id": str(fleet.rollout_id),
        "command_id": fleet.screen_command_id,
        # The observatory's published files (a period, one of its files, one of its charts).
        "periode": OBSERVATORY_PERIOD,
        "fichier": "sessions.csv",
        "graphique": "evolution.svg",
    }
    queries = {
        "/api/v1/observatory": f"?from={date.today()}&to={date.today()}",
        "/availability.csv": f"?from={date.today()}&to={date.today()}",
    }
    paths = []
    for route in (route for router in ROUTERS for route in router.routes):
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        if route.path in STREAMS:
            continue
        path = route.path
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, f"no value for a parameter of {route.path}"
        paths.append(path + queries.get(route.path, ""))
    return sorted(paths)
