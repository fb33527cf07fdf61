"""No English left in the French pages: every GET route, with every alert kind and reason.

The fleet is filled so that every page has something to say: an online, a lost and an offline
terminal (with health reports, events of every known kind), an alert of every kind (``down``
both lost and offline), a command refused for every reason of the contract and one waiting for
a lost terminal, a halted rollout with its reasons, a maintenance window. Each page is read as
a person would (:mod:`tests.fleet.english`) and must hold neither an English word nor an
English message of the catalog.

Exempt, because they are not pages for a person: every answer in JSON, CSV or plain text (the
API under ``/api/v1`` including the observatory's CSV, ``/metrics`` in Prometheus' text format,
``/healthz``, and ``/login/sso`` with its callback, a JSON 404 while single sign-on is not set up).
The fleet serves no API documentation page (``docs_url=None``).
"""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from fleet import crud, rollouts
from fleet.alerts.labels import english_summary
from fleet.alerts.rules import ALERT_KINDS
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.main import create_app
from fleet.models import (
    Alert,
    CommandRecord,
    EventRecord,
    MaintenanceWindow,
    Rollout,
    RolloutTarget,
    Terminal,
)
from kiosk.contract.mqtt import Channel, Reason, topic_for
from tests.helpers import log_in

from .conftest import health_payload, status_payload
from .english import english_in, readable_text, without_names
from .pages import Fleet, fill, get_paths
from .test_command_web import store
from .test_severity_words import SAMPLE_DETAILS

LOST = "bdx-page-lost"
OFFLINE = "bdx-page-off"


#: The names pages show as they are: terminal ids, the admin's name, the rollout's version.
def command_lines() -> tuple[str, ...]:
    """Every ``fleet ...`` command (leaves only: ``fleet terminals`` alone could hide English),
    as pages may quote them: a command is no English."""
    import typer.main

    from fleet.cli import app

    lines: list[str] = []

    def walk(command: object, prefix: str) -> None:
        subcommands: dict[str, object] = getattr(command, "commands", {})
        if not subcommands:
            lines.append(prefix)
        for name, sub in subcommands.items():
            walk(sub, f"{prefix} {name}")

    walk(typer.main.get_command(app), "fleet")
    return tuple(line for line in lines if " " in line)


NAMES = (LOST, OFFLINE, "bdx-page-001", "rollout-engine", "admin", "v2", *command_lines())
EVENT_KINDS = ("session_ended", "wipe_done", "ui_crash", "content_applied", "content_failed")


def fill_everything(settings: FleetSettings) -> Fleet:
    fleet = fill(settings)
    for terminal_id, state in ((LOST, "lost"), (OFFLINE, "offline")):
        store(settings, topic_for(terminal_id, Channel.STATUS), status_payload("online"))
        store(settings, topic_for(terminal_id, Channel.HEALTH), health_payload(cpu=95.0))
        store(settings, topic_for(terminal_id, Channel.STATUS), status_payload(state))
    store(settings, topic_for(fleet.terminal_id, Channel.HEALTH), health_payload())
    engine = make_engine(settings.database_url)
    now = crud.utc_now()
    with make_session_factory(engine)() as session:
        for terminal in session.scalars(select(Terminal)):
            terminal.state_since = now - timedelta(minutes=4)
            terminal.last_seen_at = now - timedelta(minutes=4)
            terminal.health_at = now - timedelta(minutes=12)
            terminal.site_name = "Mairie de Bègles"
            terminal.commune = "Bègles"
        for index, kind in enumerate(EVENT_KINDS):
            session.add(
                EventRecord(
                    terminal_id=fleet.terminal_id,
                    seq=1000 + index,
                    kind=kind,
                    sent_at=now,
                    received_at=now,
                    data={},
                )
            )
        down_since = (now - timedelta(minutes=4)).isoformat()
        for kind in ALERT_KINDS:
            where = {"down": LOST, "flapping": LOST}.get(kind, fleet.terminal_id)
            details = {**SAMPLE_DETAILS[kind], **({"since": down_since} if kind == "down" else {})}
            add_alert(session, where, kind, details)
        add_alert(session, OFFLINE, "down", {"state": "offline", "since": down_since})
        for index, reason in enumerate(Reason):
            session.add(command(f"r{index}", fleet.terminal_id, "refused", reason.value))
        session.add(command("waiting", LOST, "pending", None))
        rollout = session.get(Rollout, fleet.rollout_id)
        assert rollout is not None
        rollout.state = "halted"
        rollout.reason = rollouts.HALTED_CANARY % {"failed": 1, "total": 1, "threshold": 10}
        for target in session.scalars(select(RolloutTarget)):
            target.state = "failed"
            target.reason = rollouts.NO_REASON
        session.add(
            MaintenanceWindow(
                terminal_id=fleet.terminal_id,
                starts_at=now,
                ends_at=now + timedelta(hours=1),
                reason="",
                created_by="admin",
            )
        )
        session.commit()
    engine.dispose()
    return fleet


