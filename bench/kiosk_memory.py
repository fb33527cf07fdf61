"""Total memory of the kiosk and its QtWebEngine processes over many scripted sessions.

Each session opens the stand-in tile, plants state with the stand-in's /plant page, then ends
with « Terminer » (the wipe). Memory (RSS and USS of the kiosk process plus every child, via
psutil) is read after 10 sessions and after ``--sessions`` (default 300), each time after a
short settling pause. Prints one JSON object; target: growth under 10 %.
"""

from __future__ import annotations

import argparse
import sys
import time

from kiosk_common import (
    bench_kiosk,
    emit,
    finish_and_time,
    open_tile,
    plant_state,
    spin,
    total_memory,
)

TARGET_GROWTH_PERCENT = 10.0
BASELINE_SESSIONS = 10
SETTLE_S = 3.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--sample-every", type=int, default=50)
    args = parser.parse_args()
    samples: list[dict[str, float]] = []
    started = time.monotonic()
    failed_checks = 0
    with bench_kiosk() as kiosk:
        open_tile(kiosk, timeout_s=60)
        finish_and_time(kiosk)
        spin(SETTLE_S)
        samples.append({"sessions": 0, **total_memory()})
        for number in range(1, args.sessions + 1):
            view = open_tile(kiosk)
            plant_state(kiosk, view)
            del view
            failed_checks += finish_and_time(kiosk)["ok"] == 0.0
            if number in (BASELINE_SESSIONS, args.sessions) or number % args.sample_every == 0:
                spin(SETTLE_S)
                samples.append({"sessions": number, **total_memory()})
                print(f"kiosk_memory: {samples[-1]}", file=sys.stderr, flush=True)
    baseline = next(s for s in samples if s["sessions"] == BASELINE_SESSIONS)
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
            "self_checks_failed": failed_checks,
            "duration_s": round(time.monotonic() - started, 1),
            "target_growth_percent": TARGET_GROWTH_PERCENT,
            "meets_target": growth_rss < TARGET_GROWTH_PERCENT and failed_checks == 0,
        }
    )


if __name__ == "__main__":
    main()
