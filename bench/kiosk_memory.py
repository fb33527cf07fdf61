"""Total memory of the kiosk and its QtWebEngine processes over many scripted sessions.

Each session opens the stand-in tile, plants state with the stand-in's /plant page, then ends
with « Terminer » (the wipe). Memory (RSS and USS of the kiosk process plus every child, via
psutil) is read after 10 sessions and after ``--sessions`` (default 300), each time after a
short settling pause. Prints one JSON object; target: growth under 10 %.

Floor: a bare QtWebEngineQuick app (``bench/floors/bare_web.py --memory``: one window, one
WebEngineView) showing the same stand-in page, measured the same way after the same settling
pause, spawned right after the kiosk's reading at 10 sessions and at the end (A/B/A/B). The
floor's growth is zero by construction (it runs no sessions); the ratio is of total USS.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from bench.floor import emit, figure
from bench.kiosk_common import (
    ROOT,
    bench_kiosk,
    finish_and_time,
    open_tile,
    plant_state,
    spin,
    total_memory,
)

TARGET_GROWTH_PERCENT = 10.0
BASELINE_SESSIONS = 10
SETTLE_S = 3.0
FLOOR_SCRIPT = ROOT / "bench" / "floors" / "bare_web.py"


def floor_memory(url: str, settle_s: float) -> dict[str, float]:
    """Total memory of a bare QtWebEngine app showing ``url``, after the same settling pause."""
    done = subprocess.run(
        [sys.executable, str(FLOOR_SCRIPT), "--memory", "--settle-s", str(settle_s), "--url", url],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = done.stdout.splitlines()
    if len(lines) != 2 or lines[0] != "ready":
        raise RuntimeError(f"the bare app said {done.stdout!r}")
    reading: dict[str, float] = json.loads(lines[1])
    return reading


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--sample-every", type=int, default=50)
    parser.add_argument("--settle-s", type=float, default=SETTLE_S, help="pause before a reading")
    args = parser.parse_args()
    baseline_sessions = min(BASELINE_SESSIONS, args.sessions)
    samples: list[dict[str, float]] = []
    started = time.monotonic()
    failed_checks = 0
    floors: list[dict[str, float]] = []
    with bench_kiosk() as kiosk:
        open_tile(kiosk, timeout_s=60)
        finish_and_time(kiosk)
        spin(args.settle_s)
        samples.append({"sessions": 0, **total_memory()})
        for number in range(1, args.sessions + 1):
            view = open_tile(kiosk)
            plant_state(kiosk, view)
            del view
            failed_checks += finish_and_time(kiosk)["ok"] == 0.0
            if number in (baseline_sessions, args.sessions) or number % args.sample_every == 0:
                spin(args.settle_s)
                samples.append({"sessions": number, **total_memory()})
                print(f"kiosk_memory: {samples[-1]}", file=sys.stderr, flush=True)
                if number in (baseline_sessions, args.sessions):
                    floors.append(floor_memory(kiosk.standin.url(), args.settle_s))
    baseline = next(s for s in samples if s["sessions"] == baseline_sessions)
    final = samples[-1]
    growth_rss = 100 * (final["rss_mib"] - baseline["rss_mib"]) / baseline["rss_mib"]
    growth_uss = 100 * (final["uss_mib"] - baseline["uss_mib"]) / baseline["uss_mib"]
    emit(
        {
            "benchmark": "kiosk_memory",
            "sessions": args.sessions,
            "after_10": baseline,
            "after_all": final,
            "growth_rss_percent": round(growth_rss, 1),
            "growth_uss_percent": round(growth_uss, 1),
            "samples": samples,
            "floor_readings": floors,
            "floor": figure(
                f"USS of the kiosk and its web engine after {args.sessions} sessions",
                "MiB",
                final["uss_mib"],
                statistics.median(f["uss_mib"] for f in floors),
                "a bare QtWebEngineQuick app (one window, one WebEngineView) showing the same "
                "stand-in page, after the same settling pause",
                method="the floor spawned right after the kiosk's readings at 10 sessions and "
                "at the end",
                # RSS counts the pages the processes share once per process (the bare app
                # runs one process more than the kiosk): USS, each process's own, is the figure.
                rss_project=final["rss_mib"],
                rss_floor=statistics.median(f["rss_mib"] for f in floors),
            ),
            "self_checks_failed": failed_checks,
            "duration_s": round(time.monotonic() - started, 1),
            "target_growth_percent": TARGET_GROWTH_PERCENT,
            "meets_target": growth_rss < TARGET_GROWTH_PERCENT and failed_checks == 0,
        }
    )


if __name__ == "__main__":
    main()
