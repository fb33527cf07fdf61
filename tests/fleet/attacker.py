"""The attacker of the observatory's open data: everything published, and differencing.

Written apart from ``fleet.disclosure`` on purpose (exact rational arithmetic, its own reading
of the files): it knows only what anyone downloading the Data Packages knows, the files and
their documented structure (docs/observatory.md):

- a count cell is the sum, over the days of its period, of one unknown per day and category;
- ``langues``, ``fins`` and ``heures`` put each session in exactly one category, so on each day
  their categories add up to the day's sessions; ``jours`` is the sessions of the days of that
  weekday; ``sessions`` is the sessions of every day of the period.

It then tries, for every hidden cell, the simple attacks (a margin minus its visible cells; a
month minus the weeks that make it up) and the general one: any linear combination of visible
cells and of the structure that equals the hidden cell gives its value.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

PARTITIONS = ("langues", "fins", "heures")


@dataclass(frozen=True)
class Published:
    period: str
    first: date
    last: date
    table: str
    site: tuple[str, str]
    category: str
    value: int | None

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def read(folder: Path) -> list[Published]:
    cells = []
    for descriptor in sorted(folder.glob("*/datapackage.json")):
        package = json.loads(descriptor.read_text(encoding="utf-8"))
        for resource in package["resources"]:
            if resource["name"] == "disponibilite":
                continue
            text = (descriptor.parent / resource["path"]).read_text(encoding="utf-8")
            for row in csv.DictReader(io.StringIO(text)):
                hidden = row["secret_statistique"] == "oui"
                cells.append(
                    Published(
                        row["periode"],
                        date.fromisoformat(row["debut"]),
                        date.fromisoformat(row["fin"]),
                        resource["name"],
                        (row["commune"], row["code_qpv"]),
                        row["categorie"],
                        None if hidden else int(row["sessions"]),
                    )
                )
    return cells


def _unknowns(cell: Published, index: dict[tuple[str, str, date], int]) -> dict[int, Fraction]:
    def var(table: str, category: str, day: date) -> int:
        return index.setdefault((table, category, day), len(index))

    if cell.table == "sessions":
        return {var("sessions", "total", d): Fraction(1) for d in cell.days()}
    if cell.table == "jours":
        return {
            var("sessions", "total", d): Fraction(1)
            for d in cell.days()
            if str(d.isoweekday()) == cell.category
        }
    return {var(cell.table, cell.category, d): Fraction(1) for d in cell.days()}


class _Solver:
    """Reduced row echelon form over the rationals, each row with its known value."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[dict[int, Fraction], Fraction]] = {}

    def _reduce(
        self, vec: dict[int, Fraction], rhs: Fraction
    ) -> tuple[dict[int, Fraction], Fraction]:
        vec = dict(vec)
        for pivot in sorted(k for k in vec if k in self.rows):
            coef = vec.get(pivot)
            if not coef:
                continue
            row, row_rhs = self.rows[pivot]
            for k, c in row.items():
                new = vec.get(k, Fraction(0)) - coef * c
                if new:
                    vec[k] = new
                else:
                    vec.pop(k, None)
            rhs -= coef * row_rhs
        return vec, rhs

    def add(self, vec: dict[int, Fraction], value: Fraction) -> None:
        vec, rhs = self._reduce(vec, value)
        if not vec:
            return
        pivot = min(vec)
        scale = vec[pivot]
        vec = {k: c / scale for k, c in vec.items()}
        rhs /= scale
        # Keep the form reduced: eliminate the new pivot from the rows already there.
        for other, (row, row_rhs) in list(self.rows.items()):
            coef = row.get(pivot)
            if coef:
                merged = dict(row)
                for k, c in vec.items():
                    new = merged.get(k, Fraction(0)) - coef * c
                    if new:
                        merged[k] = new
                    else:
                        merged.pop(k, None)
                self.rows[other] = (merged, row_rhs - coef * rhs)
        self.rows[pivot] = (vec, rhs)

    def value_of(self, vec: dict[int, Fraction]) -> Fraction | None:
        """The value of ``vec``'s combination if the known rows determine it."""
        rest, rhs = self._reduce(vec, Fraction(0))
        # vec - sum(coef * row) == rest; when rest is empty, vec's value is -rhs.
        return -rhs if not rest else None


def linear_attack(cells: list[Published]) -> dict[Published, int]:
    """Every hidden cell that some combination of the published ones determines."""
    recovered: dict[Published, int] = {}
    by_site: dict[tuple[str, str], list[Published]] = defaultdict(list)
    for cell in cells:
        by_site[cell.site].append(cell)
    for site_cells in by_site.values():
        index: dict[tuple[str, str, date], int] = {}
        solver = _Solver()
        days = sorted({d for c in site_cells for d in c.days()})
        categories: dict[str, set[str]] = defaultdict(set)
        for cell in site_cells:
            categories[cell.table].add(cell.category)
        for day in days:
            total = index.setdefault(("sessions", "total", day), len(index))
            for table in PARTITIONS:
                vec = {
                    index.setdefault((table, c, day), len(index)): Fraction(1)
                    for c in sorted(categories[table])
                }
                vec[total] = vec.get(total, Fraction(0)) - 1
                solver.add(vec, Fraction(0))
        for cell in site_cells:
            if cell.value is not None:
                solver.add(_unknowns(cell, index), Fraction(cell.value))
        for cell in site_cells:
            if cell.value is None:
                value = solver.value_of(_unknowns(cell, index))
                if value is not None and value.denominator == 1:
                    recovered[cell] = int(value)
    return recovered


def margin_attack(cells: list[Published]) -> dict[Published, int]:
    """The textbook one: a row with one hidden cell, its total visible."""
    totals = {(c.period, c.site): c.value for c in cells if c.table == "sessions"}
    rows: dict[tuple[str, tuple[str, str], str], list[Published]] = defaultdict(list)
    for cell in cells:
        if cell.table in (*PARTITIONS, "jours"):
            rows[(cell.period, cell.site, cell.table)].append(cell)
    recovered = {}
    for (period, site, _table), row in rows.items():
        hidden = [c for c in row if c.value is None]
        total = totals.get((period, site))
        if len(hidden) == 1 and total is not None:
            recovered[hidden[0]] = total - sum(c.value or 0 for c in row)
    return recovered
