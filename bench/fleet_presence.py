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

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import signal
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from fleet.demo import ADMIN_USERNAME, DemoStack
from kiosk.agent.config import DEFAULT_WILL_DELAY_S

TERMINALS = ("bdx-pres-001", "bdx-pres-002")
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
        try:
            stack.start()
            opener = logged_in_opener(stack)
            wait_online(opener, stack, timeout_s=30)
            result["killed_agent_s"] = round(
                seconds_until_lost(opener, stack, TERMINALS[0], signal.SIGKILL, 30), 2
            )
            result["frozen_agent_s"] = round(
                seconds_until_lost(
                    opener, stack, TERMINALS[1], signal.SIGSTOP, 2 * args.keepalive + 30
                ),
                2,
            )
            os.kill(stack.agents[TERMINALS[1]].pid, signal.SIGCONT)
        finally:
            stack.stop()
    will_delay = min(DEFAULT_WILL_DELAY_S, args.keepalive // 3)
    result["will_delay_s"] = will_delay
    result["expected"] = {
        "killed_agent_s": f"{will_delay}-{will_delay + 1} (will delay + stream poll)",
        "frozen_agent_s": (
            f"{1.5 * args.keepalive + will_delay:.0f}-{1.5 * args.keepalive + will_delay + 6:.0f}"
            " (1.5 x keepalive + broker check + will delay + stream poll)"
        ),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
