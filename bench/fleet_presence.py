"""Time from a terminal's death to the dashboard showing it lost, with default settings.

Real processes (``fleet.demo.DemoStack``: Mosquitto, ``fleet serve``, two ``kiosk-agent``) with
the agent's default MQTT keepalive (30 s) and health interval (60 s). A logged-in client reads
the dashboard's server-sent event stream (``/events/terminals``, what the open page listens to)
and the clock runs from the signal to the first event whose table row says ``lost``:

1. ``SIGKILL`` of an agent: the kernel closes its TCP connection at once, and Mosquitto publishes
   the agent's will (``lost``) after the MQTT v5 Will Delay Interval the agent asked for
   (``mqtt.will_delay_s``: 10 s by default, so that a link back within 10 s pages nobody);
2. ``SIGSTOP`` of the other agent (a frozen process, or a silent 4G link): the connection stays
   open; Mosquitto closes it on its keepalive check (1.5 × keepalive = 45 s, checked every few
   seconds in Mosquitto 2.0), then waits the same Will Delay Interval.

The dashboard's stream looks for changes every second (``POLL_S``), hence up to 1 s more.

Floor: the broker alone doing the same job. A second Mosquitto with the project's configuration
(``fleet.broker.start_broker``) and a bare paho client per case (``bench/floors/bare_will.py``:
the same keepalive, a retained will with the same Will Delay Interval, nothing else), killed
right after the agent's measurement (A/B) and stopped at the same moment as the other agent;
the clock runs from the signal to a bare subscriber receiving the will. No ingest, no database,
no event stream.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from bench.floor import emit, figure, ratio
from fleet.broker import RunningBroker, start_broker
from fleet.demo import ADMIN_USERNAME, DemoStack
from kiosk.agent.config import DEFAULT_WILL_DELAY_S
from kiosk.contract.mqtt import FLEET_USERNAME, Channel, topic_for

TERMINALS = ("bdx-pres-001", "bdx-pres-002")
FLOOR_TERMINALS = ("bdx-floor-001", "bdx-floor-002")
FLOOR_SCRIPT = Path(__file__).resolve().parent / "floors" / "bare_will.py"
KEEPALIVE_S = 30
HEALTH_INTERVAL_S = 60.0


def logged_in_opener(stack: DemoStack) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    login = opener.open(stack.dashboard_url + "login", timeout=10).read().decode()
    token = login.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = urllib.parse.urlencode(
        {"username": ADMIN_USERNAME, "password": stack.admin_password, "csrf_token": token}
    ).encode()
    opener.open(stack.dashboard_url + "login", data=form, timeout=10).read()
    return opener


def row_state(html: str, terminal_id: str) -> str | None:
    marker = f'<tr id="terminal-{terminal_id}" data-state="'
    if marker not in html:
        return None
    return html.split(marker, 1)[1].split('"', 1)[0]


def wait_online(opener: urllib.request.OpenerDirector, stack: DemoStack, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        html = opener.open(stack.dashboard_url + "partials/terminals", timeout=10).read().decode()
        if all(row_state(html, terminal) == "online" for terminal in TERMINALS):
            return
        time.sleep(0.2)
    raise SystemExit("the agents did not come online")


def seconds_until_lost(
    opener: urllib.request.OpenerDirector,
    stack: DemoStack,
    terminal_id: str,
    signal_number: int,
    timeout_s: float,
) -> float:
    """Open the event stream, send the signal, read events until the row says lost."""
    stream = opener.open(stack.dashboard_url + "events/terminals", timeout=timeout_s)
    event: list[str] = []
    # The first event is the current state (the fingerprint starts unknown): wait for it.
    started: float | None = None
    for raw in stream:
        line = raw.decode()
        if line.startswith("data: "):
            event.append(line[len("data: ") :])
            continue
        if line.strip() or not event:
            continue
        state = row_state("".join(event), terminal_id)
        event.clear()
        if started is None:
            os.kill(stack.agents[terminal_id].pid, signal_number)
            started = time.monotonic()
            continue
        if state == "lost":
            elapsed = time.monotonic() - started
            stream.close()
            return elapsed
        if time.monotonic() - started > timeout_s:
            break
    raise SystemExit(f"{terminal_id} was not shown lost within {timeout_s} s")


class WillWatch:
    """A bare subscriber on the floor's broker: when each floor terminal's will arrived."""

    def __init__(self, broker: RunningBroker, password: str) -> None:
        self.arrived: dict[str, float] = {}
        self._lock = threading.Condition()
        subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=FLEET_USERNAME,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.username_pw_set(FLEET_USERNAME, password)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_connect = lambda c, *_: c.subscribe("kiosk/v1/+/status", qos=1)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        if not subscribed.wait(20):
            raise SystemExit("the floor's subscriber did not subscribe")

    def _on_message(self, _client: Any, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.retain:
            return  # a will of an earlier run, kept by the broker
        with self._lock:
            self.arrived.setdefault(msg.topic.split("/")[2], time.monotonic())
            self._lock.notify_all()

    def wait(self, terminal_id: str, timeout_s: float) -> float:
        with self._lock:
            if not self._lock.wait_for(lambda: terminal_id in self.arrived, timeout_s):
                raise SystemExit(f"the floor's will for {terminal_id} did not come")
            return self.arrived[terminal_id]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextlib.contextmanager
def bare_terminal(
    broker: RunningBroker, terminal_id: str, password: str, keepalive: int, will_delay: int
) -> Iterator[subprocess.Popen[str]]:
    command = [
        sys.executable,
        str(FLOOR_SCRIPT),
        "--port",
        str(broker.port),
        "--username",
        terminal_id,
        f"--password={password}",  # one argument: a generated password may begin with "-"
        "--topic",
        topic_for(terminal_id, Channel.STATUS),
        "--keepalive",
        str(keepalive),
        "--will-delay",
        str(will_delay),
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            if process.stdout.readline().strip() != "connected":
                raise SystemExit("the floor's bare terminal did not connect")
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--keepalive", type=int, default=KEEPALIVE_S)
    parser.add_argument("--health-interval", type=float, default=HEALTH_INTERVAL_S)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        stack = DemoStack(
            Path(directory) / "demo",
            terminals=TERMINALS,
            keepalive_s=args.keepalive,
            health_interval_s=args.health_interval,
        )
        result: dict[str, Any] = {
            "keepalive_s": args.keepalive,
            "health_interval_s": args.health_interval,
        }
        will_delay = min(DEFAULT_WILL_DELAY_S, args.keepalive // 3)
        floor_users = {n: secrets.token_urlsafe(12) for n in (FLEET_USERNAME, *FLOOR_TERMINALS)}
        floor_broker = start_broker(Path(directory) / "floor-broker", floor_users)
        watch: WillWatch | None = None
        try:
            watch = WillWatch(floor_broker, floor_users[FLEET_USERNAME])
            stack.start()
            opener = logged_in_opener(stack)
            wait_online(opener, stack, timeout_s=30)
            result["killed_agent_s"] = round(
                seconds_until_lost(opener, stack, TERMINALS[0], signal.SIGKILL, 30), 2
            )
            bare_args = (args.keepalive, will_delay)
            killed = FLOOR_TERMINALS[0]
            with bare_terminal(floor_broker, killed, floor_users[killed], *bare_args) as bare:
                os.kill(bare.pid, signal.SIGKILL)
                started = time.monotonic()
                result["floor_killed_s"] = round(watch.wait(killed, 60) - started, 2)
            frozen = FLOOR_TERMINALS[1]
            with bare_terminal(floor_broker, frozen, floor_users[frozen], *bare_args) as bare:
                os.kill(bare.pid, signal.SIGSTOP)
                started = time.monotonic()
                result["frozen_agent_s"] = round(
                    seconds_until_lost(
                        opener, stack, TERMINALS[1], signal.SIGSTOP, 2 * args.keepalive + 30
                    ),
                    2,
                )
                os.kill(stack.agents[TERMINALS[1]].pid, signal.SIGCONT)
                result["floor_frozen_s"] = round(
                    watch.wait(frozen, 2 * args.keepalive + 30) - started, 2
                )
        finally:
            if watch is not None:
                watch.close()
            floor_broker.stop()
            stack.stop()
    result["will_delay_s"] = will_delay
    result["expected"] = {
        "killed_agent_s": f"{will_delay}-{will_delay + 1} (will delay + stream poll)",
        "frozen_agent_s": (
            f"{1.5 * args.keepalive + will_delay:.0f}-{1.5 * args.keepalive + will_delay + 6:.0f}"
            " (1.5 x keepalive + broker check + will delay + stream poll)"
        ),
    }
    result["floor"] = figure(
        "a killed terminal to « lost » on the dashboard",
        "s",
        result["killed_agent_s"],
        result["floor_killed_s"],
        "the broker alone: a bare paho client with the same will and Will Delay Interval, "
        "killed, to a bare subscriber receiving its will",
        method="the floor right after the agent (A/B), on a second broker",
        frozen_project_s=result["frozen_agent_s"],
        frozen_floor_s=result["floor_frozen_s"],
        frozen_ratio=ratio(result["frozen_agent_s"], result["floor_frozen_s"]),
    )
    emit({"benchmark": "fleet_presence", **result}, indent=2)


if __name__ == "__main__":
    main()
