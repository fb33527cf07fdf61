"""CPU (% of one core) and RSS of a real agent at default settings, against a real TLS broker.

Prints one JSON object. ``--seconds`` sets the measurement window (default 120 s), which starts
once the agent is online so that start-up (imports, TLS context) is not counted.

Floor: a bare paho + psutil process publishing a JSON report every 60 s over the same TLS
listener with the same credentials (``bench/floors/bare_agent.py``). The two take turns
(``--rounds`` A/B rounds, the agent first, each side measured ``--seconds`` in all), since the
broker allows one connection per terminal name.

``--ui``: as on a terminal in the street, a kiosk UI is connected to the agent's socket (this
process, with :class:`kiosk.agentlink.AgentLink`: a heartbeat every 5 s, a resident session
every 20 s) and the fleet has a retained desired state for it (settings the agent passes on to
the UI). The socket is the only setting changed (a temporary path for the default
``/run/kiosk/agent.sock``).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

from bench.agent_common import (
    TERMINAL,
    agent_config,
    bench_broker,
    fleet_listener,
    running_agent_process,
)
from bench.floor import emit, figure
from kiosk.agentlink import AgentLink, new_session_id
from kiosk.contract.mqtt import FLEET_USERNAME, Channel, Desired, Status, topic_for, utc_now

FLOOR_SCRIPT = Path(__file__).resolve().parent / "floors" / "bare_agent.py"


@dataclass
class Window:
    """CPU seconds, wall seconds and RSS samples of one process over measured windows."""

    cpu_s: float = 0.0
    elapsed_s: float = 0.0
    rss: list[int] = field(default_factory=list)
    uss: list[int] = field(default_factory=list)
    pss: list[int] = field(default_factory=list)
    threads: int = 0

    def measure(self, pid: int, seconds: float) -> None:
        process = psutil.Process(pid)
        start_cpu = process.cpu_times()
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            self.rss.append(process.memory_info().rss)
            time.sleep(1.0)
        end_cpu = process.cpu_times()
        self.elapsed_s += time.monotonic() - started
        self.rss.append(process.memory_info().rss)
        full = process.memory_full_info()
        self.uss.append(full.uss)
        self.pss.append(full.pss)
        self.threads = process.num_threads()
        self.cpu_s += (end_cpu.user + end_cpu.system) - (start_cpu.user + start_cpu.system)

    def cpu_percent(self) -> float:
        return round(100 * self.cpu_s / self.elapsed_s, 3)

    def mb(self, values: list[int], median: bool = False) -> float:
        return round((statistics.median(values) if median else max(values)) / 2**20, 1)


def publish_desired(host: str, port: int, password: str) -> None:
    """The fleet's retained desired state for the terminal (settings only: no content)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(FLEET_USERNAME, password)
    client.connect(host, port)
    client.loop_start()
    desired = Desired(settings={"idle_timeout_s": 120}, sent_at=utc_now())
    info = client.publish(
        topic_for(TERMINAL, Channel.DESIRED), desired.to_bytes(), qos=1, retain=True
    )
    info.wait_for_publish(10)
    client.disconnect()
    client.loop_stop()


