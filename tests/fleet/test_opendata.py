"""The observatory's open data: indicators, suppression against differencing, Data Package."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from frictionless import Package
from sqlalchemy.orm import Session

from fleet import disclosure, opendata
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.models import EventRecord, StateChange, Terminal

from . import attacker

PARIS = ZoneInfo("Europe/Paris")
#: February 2027 starts on a Monday and ends on a Sunday: the month is exactly its four weeks,
#: the case where a month minus three weeks gives the fourth.
FEBRUARY = opendata.month_of(date(2027, 2, 1))
THRESHOLD = 11
LANGS = ("fr", "fr", "fr", "fr", "en", "ar", "uk", "es")
REASONS = ("button", "button", "idle", "idle", "max_length")


def fill(session: Session, terminals: int, sites: int, per_day: int, seed: int = 7) -> None:
    """``terminals`` terminals on ``sites`` sites, about ``per_day`` sessions a day each, in
    February 2027, as the agents report them (``session_ended`` events)."""
    rng = random.Random(seed)
    tiles, _ = opendata.catalog_tiles()
    start = datetime(2027, 2, 1, tzinfo=UTC)
    seq = 0
    for t in range(terminals):
        site = t % sites
        terminal = Terminal(
            id=f"bdx-{t:03d}",
            state="online",
            state_since=start,
            created_at=start,
            versions={},
            commune=f"Commune {site}",
            qpv_code="QN03301M" if site == 0 else None,
        )
        session.add(terminal)
        session.flush()
        session.add(
            StateChange(terminal_id=terminal.id, at=start - timedelta(days=3), state="online")
        )
        session.add(
            StateChange(terminal_id=terminal.id, at=start + timedelta(days=10), state="lost")
        )
        session.add(
            StateChange(
                terminal_id=terminal.id, at=start + timedelta(days=10, hours=6), state="online"
            )
        )
        for day in range(28):
            for _ in range(rng.randint(0, 2 * per_day)):
                seq += 1
                at = start + timedelta(
                    days=day,
                    hours=rng.choice((7, 9, 10, 11, 14, 16, 18, 22)),
                    minutes=rng.randint(0, 59),
                )
                used = rng.sample(tiles[:8], rng.choice((0, 1, 1, 2)))
                session.add(
                    EventRecord(
                        terminal_id=terminal.id,
                        seq=seq,
                        kind="session_ended",
                        sent_at=at,
                        received_at=at,
                        data={
                            "duration_s": rng.randint(20, 900),
                            "reason": rng.choice(REASONS),
                            "tiles": ",".join(used),
                            "tiles_count": len(used),
                            "guide_opened": int(rng.random() < 0.1),
                            "places_shown": 0,
                            "numbers_shown": int(rng.random() < 0.05),
                            "language": rng.choice(LANGS),
                            "read_aloud": rng.random() < 0.08,
                            "large_text": rng.random() < 0.1,
                            "high_contrast": rng.random() < 0.03,
                        },
                    )
                )
    session.commit()


@pytest.fixture
def db(settings: FleetSettings) -> Session:
    engine = make_engine(settings.database_url)
    return make_session_factory(engine)()


def published_folder(db: Session, tmp_path: Path, suppress: bool = True) -> Path:
    folder = tmp_path / "open"
    if suppress:
        opendata.publish(db, folder, FEBRUARY.last, PARIS, THRESHOLD, since=FEBRUARY.first)
    else:
        periods = opendata.complete_periods(FEBRUARY.first, FEBRUARY.last)
        tables = opendata.build_tables(db, periods, PARIS, THRESHOLD, suppress=False)
        for period in periods:
            (folder / period.label).mkdir(parents=True)
            for name, text in opendata.package_files(tables, period, THRESHOLD).items():
                (folder / period.label / name).write_text(text, encoding="utf-8")
    return folder


def truth(db: Session) -> dict[tuple[str, str, tuple[str, str], str], int]:
    """The true counts, straight from the sessions."""
    periods = opendata.complete_periods(FEBRUARY.first, FEBRUARY.last)
    real: dict[tuple[str, str, tuple[str, str], str], int] = {}
    for facts in opendata.sessions(db, FEBRUARY.first, FEBRUARY.last, PARIS):
        site = (facts.site.commune, facts.site.qpv)
        for period in periods:
            if not period.first <= facts.day <= period.last:
                continue
            keys = [("sessions", "total")] + [
                (dim.name, c)
                for dim in opendata.dimensions()
                for c in opendata.categories_of(facts, dim.name)
            ]
            for table, category in keys:
                key = (period.label, table, site, category)
                real[key] = real.get(key, 0) + 1
    return real


def test_the_periods_are_fixed_weeks_and_months() -> None:
    periods = opendata.complete_periods(FEBRUARY.first, FEBRUARY.last)
    assert sorted(p.label for p in periods) == [
        "2027-02",
        "2027-S05",
        "2027-S06",
        "2027-S07",
        "2027-S08",
    ]
    assert opendata.week_of(date(2027, 3, 3)) == opendata.Period(
        date(2027, 3, 1), date(2027, 3, 7), "semaine"
    )
    assert opendata.month_of(date(2028, 2, 10)).last == date(2028, 2, 29)


def test_the_threshold_cannot_go_below_five(db: Session) -> None:
    with pytest.raises(ValueError, match="below 5"):
        opendata.build_tables(db, [FEBRUARY], PARIS, 4)


def test_naive_suppression_is_recovered_by_differencing(db: Session, tmp_path: Path) -> None:
    """Hiding only the small cells is not enough: the attacker gets some of them back, and
    with their true values."""
    fill(db, terminals=6, sites=3, per_day=3)
    cells = attacker.read(published_folder(db, tmp_path, suppress=False))
    recovered = {**attacker.margin_attack(cells), **attacker.linear_attack(cells)}
    assert recovered, "the naive rule should have leaked"
    real = truth(db)
    for cell, value in recovered.items():
        assert real.get((cell.period, cell.table, cell.site, cell.category), 0) == value
        assert 0 <= value < THRESHOLD


def test_nothing_hidden_can_be_recovered(db: Session, tmp_path: Path) -> None:
    fill(db, terminals=6, sites=3, per_day=3)
    cells = attacker.read(published_folder(db, tmp_path))
    hidden = [c for c in cells if c.value is None]
    assert hidden, "with so few sessions something must be hidden"
    assert attacker.margin_attack(cells) == {}
    assert attacker.linear_attack(cells) == {}
    assert all(c.value is None or c.value == 0 or c.value >= THRESHOLD for c in cells)


def test_a_later_period_does_not_uncover_an_earlier_one(db: Session, tmp_path: Path) -> None:
    """Weeks published first, the month after: the month must not give away a hidden week."""
    fill(db, terminals=6, sites=3, per_day=3)
    folder = tmp_path / "open"
    first = opendata.publish(db, folder, date(2027, 2, 27), PARIS, THRESHOLD, since=FEBRUARY.first)
    assert [p.label for p in first] == ["2027-S05", "2027-S06", "2027-S07"]
    before = (folder / "2027-S05" / "langues.csv").read_text(encoding="utf-8")
    later = opendata.publish(db, folder, FEBRUARY.last, PARIS, THRESHOLD, since=FEBRUARY.first)
    assert sorted(p.label for p in later) == ["2027-02", "2027-S08"]
    assert (folder / "2027-S05" / "langues.csv").read_text(encoding="utf-8") == before
    cells = attacker.read(folder)
    assert attacker.linear_attack(cells) == {}


def test_the_data_package_is_valid(db: Session, tmp_path: Path) -> None:
    fill(db, terminals=4, sites=2, per_day=6)
    folder = published_folder(db, tmp_path)
    descriptor = folder / "2027-02" / "datapackage.json"
    report = Package(str(descriptor)).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    package = json.loads(descriptor.read_text(encoding="utf-8"))
    assert package["licenses"][0]["name"] == "etalab-2.0"
    names = {r["name"] for r in package["resources"]}
    assert {
        "sessions",
        "tuiles",
        "besoins",
        "langues",
        "accessibilite",
        "fins",
        "aide",
        "heures",
        "jours",
        "disponibilite",
    } <= names
    for resource in package["resources"]:
        assert resource["encoding"] == "utf-8"
        for fld in resource["schema"]["fields"]:
            assert fld["description"]
    availability = (folder / "2027-02" / "disponibilite.csv").read_text(encoding="utf-8")
    # Six hours lost out of 28 days: 99.1 %.
    assert ",99.1" in availability


def test_the_protection_is_exact_on_a_small_case() -> None:
    """Two weeks and their month, one category hidden in one week only."""
    week1 = disclosure.Cell("w1", frozenset({0}), 3)
    week2 = disclosure.Cell("w2", frozenset({1}), 40)
    month = disclosure.Cell("m", frozenset({0, 1}), 43)
    cells = [week1, week2, month]
    disclosure.protect(cells, [], [], THRESHOLD)
    assert week1.hidden
    assert week2.hidden or month.hidden
    assert disclosure.exposed(cells, []) == []
