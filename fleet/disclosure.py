"""Statistical disclosure control for the observatory: small counts hidden, and kept hidden.

A published cell is a sum of unknowns (one per day and category, see ``fleet.opendata``): what an
attacker knows is every visible cell's value, the structure of the tables (a session is in one
hour, one language, one way of ending: the categories of a day add up to its sessions) and the
cells published before. A hidden cell is *exposed* when some linear combination of what is
known equals it, whatever the combination (a margin minus the visible cells, a month minus its
weeks, one table against another): it is then recoverable by differencing. The check is exact:
the cell's vector lies in the span of the known vectors (Gaussian elimination, modulo a large
prime, which can only see more combinations than over the rationals, never fewer).

:func:`protect` hides the primary cells (1 to ``threshold - 1``), then, while any hidden cell
is exposed, or a row with a known margin hides less than ``threshold`` sessions in all, hides
the visible cell that protects best at the least cost (secondary suppression). A cell already
published (``fixed``) is never changed: it is part of what the attacker knows.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

#: The Mersenne prime 2^61 - 1: the field of the elimination.
PRIME: Final = (1 << 61) - 1

Vector = dict[int, int]


@dataclass
class Cell:
    """One published figure: the unknowns it adds up, its true value, and its fate."""

    key: Hashable
    #: The indexes of the unknowns it adds up (each once).
    unknowns: frozenset[int]
    value: int
    #: The row with a known margin this cell belongs to (a partition of a total), if any.
    row: Hashable | None = None
    #: Cells of the same table and period come first among the candidates for hiding.
    group: Hashable | None = None
    #: The same figure in other periods (table and category): next candidates.
    family: Hashable | None = None
    hidden: bool = False
    #: Already published: never changed.
    fixed: bool = False


@dataclass
class Relation:
    """Something known of the structure: ``sum(plus) - sum(minus) == 0``."""

    plus: frozenset[int]
    minus: frozenset[int]


@dataclass
class Margin:
    """A row of cells that add up to a total cell (e.g. the languages of one period)."""

    total: Hashable
    cells: list[Hashable] = field(default_factory=list)


class Basis:
    """Row echelon form modulo :data:`PRIME` of the known vectors, for membership tests."""

    def __init__(self) -> None:
        self._rows: dict[int, Vector] = {}

    def reduce(self, vector: Vector) -> Vector:
        """``vector`` minus its projection on the span: empty when it lies in the span."""
        v = {k: c % PRIME for k, c in vector.items() if c % PRIME}
        heap = [k for k in v if k in self._rows]
        heapq.heapify(heap)
        while heap:
            pivot = heapq.heappop(heap)
            coef = v.get(pivot)
            if not coef:
                continue
            for k, c in self._rows[pivot].items():
                new = (v.get(k, 0) - coef * c) % PRIME
                if new:
                    if k not in v and k in self._rows:
                        heapq.heappush(heap, k)
                    v[k] = new
                else:
                    v.pop(k, None)
        return v

    def add(self, vector: Vector) -> bool:
        """Add ``vector`` to the span; False when it was already in it."""
        v = self.reduce(vector)
        if not v:
            return False
        # Pivot: the smallest unknown with no pivot yet (every unknown with one is gone).
        pivot = min(v)
        inverse = pow(v[pivot], PRIME - 2, PRIME)
        self._rows[pivot] = {k: c * inverse % PRIME for k, c in v.items()}
        return True

    def spans(self, vector: Vector) -> bool:
        return not self.reduce(vector)


def _vector(unknowns: Iterable[int]) -> Vector:
    return dict.fromkeys(unknowns, 1)


def _relation_vector(relation: Relation) -> Vector:
    v = _vector(relation.plus)
    for k in relation.minus:
        v[k] = v.get(k, 0) - 1
    return {k: c for k, c in v.items() if c}


def basis_of(cells: Iterable[Cell], relations: Sequence[Relation]) -> Basis:
    """What the attacker knows: the structure and every visible cell."""
    basis = Basis()
    for relation in relations:
        basis.add(_relation_vector(relation))
    for cell in cells:
        if not cell.hidden:
            basis.add(_vector(cell.unknowns))
    return basis


def exposed(cells: Sequence[Cell], relations: Sequence[Relation]) -> list[Cell]:
    """The hidden cells that differencing recovers from everything else published."""
    basis = basis_of(cells, relations)
    return [c for c in cells if c.hidden and c.value and basis.spans(_vector(c.unknowns))]


def thin_margins(
    cells: dict[Hashable, Cell], margins: Sequence[Margin], threshold: int
) -> list[Margin]:
    """Rows whose total is visible but whose hidden cells add up to less than ``threshold``
    sessions, or to no more than their number (then each is known to be 1)."""
    thin = []
    for margin in margins:
        total = cells[margin.total]
        if total.hidden:
            continue
        hidden = [cells[k] for k in margin.cells if cells[k].hidden and cells[k].value]
        if not hidden:
            continue
        hidden_sum = sum(c.value for c in hidden)
        if hidden_sum < threshold or hidden_sum <= len(hidden):
            thin.append(margin)
    return thin


def _cost(cell: Cell) -> tuple[int, int]:
    return (0 if cell.value == 0 else 1, cell.value)


def protect(
    cells: Sequence[Cell],
    relations: Sequence[Relation],
    margins: Sequence[Margin],
    threshold: int,
) -> list[Cell]:
    """Hide the small cells and whatever else keeps them hidden; returns ``cells``."""
    by_key = {c.key: c for c in cells}
    for cell in cells:
        if not cell.fixed and 0 < cell.value < threshold:
            cell.hidden = True
    while True:
        for margin in thin_margins(by_key, margins, threshold):
            visible = [
                by_key[k]
                for k in margin.cells
                if not by_key[k].hidden and not by_key[k].fixed and by_key[k].value
            ]
            if visible:
                min(visible, key=_cost).hidden = True
            elif not by_key[margin.total].fixed:
                by_key[margin.total].hidden = True
        found = exposed(cells, relations)
        if not found and not thin_margins(by_key, margins, threshold):
            return list(cells)
        if not found:
            continue
        # One more hidden cell for each exposed one, the cheapest of its own row first, then
        # of the same category in the other periods, then of its table: no trial and error,
        # the next round checks again.
        for target in found:
            if not target.hidden or target.key not in by_key:
                continue
            candidates = [
                c for c in cells if not c.hidden and not c.fixed and c.value and c.key != target.key
            ]
            if not candidates:
                raise RuntimeError(f"cell {target.key!r} is implied by cells already published")
            chosen = min(
                candidates,
                key=lambda c: (
                    not (target.row is not None and c.row == target.row),
                    not (target.family is not None and c.family == target.family),
                    c.group != target.group,
                    not (c.unknowns & target.unknowns),
                    _cost(c),
                ),
            )
            chosen.hidden = True