@contextlib.contextmanager
def connected_ui(socket_path: Path) -> Iterator[None]:
    """A UI on the agent's socket: heartbeats every 5 s, a 3 s session every 20 s."""
    stop = threading.Event()

    def drive(link: AgentLink) -> None:
        turn = 0
        while not stop.wait(5.0):
            turn += 1
            link.heartbeat(session_open=False)
            if turn % 4 == 0:
                session = new_session_id()
                link.session_started(session, "caf")
                link.session_ended(session, 3.0, ["caf"], "button")
                link.wipe_result(True, [])

    with AgentLink(socket_path, ui_version="0.1.0", retry_interval_s=0.1) as link:
        deadline = time.monotonic() + 15
        while not link.connected:
            if time.monotonic() > deadline:
                raise SystemExit("the UI could not connect to the agent's socket")
            time.sleep(0.05)
        link.heartbeat(session_open=False)
        driver = threading.Thread(target=drive, args=(link,), daemon=True)
        driver.start()
        try:
            yield
        finally:
            stop.set()
            driver.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0, help="measured, each side")
    parser.add_argument("--rounds", type=int, default=2, help="A/B rounds the seconds span")
    parser.add_argument(
        "--ui", action="store_true", help="a kiosk UI connected and a desired state retained"
    )
    args = parser.parse_args()
    agent_window, floor_window = Window(), Window()
    phase_s = args.seconds / args.rounds
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with bench_broker(work, tls=True) as (broker, users, tls):
            assert tls is not None
            assert broker.tls_port is not None
            socket_path = work / "agent.sock"
            config = agent_config(
                work / "agent.toml",
                broker.tls_port,
                users[TERMINAL],
                work / "state",
                tls.ca_file,
                extra=f'[ui]\nsocket = "{socket_path}"\n' if args.ui else "",
            )
            if args.ui:
                publish_desired(broker.host, broker.port, users[FLEET_USERNAME])
            floor_command = [
                sys.executable,
                str(FLOOR_SCRIPT),
                "--port",
                str(broker.tls_port),
                "--username",
                TERMINAL,
                # One argument: a random password may begin with "-" (token_urlsafe).
                f"--password={users[TERMINAL]}",
                "--topic",
                topic_for(TERMINAL, Channel.HEALTH),
                "--ca-file",
                str(tls.ca_file),
            ]
            with fleet_listener(
                broker.host, broker.port, users[FLEET_USERNAME], TERMINAL
            ) as listener:
                for _round in range(args.rounds):
                    # A: the agent, measured once its birth is seen.
                    with running_agent_process(config, work / "agent.log") as agent:
                        listener.expect(
                            lambda r: isinstance(r.message, Status) and r.message.state == "online",
                            timeout_s=30,
                        )
                        with connected_ui(socket_path) if args.ui else contextlib.nullcontext():
                            agent_window.measure(agent.pid, phase_s)
                    # B: the bare paho + psutil process, measured once the broker accepted it.
                    with subprocess.Popen(floor_command, stdout=subprocess.PIPE, text=True) as bare:
                        try:
                            assert bare.stdout is not None
                            if bare.stdout.readline().strip() != "connected":
                                raise SystemExit("the bare publisher did not connect")
                            floor_window.measure(bare.pid, phase_s)
                        finally:
                            bare.terminate()
                            bare.wait(timeout=15)
    emit(
        {
            "benchmark": "agent_resources",
            "settings": "defaults (sample 5 s, interval 60 s, keepalive 30 s), psutil "
            "sensors, TLS to a local Mosquitto"
            + (
                "; a kiosk UI connected (heartbeat every 5 s, a session every 20 s) and a "
                "retained desired state"
                if args.ui
                else ""
            ),
            "rounds": args.rounds,
            "window_s": round(agent_window.elapsed_s, 1),
            "cpu_percent_of_one_core": agent_window.cpu_percent(),
            "cpu_target_percent": 1.0,
            "rss_mb_max": agent_window.mb(agent_window.rss),
            "rss_mb_median": agent_window.mb(agent_window.rss, median=True),
            "rss_target_mb": 40,
            # RSS counts shared library pages (libpython, OpenSSL, pydantic-core) that
            # other Python processes on the terminal share; USS is the agent's own.
            "uss_mb": agent_window.mb(agent_window.uss),
            "pss_mb": agent_window.mb(agent_window.pss),
            "threads": agent_window.threads,
            "floor_process": {
                "window_s": round(floor_window.elapsed_s, 1),
                "cpu_percent_of_one_core": floor_window.cpu_percent(),
                "rss_mb_max": floor_window.mb(floor_window.rss),
                "rss_mb_median": floor_window.mb(floor_window.rss, median=True),
                "uss_mb": floor_window.mb(floor_window.uss),
                "threads": floor_window.threads,
            },
            "floor": figure(
                "agent RSS with a UI connected and a desired state, median"
                if args.ui
                else "agent RSS at default settings, median",
                "MB",
                agent_window.mb(agent_window.rss, median=True),
                floor_window.mb(floor_window.rss, median=True),
                "a bare paho + psutil process publishing a JSON report every 60 s over the "
                "same TLS listener (bench/floors/bare_agent.py)",
                method=f"{args.rounds} rounds of {phase_s:.0f} s, agent then floor (A/B/A/B)",
                cpu_percent_project=agent_window.cpu_percent(),
                cpu_percent_floor=floor_window.cpu_percent(),
                uss_mb_project=agent_window.mb(agent_window.uss),
                uss_mb_floor=floor_window.mb(floor_window.uss),
            ),
            "method": "psutil cpu_times (user+system) of the agent process over the windows "
            "after its birth was seen; RSS sampled every second",
        }
    )


if __name__ == "__main__":
    main()
