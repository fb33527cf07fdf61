"""The real agent with its state on a full disk (a small tmpfs, filled up): each message goes
on the wire once, and its sequence goes on rising across a restart on the same full disk."""

from __future__ import annotations

import contextlib
import secrets
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.contract.mqtt import FLEET_USERNAME, CommandAck, Event, Health
from tests.agent.agent_process import STOP_TIMEOUT_S, running_agent, write_config
from tests.agent.broker_control import restartable_broker
from tests.agent.fleet_listener import FleetListener, Received, fleet_listener
from tests.helpers import wait_until

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

TERMINAL = "bdx-test-c"
# resend_acked_s = 0: a link dropped by a loaded machine (the keepalive is 2 s here) would make
# the agent send copies of what was just acknowledged, on purpose (docs/agent.md); this test
# counts what the full disk alone makes it send.
BUSY = "[outbox]\ndrain_per_s = 100\nresend_acked_s = 0\n[debug]\nemit_event_every_s = 0.05\n"


@contextlib.contextmanager
def small_disk(path: Path, size: str = "2m") -> Iterator[Path]:
    path.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path) -> Path:
    """Fill the file system to the last byte; return the filler to free it."""
    filler = disk / "filler"
    for block in (65536, 1):
        with contextlib.suppress(OSError), filler.open("ab", buffering=0) as out:
            while True:
                out.write(b"\0" * block)
    return filler


def seq_of(received: Received) -> int | None:
    message = received.message
    if isinstance(message, Health | Event | CommandAck):
        return message.seq
    return None


class Wire:
    """Every seq the fleet's listener received, repeats included, in arrival order."""

    def __init__(self, listener: FleetListener) -> None:
        self.listener = listener
        self.seqs: list[int] = []

    def count(self) -> int:
        while not self.listener.messages.empty():
            seq = seq_of(self.listener.messages.get_nowait())
            if seq is not None:
                self.seqs.append(seq)
        return len(self.seqs)

    def highest(self) -> int:
        self.count()
        return max(self.seqs, default=0)


def test_a_full_disk_sends_each_message_once_and_keeps_the_sequence_rising(
    tmp_path: Path,
) -> None:
    credentials = {name: secrets.token_urlsafe(12) for name in (FLEET_USERNAME, TERMINAL)}
    with (
        small_disk(tmp_path / "disk") as disk,
        restartable_broker(tmp_path / "broker", credentials) as broker,
        fleet_listener(broker.host, broker.port, credentials[FLEET_USERNAME], TERMINAL) as fleet,
    ):
        config = write_config(
            tmp_path / "agent.toml",
            TERMINAL,
            broker.host,
            broker.port,
            credentials[TERMINAL],
            state_dir=disk / "state",
            interval_s=0.2,
            extra=BUSY,
        )
        wire = Wire(fleet)
        with running_agent(config, tmp_path / "agent1.log") as agent:
            wait_until(lambda: wire.count() >= 20, 20, "20 messages sent")
            filler = fill(disk)
            agent.wait_for_log("message queue degraded", timeout_s=20)
            before = wire.count()
            # Long enough for several recoveries tried and failed (every 5 s).
            wait_until(lambda: wire.count() >= before + 250, 40, "250 more sent")
            agent.process.send_signal(signal.SIGTERM)
            assert agent.process.wait(timeout=STOP_TIMEOUT_S) == 0
        last_before_restart = wire.highest()

        # Started again on the same full disk: the counter was written in place.
        with running_agent(config, tmp_path / "agent2.log") as agent:
            wait_until(lambda: wire.highest() > last_before_restart + 20, 20, "sent again")
            # Space again: the queue goes back to disk, in order, and nothing twice.
            highest = wire.highest()
            filler.unlink()
            agent.wait_for_log("message queue back on disk", timeout_s=20)
            wait_until(lambda: wire.highest() > highest + 20, 20, "more after the recovery")
            agent.process.send_signal(signal.SIGTERM)
            assert agent.process.wait(timeout=STOP_TIMEOUT_S) == 0
        wire.count()
        assert fleet.rejected == []
        seen = wire.seqs

    twice = {seq: count for seq, count in Counter(seen).items() if count > 1}
    assert twice == {}, f"sent more than once: {sorted(twice.items())[:20]}"
    restart = seen.index(next(seq for seq in seen if seq > last_before_restart))
    assert min(seen[restart:]) > max(seen[:restart]), "the sequence went back after the restart"
