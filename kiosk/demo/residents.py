"""A stand-in for the kiosk UI on a demo terminal, with simulated residents using it.

It speaks the real local protocol to its agent through the kiosk's own client
(:class:`kiosk.agentlink.AgentLink`): heartbeats every few seconds, and residents who open a
tile of the shipped catalog, stay a while, and leave (the "finish" button, or the idle
countdown), each visit followed by a successful wipe. A fleet ``wipe_session`` command ends the
open visit at once, as the real kiosk does. Nothing here touches the network: the agent reports
what it hears, as it does on a terminal.

Run by ``make demo`` (:mod:`fleet.demo`) for every terminal but the one showing the real kiosk:
``python -m kiosk.demo.residents --socket PATH --seed TERMINAL_ID --between-s S --visit-s S``
(how busy the terminal is, the demo's choice).
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kiosk import __version__
from kiosk.agentlink import AgentLink, new_session_id
from kiosk.contract.catalog import default_bundle_dir, load_catalog
from kiosk.contract.local import (
    AgentMessage,
    ScreenshotPart,
    ScreenshotRequest,
    SessionEndReason,
    WipeNow,
)

log = logging.getLogger(__name__)

#: As often as the real kiosk (its ``heartbeat_interval_s`` default).
HEARTBEAT_S: Final = 5.0


@dataclass(frozen=True)
class Pace:
    """How busy the terminal is: mean seconds between two residents, and of one visit."""

    between_s: float
    visit_s: float


class SimulatedResidents:
    """Heartbeats and resident visits over an :class:`AgentLink`, until :meth:`stop`."""

    def __init__(self, link: AgentLink, tiles: Sequence[str], seed: str, pace: Pace) -> None:
        if not tiles:
            raise ValueError("the catalog has no tile")
        self._link = link
        self._tiles = list(tiles)
        # The first tiles of the catalog are the most used, as on a real terminal.
        self._weights = [1.0 / (rank + 1) for rank in range(len(self._tiles))]
        self._random = random.Random(seed)
        self._pace = pace
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._visit: tuple[str, float, list[str]] | None = None
        self.sessions_ended = 0

    def on_message(self, message: AgentMessage) -> None:
        """The agent's orders (background thread): a wipe ends the visit now."""
        if isinstance(message, WipeNow) and not self._end_visit("command"):
            # No visit open: the kiosk still answers with a fresh verdict on its profile.
            self._link.wipe_result(ok=True, checks_failed=[])
        elif isinstance(message, ScreenshotRequest):
            # A stand-in has no screen to show: it refuses as the kiosk does during a visit,
            # and says it has no picture otherwise.
            with self._lock:
                visiting = self._visit is not None
            self._link.send(
                ScreenshotPart(
                    request_id=message.request_id,
                    refused="session_open" if visiting else "failed",
                )
            )

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        """Heartbeats, and residents coming and going, until :meth:`stop`."""
        next_heartbeat = 0.0
        # The first resident comes soon, so that a fresh demo has figures within a minute.
        next_change = time.monotonic() + self._random.uniform(0.1, 0.3) * self._pace.between_s
        while not self._stopping.is_set():
            now = time.monotonic()
            if now >= next_heartbeat:
                with self._lock:
                    open_now = self._visit is not None
                self._link.heartbeat(session_open=open_now)
                next_heartbeat = now + HEARTBEAT_S
            if now >= next_change:
                with self._lock:
                    visiting = self._visit is not None
                if visiting:
                    reason: SessionEndReason = "button" if self._random.random() < 0.8 else "idle"
                    self._end_visit(reason)
                    next_change = now + self._random.expovariate(1.0 / self._pace.between_s)
                else:
                    self._start_visit()
                    visit_s = self._pace.visit_s
                    next_change = now + max(visit_s / 4, self._random.gauss(visit_s, visit_s / 3))
            self._stopping.wait(max(0.05, min(next_heartbeat, next_change) - time.monotonic()))
        self._end_visit("idle")

    def _start_visit(self) -> None:
        tiles = self._random.choices(self._tiles, self._weights, k=1)
        # Now and then a resident opens a second service in the same visit.
        if self._random.random() < 0.2:
            tiles.append(self._random.choice(self._tiles))
        session_id = new_session_id()
        with self._lock:
            self._visit = (session_id, time.monotonic(), tiles)
        for tile in tiles:
            self._link.session_started(session_id, tile)

    def _end_visit(self, reason: SessionEndReason) -> bool:
        """End the open visit and report its wipe; False when none was open."""
        with self._lock:
            visit, self._visit = self._visit, None
        if visit is None:
            return False
        session_id, started, tiles = visit
        self._link.session_ended(session_id, round(time.monotonic() - started, 1), tiles, reason)
        self._link.wipe_result(ok=True, checks_failed=[])
        self.sessions_ended += 1
        return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.demo.residents", description=__doc__)
    parser.add_argument("--socket", type=Path, required=True, help="the agent's local socket")
    parser.add_argument("--seed", required=True, help="makes each terminal's residents its own")
    parser.add_argument("--between-s", type=float, required=True)
    parser.add_argument("--visit-s", type=float, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    tiles = [tile.id for tile in load_catalog(default_bundle_dir()).tiles]
    holder: list[SimulatedResidents] = []
    link = AgentLink(
        args.socket,
        ui_version=f"{__version__}+demo",
        on_message=lambda message: holder[0].on_message(message) if holder else None,
    )
    residents = SimulatedResidents(link, tiles, args.seed, Pace(args.between_s, args.visit_s))
    holder.append(residents)
    signal.signal(signal.SIGTERM, lambda *_: residents.stop())
    signal.signal(signal.SIGINT, lambda *_: residents.stop())
    with link:
        residents.run()
    log.info("stopped after %d visits", residents.sessions_ended)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
