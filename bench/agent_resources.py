"""CPU (% of one core) and RSS of a real agent at default settings, against a real TLS broker.

Prints one JSON object. ``--seconds`` sets the measurement window (default 120 s), which starts
once the agent is online so that start-up (imports, TLS context) is not counted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import psutil
from agent_common import (
    TERMINAL,
    agent_config,
    bench_broker,
    fleet_listener,
    running_agent_process,
)

from kiosk.contract import FLEET_USERNAME, Status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with bench_broker(work, tls=True) as (broker, users, tls):
            assert tls is not None
            assert broker.tls_port is not None
            config = agent_config(
                work / "agent.toml", broker.tls_port, users[TERMINAL], work / "state", tls.ca_file
            )
            with (
                fleet_listener(
                    broker.host, broker.port, users[FLEET_USERNAME], TERMINAL
                ) as listener,
                running_agent_process(config, work / "agent.log") as agent,
            ):
                listener.expect(
                    lambda r: isinstance(r.message, Status) and r.message.state == "online",
                    timeout_s=30,
                )
                process = psutil.Process(agent.pid)
                start_cpu = process.cpu_times()
                started = time.monotonic()
                rss: list[int] = []
                while time.monotonic() - started < args.seconds:
                    rss.append(process.memory_info().rss)
                    time.sleep(1.0)
                end_cpu = process.cpu_times()
                elapsed = time.monotonic() - started
                rss.append(process.memory_info().rss)
                full = process.memory_full_info()
                threads = process.num_threads()
    cpu_s = (end_cpu.user + end_cpu.system) - (start_cpu.user + start_cpu.system)
    print(
        json.dumps(
            {
                "benchmark": "agent_resources",
                "settings": "defaults (sample 5 s, interval 60 s, keepalive 30 s), psutil "
                "sensors, TLS to a local Mosquitto",
                "window_s": round(elapsed, 1),
                "cpu_percent_of_one_core": round(100 * cpu_s / elapsed, 3),
                "cpu_target_percent": 1.0,
                "rss_mb_max": round(max(rss) / 2**20, 1),
                "rss_mb_median": round(statistics.median(rss) / 2**20, 1),
                "rss_target_mb": 40,
                # RSS counts shared library pages (libpython, OpenSSL, pydantic-core) that
                # other Python processes on the terminal share; USS is the agent's own.
                "uss_mb": round(full.uss / 2**20, 1),
                "pss_mb": round(full.pss / 2**20, 1),
                "threads": threads,
                "method": "psutil cpu_times (user+system) of the agent process over the window "
                "after its birth was seen; RSS sampled every second",
            }
        )
    )


if __name__ == "__main__":
    main()
