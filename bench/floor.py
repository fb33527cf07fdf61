"""What every benchmark's floor shares: A/B/A/B rounds, the figure and its ratio, the load.

A benchmark's floor is the cheapest thing that does the same job (a bare QtWebEngine app, a bare
paho client, a bare SQL statement, the bytes themselves), measured in the same run as the
project, interleaved with it, because absolute figures on a shared machine move 2-5x from one
run to the next while a ratio measured side by side moves much less.

Each benchmark's JSON carries a ``floor`` object::

    "floor": {"measure": "...", "unit": "ms", "project": 812.0, "floor": 640.0, "ratio": 1.27,
              "floor_is": "...", "method": "..."}

and ``load_avg``, the machine's 1, 5 and 15 minute load averages when it ended
(``os.getloadavg``). ``floor`` and ``ratio`` are ``null`` only where no floor makes sense, and
``no_floor`` then says why. ``make bench`` gathers every benchmark's ``floor`` into one summary.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Callable
from typing import Any

__all__ = ["emit", "figure", "interleave", "load_avg", "median", "no_floor", "ratio"]


def load_avg() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages, now."""
    return [round(value, 2) for value in os.getloadavg()]


def ratio(project: float | None, floor: float | None) -> float | None:
    """``project / floor``, rounded; ``None`` when either is missing or the floor is zero."""
    if project is None or floor is None or floor <= 0:
        return None
    return round(project / floor, 2)


def figure(
    measure: str,
    unit: str,
    project: float,
    floor: float,
    floor_is: str,
    method: str = "interleaved A/B/A/B in the same run",
    **more: Any,
) -> dict[str, Any]:
    """One project figure beside its floor, and their ratio (of the figures as printed)."""
    project, floor = round(project, 3), round(floor, 3)
    return {
        "measure": measure,
        "unit": unit,
        "project": project,
        "floor": floor,
        "ratio": ratio(project, floor),
        "floor_is": floor_is,
        "method": method,
        **more,
    }


def no_floor(measure: str, unit: str, project: float | None, why: str) -> dict[str, Any]:
    """A project figure for which no floor makes sense, and why."""
    return {
        "measure": measure,
        "unit": unit,
        "project": project,
        "floor": None,
        "ratio": None,
        "no_floor": why,
    }


def interleave(
    project: Callable[[], float], floor: Callable[[], float], rounds: int
) -> tuple[list[float], list[float]]:
    """Run ``project`` then ``floor``, ``rounds`` times (A/B/A/B); their figures, apart."""
    a: list[float] = []
    b: list[float] = []
    for _round in range(rounds):
        a.append(project())
        b.append(floor())
    return a, b


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def emit(result: dict[str, Any], indent: int | None = None) -> None:
    """Print the benchmark's one JSON object, with the machine's load added."""
    result.setdefault("load_avg", load_avg())
    print(json.dumps(result, ensure_ascii=False, indent=indent), flush=True)