def add_alert(session: object, terminal_id: str, kind: str, details: dict[str, object]) -> None:
    session.add(  # type: ignore[attr-defined]
        Alert(
            terminal_id=terminal_id,
            kind=kind,
            state="open",
            active_key=f"{terminal_id}:{kind}",
            opened_at=crud.utc_now() - timedelta(minutes=2),
            summary=english_summary(kind, details),
            details=details,
        )
    )


def command(command_id: str, terminal_id: str, state: str, reason: str | None) -> CommandRecord:
    now = crud.utc_now()
    return CommandRecord(
        id=command_id,
        terminal_id=terminal_id,
        name="reboot",
        args={},
        issued_at=now,
        expires_at=now + timedelta(minutes=5),
        issued_by="admin",
        state=state,
        reason=reason,
        published_at=now,
        updated_at=now,
    )


def test_no_french_page_holds_english(settings: FleetSettings) -> None:
    fleet = fill_everything(settings)
    app = create_app(settings, start_ingest=False)
    pages: dict[str, str] = {}
    exempt: dict[str, str] = {}
    with TestClient(app) as client:
        pages["/login (signed out)"] = client.get("/login").text
        assert log_in(client).status_code == 303
        paths = [*get_paths(fleet), f"/terminals/{LOST}", f"/terminals/{OFFLINE}"]
        for path in paths:
            response = client.get(path)
            assert response.status_code < 500, path
            kind = response.headers.get("content-type", "")
            if kind.startswith("text/html"):
                pages[path] = response.text
            else:
                exempt[path] = kind
    # Every page a person reads was read, lost and offline terminals included.
    assert {"/", "/alerts", f"/terminals/{LOST}", "/rollouts", "/audit"} <= set(pages)
    assert len(pages) >= 12, sorted(pages)
    # Files, not pages: data for programs, and pictures shown inside a page (a terminal's
    # screen, the observatory's charts; their words are checked on that page).
    machine = ("application/json", "text/csv", "text/plain", "image/png", "image/svg+xml")
    odd = {path: kind for path, kind in exempt.items() if not kind.startswith(machine)}
    assert not odd, odd
    assert {"/metrics", "/healthz", "/api/v1/terminals"} <= set(exempt)
    # The fixture did put every kind and reason on the pages.
    alerts = readable_text(pages["/alerts"])
    assert "perdue : la connexion est tombée" in alerts
    assert "hors ligne : l’agent" in alerts
    assert pages["/alerts"].count('data-kind="') == len(ALERT_KINDS) + 1
    assert "Relevés périmés" in readable_text(pages[f"/terminals/{LOST}"])
    found = {}
    for path, html in pages.items():
        text = readable_text(html)
        leftovers = english_in(text, NAMES)
        if leftovers:
            found[path] = [
                *leftovers.messages,
                *(in_context(word, without_names(text, NAMES)) for word in leftovers.words),
            ]
    assert not found, "\n".join(f"{path}: {where}" for path, where in found.items())


def in_context(word: str, text: str) -> str:
    at = re.search(rf"\b{re.escape(word)}\b", text)
    return word if at is None else f"{word!r} in …{text[max(at.start() - 40, 0) : at.end() + 40]}…"
