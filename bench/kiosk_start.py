"""Cold start of the kiosk to an interactive home screen, as a real process.

Spawns ``python -m kiosk.ui --windowed --exit-when-ready`` ``--runs`` times; each run prints
``kiosk-ready`` once a frame shows the home's cards laid out (the window then takes touches), and
the time from spawning to that line is measured. Prints one JSON object (target: median under
1.5 s). Run offscreen, with ``QT_QPA_PLATFORM=offscreen``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kiosk_common import ROOT, emit, summary_ms

from kiosk.ui.main import READY_LINE

TARGET_MEDIAN_MS = 1500.0


def one_start(config: Path) -> float:
    """Seconds from spawning the kiosk to its ready line."""
    command = [sys.executable, "-m", "kiosk.ui", "--windowed", "--exit-when-ready"]
    start = time.perf_counter()
    with subprocess.Popen(
        [*command, "--config", str(config)],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        ready = time.perf_counter() - start
        process.wait(timeout=30)
    if line != READY_LINE or process.returncode != 0:
        raise RuntimeError(f"the kiosk did not start (exit {process.returncode}, said {line!r})")
    return ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as name:
        # The terminal's settings, except that no agent listens here (the link would only retry).
        config = Path(name) / "kiosk.toml"
        config.write_text('agent_socket = ""\n', encoding="utf-8")
        times = [one_start(config) for _run in range(args.runs)]
    result = summary_ms(times)
    emit(
        {
            "benchmark": "kiosk_start",
            "runs": args.runs,
            "first_run_ms": round(times[0] * 1000, 1),
            "start_to_ready": result,
            "target_median_ms": TARGET_MEDIAN_MS,
            "meets_target": result["median_ms"] < TARGET_MEDIAN_MS,
        }
    )


if __name__ == "__main__":
    main()
