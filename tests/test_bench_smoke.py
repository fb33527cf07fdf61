"""Every benchmark under ``bench/``, once, in its quickest settings: the JSON each prints has its
project figure, its floor measured in the same run and their ratio (``make bench`` runs them in
full; this only checks that each still runs and says what ``docs/performance.md`` reads).

About 40 s: ``python -m bench.run_all --quick --jobs 2`` (the presence benchmark, which mostly waits
for a keepalive to run out, overlaps the others).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.floor import ratio
from bench.run_all import BENCHMARKS

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
#: Where docs/performance.md says no floor makes sense, and why (the JSON says so too).
WITHOUT_FLOOR = {"fleet_chaos"}


pytestmark = [pytest.mark.qt, pytest.mark.broker, pytest.mark.e2e]


def test_the_summary_lists_every_benchmark_under_bench() -> None:
    scripts = {
        path.stem
        for path in BENCH.glob("*.py")
        if path.stem not in {"__init__", "agent_common", "kiosk_common", "floor", "run_all"}
    }
    assert scripts == set(BENCHMARKS)


def test_a_ratio_is_none_without_a_floor_to_divide_by() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(3.0, 0.0) is None
    assert ratio(None, 2.0) is None


@pytest.mark.timeout(240)
def test_each_benchmark_prints_its_figure_beside_its_floor(tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run_all", "--quick", "--jobs", "2", "--out", str(out)],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=230,
        check=False,
    )
    summary: dict[str, Any] = json.loads(out.read_text())
    assert summary["failed"] == {}, done.stderr[-3000:]
    assert done.returncode == 0
    assert set(summary["benchmarks"]) == set(BENCHMARKS)
    for name, entry in summary["benchmarks"].items():
        floor = entry["floor"]
        assert isinstance(floor, dict), name
        assert isinstance(floor["project"], int | float), name
        assert len(entry["load_avg"]) == 3, name
        if name in WITHOUT_FLOOR:
            assert floor["floor"] is None, name
            assert floor["ratio"] is None, name
            assert floor["no_floor"], name
            continue
        assert isinstance(floor["floor"], int | float), name
        assert floor["floor"] > 0, name
        assert floor["ratio"] == ratio(floor["project"], floor["floor"]), name
        # Each benchmark's own JSON, beside the summary, carries the same floor.
        full = json.loads((tmp_path / f"{name}.json").read_text())
        assert full["floor"] == floor, name
    assert "ratio" in done.stdout
