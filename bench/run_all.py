"""Run every benchmark (``make bench``) and write one summary of their floors and ratios.

Each benchmark runs as its own process, one after the other (``--jobs 1``: measurements must
not share the machine with each other), with its default settings; ``--quick`` gives each
the smallest settings that still exercise its project figure and its floor (the smoke test in
``tests/test_bench_smoke.py``, where a shape is checked, not a figure, and ``--jobs 2`` is fine).

Writes every benchmark's JSON to ``bench/results/<name>.json`` (or beside ``--out``) and the
summary to ``bench/results/summary.json`` (``--out``): for each benchmark its ``floor`` object
(project, floor, ratio), its run time and the load average when it ended; then prints a table.
A benchmark that fails is named in the summary's ``failed`` with the end of its error output,
and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.floor import load_avg

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

#: Every benchmark, and its quick settings. The slowest first, so that ``--jobs 2`` overlaps it
#: (fleet_presence mostly waits for a keepalive to run out).
BENCHMARKS: dict[str, list[str]] = {
    "fleet_presence": ["--keepalive", "3", "--health-interval", "2"],
    "kiosk_start": ["--runs", "1"],
    "kiosk_wipe": ["--sessions", "1"],
    "kiosk_memory": ["--sessions", "1", "--sample-every", "1", "--settle-s", "0.3"],
    "agent_resources": ["--seconds", "2", "--rounds", "1"],
    "agent_bytes": ["--samples", "3", "--pings", "1"],
    "agent_restart": ["--rounds", "1"],
    "content_bytes": ["--terminals", "2", "--size-mb", "1"],
    "fleet_ingest": ["--rounds", "1", "--duration", "1", "--rate", "200", "--terminals", "4"],
    "fleet_pages": ["--terminals", "100", "--history", "3", "--requests", "2"],
    "fleet_chaos": ["--only", "clean-sqlite", "--duration", "1", "--rate", "100"],
    "fleet_scale": [
        *("--terminals", "20", "--duration", "3", "--interval", "1"),
        *("--publishers", "1", "--drain-s", "10"),
    ],
    # Last: its 50 agent processes starting at once load the machine for minutes after.
    "content_fleet": ["--terminals", "2", "--size-mb", "0.5"],
}

#: What ``make bench`` passes beyond the defaults: content_bytes times a fleet update only
#: when asked for terminals.
DEFAULT_EXTRA: dict[str, list[str]] = {"content_bytes": ["--terminals", "50", "--size-mb", "10"]}


def environment() -> dict[str, str]:
    env = os.environ.copy()
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    if "QTWEBENGINE_CHROMIUM_FLAGS" not in env and os.geteuid() == 0:
        env["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox --disable-gpu"
    return env


def parse_json(stdout: str) -> dict[str, Any]:
    """The benchmark's one JSON object: from the first line that opens one."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("{"))
    result: dict[str, Any] = json.JSONDecoder().raw_decode("\n".join(lines[start:]))[0]
    return result


def run_one(name: str, args: list[str], results: Path, timeout_s: float) -> dict[str, Any]:
    started = time.monotonic()
    command = [sys.executable, "-m", f"bench.{name}", *args]
    print(f"bench: {name} {' '.join(args)}", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=environment(),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s} s", "args": args}
    seconds = round(time.monotonic() - started, 1)
    if done.returncode != 0:
        return {"error": done.stderr[-2000:], "exit": done.returncode, "args": args}
    try:
        result = parse_json(done.stdout)
    except (StopIteration, json.JSONDecodeError):
        return {"error": f"no JSON in its output: {done.stdout[-500:]!r}", "args": args}
    (results / f"{name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return {
        "floor": result.get("floor"),
        "load_avg": result.get("load_avg", load_avg()),
        "seconds": seconds,
        "args": args,
    }


def table(summary: dict[str, Any]) -> str:
    rows = [f"{'benchmark':<16} {'measure':<58} {'project':>10} {'floor':>10} {'ratio':>6}"]
    for name, entry in summary["benchmarks"].items():
        floor = entry.get("floor") or {}
        value = floor.get("floor")
        rows.append(
            f"{name:<16} {str(floor.get('measure', entry.get('error', '?')))[:58]:<58} "
            f"{floor.get('project', '-')!s:>10} {'-' if value is None else value!s:>10} "
            f"{floor.get('ratio') or '-'!s:>6}"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smallest settings (smoke)")
    parser.add_argument("--jobs", type=int, default=1, help="benchmarks run at once")
    parser.add_argument("--only", nargs="*", help="run only these benchmarks")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "summary.json")
    parser.add_argument("--timeout", type=float, default=3600.0, help="per benchmark (s)")
    args = parser.parse_args()
    names = [name for name in BENCHMARKS if not args.only or name in args.only]
    results = args.out.parent
    results.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "default settings",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "load_avg_at_start": load_avg(),
    }
    started = time.monotonic()

    def settings(name: str) -> list[str]:
        return BENCHMARKS[name] if args.quick else DEFAULT_EXTRA.get(name, [])

    with ThreadPoolExecutor(args.jobs) as pool:
        entries = list(pool.map(lambda n: run_one(n, settings(n), results, args.timeout), names))
    summary["benchmarks"] = dict(zip(names, entries, strict=True))
    summary["failed"] = {n: e["error"] for n, e in summary["benchmarks"].items() if "error" in e}
    summary["load_avg_at_end"] = load_avg()
    summary["seconds"] = round(time.monotonic() - started, 1)
    args.out.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(table(summary))
    print(f"summary: {args.out}")
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
