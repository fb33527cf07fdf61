"""Done when (issue 17): a month of sessions from 50 terminals, through the real local protocol
and ingest, gives valid Data Packages, every cell at or above the threshold or hidden, and the
attacker recovers nothing.

Each terminal is the agent's real UI link server (``kiosk.agent.uilink``) with the kiosk's real
client (``kiosk.agentlink``) speaking to it over its Unix socket; the events the server emits
are numbered and encoded as the agent's session does (``kiosk.contract.mqtt.Event``) and go through
the fleet's ingest (``fleet.ingest.handler.handle_batch``) into its database. Only the clock is
scripted: each session's end is a moment of February 2027 instead of now.
"""

from __future__ import annotations

import random
import tempfile
import threading
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from frictionless import Package

from fleet import opendata
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.ingest.handler import Received, handle_batch
from fleet.models import Terminal
from kiosk.agent.uilink import UiLinkServer
from kiosk.agentlink import AgentLink, new_session_id
from kiosk.contract.mqtt import Channel, Event, HelpUsage, Scalar, SessionAssist, topic_for
from tests.helpers import wait_until

from . import attacker
from .test_opendata import FEBRUARY

TERMINALS = 50
SITES = 14
THRESHOLD = 11
PARIS = ZoneInfo("Europe/Paris")


class ScriptedAgent:
    """The agent's side of one terminal: its UI link, and its events numbered and encoded."""

    def __init__(self, terminal_id: str, socket_path: Path) -> None:
        self.terminal_id = terminal_id
        self.ends: deque[datetime] = deque()
        self.messages: list[Received] = []
        self.seq = 0
        self._lock = threading.Lock()
        self.server = UiLinkServer(
            socket_path, on_session_event=self._event, terminal_id=terminal_id
        )

    def _event(self, kind: str, data: dict[str, Scalar]) -> None:
        with self._lock:
            if kind != "session_ended":
                return
            at = self.ends.popleft()
            self.seq += 1
            event = Event(seq=self.seq, sent_at=at, kind=kind, data=data)
            topic = topic_for(self.terminal_id, Channel.EVENT)
            self.messages.append(Received(topic, event.to_bytes(), at + timedelta(seconds=2)))

    def count(self) -> int:
        with self._lock:
            return len(self.messages)


def script_month(agent: ScriptedAgent, link: AgentLink, rng: random.Random, busy: float) -> int:
    tiles, _ = opendata.catalog_tiles()
    sent = 0
    start = datetime(2027, 2, 1, tzinfo=UTC)
    for day in range(28):
        for _ in range(rng.randint(0, round(2 * busy))):
            at = start + timedelta(
                days=day,
                hours=rng.choice((4, 6, 8, 9, 10, 11, 14, 15, 17, 19, 21)),
                minutes=rng.randint(0, 59),
            )
            session_id = new_session_id()
            used = rng.sample(tiles[:10], rng.choice((1, 1, 1, 2)))
            agent.ends.append(at)
            assert link.session_started(session_id, used[0])
            assert link.session_ended(
                session_id,
                float(rng.randint(30, 1200)),
                used,
                rng.choice(("button", "button", "idle", "max_length")),
                HelpUsage(guide_opened=int(rng.random() < 0.15), numbers_shown=0),
                SessionAssist(
                    language=rng.choice(("fr", "fr", "fr", "fr", "en", "ar", "es", "uk")),
                    read_aloud=rng.random() < 0.1,
                    large_text=rng.random() < 0.12,
                    high_contrast=rng.random() < 0.05,
                ),
            )
            sent += 1
            if sent % 25 == 0:
                # The link queues 64 lines at most, as on a terminal: let the agent catch up.
                wait_until(lambda n=sent: agent.count() == n, 10, "the sessions reported")
    return sent


def test_a_month_of_fifty_terminals(settings: FleetSettings, tmp_path: Path) -> None:
    rng = random.Random(2027)
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    with factory() as session:
        for index in range(TERMINALS):
            site = index % SITES
            session.add(
                Terminal(
                    id=f"bdx-{index:03d}",
                    state="online",
                    state_since=datetime(2027, 2, 1, tzinfo=UTC),
                    created_at=datetime(2027, 1, 1, tzinfo=UTC),
                    versions={},
                    commune=f"Commune {site:02d}",
                    qpv_code="QN03301M" if site in (0, 1) else None,
                )
            )
        session.commit()
    sockets = Path(tempfile.mkdtemp(prefix="obs-", dir="/tmp"))
    messages: list[Received] = []
    total = 0
    for index in range(TERMINALS):
        agent = ScriptedAgent(f"bdx-{index:03d}", sockets / f"{index}.sock")
        agent.server.start()
        try:
            with AgentLink(
                sockets / f"{index}.sock", ui_version="1.0.0", retry_interval_s=0.05
            ) as link:
                wait_until(lambda ui=link: ui.connected, 5, "the UI to connect")
                sent = script_month(agent, link, rng, busy=rng.choice((1.5, 3, 5)))
                wait_until(lambda a=agent, n=sent: a.count() == n, 30, "every session reported")
        finally:
            agent.server.stop()
        total += sent
        messages.extend(agent.messages)
    with factory() as session:
        for start in range(0, len(messages), 500):
            outcomes = handle_batch(session, messages[start : start + 500])
            assert all(o.kind == "stored" for o in outcomes), outcomes[:3]
        folder = tmp_path / "open"
        written = opendata.publish(
            session, folder, FEBRUARY.last, PARIS, THRESHOLD, since=FEBRUARY.first
        )
        stored = len(opendata.sessions(session, FEBRUARY.first, FEBRUARY.last, PARIS))
    engine.dispose()
    assert stored == total > 3000
    assert sorted(p.label for p in written) == [
        "2027-02",
        "2027-S05",
        "2027-S06",
        "2027-S07",
        "2027-S08",
    ]
    for period in written:
        report = Package(str(folder / period.label / "datapackage.json")).validate()
        assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    cells = attacker.read(folder)
    assert any(c.value is None for c in cells)
    assert any(c.value is not None and c.value >= THRESHOLD for c in cells)
    assert all(c.value is None or c.value == 0 or c.value >= THRESHOLD for c in cells)
    assert attacker.margin_attack(cells) == {}
    assert attacker.linear_attack(cells) == {}
    # The reading aids and the language came through the contract.
    langs = {c.category for c in cells if c.table == "langues" and c.value}
    assert "fr" in langs
    assert any(c.table == "accessibilite" and c.value for c in cells)
