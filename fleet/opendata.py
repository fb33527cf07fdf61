"""The observatory's open data: indicators per fixed period (ISO week, calendar month) and site.

Counted only from the terminals' anonymous ``session_ended`` events (docs/observatory.md): for
each session its start (day, hour, day of week), the tiles and groups of needs it opened, the
interface language it ended in, whether read-aloud, large text and high contrast were used, how
it ended, whether the help guide, a place or a number was shown. No terminal appears in the
files: a row is a *site*, the commune and (where the operator set it) the priority
neighbourhood (QPV) code of the terminals standing there.

Every count is a number of sessions. Counts from 1 to ``threshold - 1`` are hidden, and
:mod:`fleet.disclosure` hides what else would let them be computed back, against every period
published before (a published period is never rewritten).

Over 400 lines because it is one pipeline with one privacy argument: what a session may say, how
it is counted per period and site, what is hidden under the threshold and what is published.
Split, the protection against differencing would be read in pieces (docs/observatory.md, the
DPIA, follows this order).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, Final, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet import disclosure
from fleet.models import EventRecord, StateChange, Terminal
from fleet.states import TerminalState
from kiosk.contract.catalog import default_bundle_dir, load_catalog

SESSION_ENDED: Final = "session_ended"
#: The lowest threshold the fleet accepts (settings refuse less).
MIN_THRESHOLD: Final = 5
LICENCE: Final = {
    "name": "etalab-2.0",
    "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    "title": "Licence Ouverte / Open Licence version 2.0",
}
NO_CATEGORY: Final = "inconnu"
PeriodKind = Literal["semaine", "mois"]


# --------------------------------------------------------------------------------------------
# Periods


@dataclass(frozen=True, order=True)
class Period:
    """A fixed calendar period: an ISO week (Monday to Sunday) or a calendar month."""

    first: date
    last: date
    kind: PeriodKind

    @property
    def label(self) -> str:
        if self.kind == "mois":
            return f"{self.first.year:04d}-{self.first.month:02d}"
        year, week, _ = self.first.isocalendar()
        return f"{year:04d}-S{week:02d}"

    def days(self) -> Iterator[date]:
        day = self.first
        while day <= self.last:
            yield day
            day += timedelta(days=1)


def week_of(day: date) -> Period:
    first = day - timedelta(days=day.weekday())
    return Period(first, first + timedelta(days=6), "semaine")


def month_of(day: date) -> Period:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(first, following - timedelta(days=1), "mois")


def complete_periods(first_day: date, through: date) -> list[Period]:
    """The weeks and months that start on or after ``first_day``'s period and end by
    ``through`` (included)."""
    found: set[Period] = set()
    day = first_day
    while day <= through:
        for period in (week_of(day), month_of(day)):
            if period.last <= through:
                found.add(period)
        day += timedelta(days=1)
    return sorted(found)


# --------------------------------------------------------------------------------------------
# Sessions as the terminals report them


@dataclass(frozen=True)
class Site:
    """Where terminals stand, as the open data name it."""

    commune: str
    qpv: str


@dataclass(frozen=True)
class SessionFacts:
    """One session: only categories, never anything of the person."""

    site: Site
    day: date
    hour: int
    language: str
    reason: str
    tiles: frozenset[str]
    groups: frozenset[str]
    help: frozenset[str]
    assist: frozenset[str]


@dataclass(frozen=True)
class Dimension:
    """One table: its file, French title, and whether each session falls in exactly one of its
    categories (then the categories of a day add up to its sessions)."""

    name: str
    title: str
    description: str
    partition: bool
    categories: tuple[str, ...]


END_REASONS: Final = ("button", "idle", "max_length", "command")
LANGUAGES: Final = ("fr", "en", "es", "pt", "ar", "uk", NO_CATEGORY)
HELP_KINDS: Final = ("guide_opened", "places_shown", "numbers_shown")
ASSISTS: Final = ("read_aloud", "large_text", "high_contrast")
WEEKDAYS: Final = ("1", "2", "3", "4", "5", "6", "7")
HOURS: Final = tuple(f"{h:02d}" for h in range(24))


def catalog_tiles() -> tuple[tuple[str, ...], dict[str, str]]:
    """The shipped catalog's tiles and the group of needs of each."""
    catalog = load_catalog(default_bundle_dir())
    return tuple(t.id for t in catalog.tiles), {t.id: t.group for t in catalog.tiles}


def dimensions() -> tuple[Dimension, ...]:
    tiles, groups = catalog_tiles()
    return (
        Dimension(
            "tuiles",
            "Sessions par tuile",
            "Sessions ayant ouvert chaque tuile (une session peut en ouvrir plusieurs ; "
            "« aucune » : aucune tuile ouverte).",
            False,
            (*tiles, "aucune"),
        ),
        Dimension(
            "besoins",
            "Sessions par groupe de besoins",
            "Sessions ayant ouvert au moins une tuile de chaque groupe de besoins du catalogue.",
            False,
            tuple(dict.fromkeys(groups.values())),
        ),
        Dimension(
            "langues",
            "Sessions par langue de l'interface",
            "Langue de l'interface à la fin de la session (« inconnu » : borne plus ancienne).",
            True,
            LANGUAGES,
        ),
        Dimension(
            "accessibilite",
            "Usage des aides à la lecture",
            "Sessions ayant utilisé la lecture à voix haute (read_aloud), le grand texte "
            "(large_text) ou le contraste élevé (high_contrast).",
            False,
            ASSISTS,
        ),
        Dimension(
            "fins",
            "Fin des sessions",
            "Comment la session s'est terminée : bouton « Terminer » (button), inactivité "
            "(idle), durée maximale atteinte (max_length), commande de l'exploitation (command).",
            True,
            END_REASONS,
        ),
        Dimension(
            "aide",
            "Pages d'aide",
            "Sessions ayant ouvert le guide des lieux d'aide (guide_opened), affiché la page "
            "d'un lieu (places_shown) ou un numéro utile (numbers_shown).",
            False,
            HELP_KINDS,
        ),
        Dimension(
            "heures",
            "Sessions par heure de début",
            "Heure de début de la session (00 à 23, heure légale de Paris).",
            True,
            HOURS,
        ),
        Dimension(
            "jours",
            "Sessions par jour de la semaine",
            "Jour de la semaine du début de la session (1 : lundi, 7 : dimanche).",
            True,
            WEEKDAYS,
        ),
    )


def _flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key)
    if isinstance(value, bool):
        return value
    return isinstance(value, int) and value > 0


def facts_of(
    data: dict[str, Any], sent_at: datetime, site: Site, zone: tzinfo, groups: dict[str, str]
) -> SessionFacts:
    """One ``session_ended`` event's facts; an odd or missing value counts as unknown."""
    duration = data.get("duration_s")
    seconds = (
        float(duration)
        if isinstance(duration, int | float)
        and not isinstance(duration, bool)
        and 0 <= duration <= 86400
        else 0.0
    )
    start = (sent_at - timedelta(seconds=seconds)).astimezone(zone)
    raw = data.get("tiles")
    tiles = (
        frozenset(t.strip() for t in raw.split(",") if t.strip())
        if isinstance(raw, str)
        else frozenset()
    )
    language = data.get("language")
    reason = data.get("reason")
    return SessionFacts(
        site=site,
        day=start.date(),
        hour=start.hour,
        language=language if isinstance(language, str) and language in LANGUAGES else NO_CATEGORY,
        reason=reason if isinstance(reason, str) and reason in END_REASONS else "command",
        tiles=tiles or frozenset({"aucune"}),
        groups=frozenset(groups[t] for t in tiles if t in groups),
        help=frozenset(k for k in HELP_KINDS if _flag(data, k)),
        assist=frozenset(k for k in ASSISTS if _flag(data, k)),
    )


def categories_of(facts: SessionFacts, dimension: str) -> Iterable[str]:
    match dimension:
        case "tuiles":
            return facts.tiles
        case "besoins":
            return facts.groups
        case "langues":
            return (facts.language,)
        case "accessibilite":
            return facts.assist
        case "fins":
            return (facts.reason,)
        case "aide":
            return facts.help
        case "heures":
            return (f"{facts.hour:02d}",)
        case "jours":
            return (str(facts.day.isoweekday()),)
    raise KeyError(dimension)


def site_of(terminal: Terminal) -> Site:
    return Site((terminal.commune or "").strip(), (terminal.qpv_code or "").strip())


def sessions(session: Session, first_day: date, last_day: date, zone: tzinfo) -> list[SessionFacts]:
    """The sessions that started from ``first_day`` to ``last_day`` (days in ``zone``)."""
    _, groups = catalog_tiles()
    start = datetime.combine(first_day, time(), zone)
    # A session is reported when it ends: up to a day after its start.
    end = datetime.combine(last_day + timedelta(days=2), time(), zone)
    query = (
        select(Terminal, EventRecord.sent_at, EventRecord.data)
        .join(Terminal, Terminal.id == EventRecord.terminal_id)
        .where(
            EventRecord.kind == SESSION_ENDED,
            EventRecord.sent_at >= start,
            EventRecord.sent_at < end,
        )
    )
    found = []
    for terminal, sent_at, data in session.execute(query):
        facts = facts_of(
            data if isinstance(data, dict) else {}, sent_at, site_of(terminal), zone, groups
        )
        if first_day <= facts.day <= last_day:
            found.append(facts)
    return found


# --------------------------------------------------------------------------------------------
# Availability (a simple figure; replace this one function by a richer one when there is one)


def availability(
    session: Session, terminal_ids: Sequence[str], period: Period, zone: tzinfo
) -> float | None:
    """The share (0 to 1) of the period during which these terminals reported themselves
    online, from the presence changes the fleet recorded; None when none is known."""
    start = datetime.combine(period.first, time(), zone).astimezone(UTC)
    end = datetime.combine(period.last + timedelta(days=1), time(), zone).astimezone(UTC)
    online = known = 0.0
    for terminal_id in terminal_ids:
        changes = session.execute(
            select(StateChange.at, StateChange.state)
            .where(StateChange.terminal_id == terminal_id, StateChange.at < end)
            .order_by(StateChange.at)
        ).all()
        state: str | None = None
        since = start
        for at, new_state in changes:
            at = max(at, start)
            if state is not None:
                span = (at - since).total_seconds()
                known += span
                online += span if state == TerminalState.ONLINE else 0.0
            state, since = new_state, at
        if state is not None:
            span = (end - since).total_seconds()
            known += span
            online += span if state == TerminalState.ONLINE else 0.0
    return online / known if known > 0 else None


# --------------------------------------------------------------------------------------------
# Cells: what each period publishes, before and after suppression


CellKey = tuple[str, str, str, str, str]  # period label, table, commune, qpv, category


@dataclass
class Tables:
    """Every count of the periods, per table, site and category: ``None`` when hidden."""

    periods: list[Period]
    values: dict[CellKey, int | None] = field(default_factory=dict)
    availability: dict[tuple[str, str, str], tuple[int, float | None]] = field(default_factory=dict)


def _day_counts(
    facts: Iterable[SessionFacts], dims: Sequence[Dimension]
) -> dict[tuple[Site, date], Counter[tuple[str, str]]]:
    counts: dict[tuple[Site, date], Counter[tuple[str, str]]] = defaultdict(Counter)
    for f in facts:
        day = counts[(f.site, f.day)]
        day[("sessions", "total")] += 1
        for dim in dims:
            for category in categories_of(f, dim.name):
                day[(dim.name, category)] += 1
    return counts


class _Unknowns:
    """Numbers the unknowns of a site: one per day and table category (and day total)."""

    def __init__(self) -> None:
        self._index: dict[tuple[str, str, date], int] = {}

    def __call__(self, table: str, category: str, day: date) -> int:
        key = (table, category, day)
        if key not in self._index:
            self._index[key] = len(self._index)
        return self._index[key]


def _systems(
    site: Site,
    periods: Sequence[Period],
    counts: dict[tuple[Site, date], Counter[tuple[str, str]]],
    dims: Sequence[Dimension],
    published: dict[CellKey, int | None],
) -> list[tuple[list[disclosure.Cell], list[disclosure.Relation], list[disclosure.Margin]]]:
    """The independent systems of one site: the day totals with every partition table, and
    one per category of each other table (nothing links them but bounds)."""
    unknown = _Unknowns()
    all_days = sorted({d for p in periods for d in p.days()})
    # Days in exactly the same periods form a class: apart from the day totals (which the
    # days of the week single out), a category is only ever seen summed over whole classes,
    # so one unknown per class and category is the same system, much smaller.
    class_of = {
        d: min(x for x in all_days if _periods_of(x, periods) == _periods_of(d, periods))
        for d in all_days
    }
    classes = sorted(set(class_of.values()))

    def cell(
        period: Period,
        table: str,
        category: str,
        unknowns: frozenset[int],
        value: int,
        row: str | None,
    ) -> disclosure.Cell:
        key: CellKey = (period.label, table, site.commune, site.qpv, category)
        fixed = key in published
        return disclosure.Cell(
            key=key,
            unknowns=unknowns,
            value=value,
            row=(period.label, row) if row else None,
            group=(period.label, table),
            family=(table, category),
            hidden=fixed and published[key] is None,
            fixed=fixed,
        )

    def value(period: Period, table: str, category: str) -> int:
        return sum(counts.get((site, d), Counter())[(table, category)] for d in period.days())

    linked: list[disclosure.Cell] = []
    relations: list[disclosure.Relation] = []
    margins: list[disclosure.Margin] = []
    partition = [d for d in dims if d.partition and d.name != "jours"]
    for first in classes:
        total = frozenset(unknown("sessions", "total", d) for d in all_days if class_of[d] == first)
        for dim in partition:
            relations.append(
                disclosure.Relation(
                    frozenset(unknown(dim.name, c, first) for c in dim.categories), total
                )
            )
    for period in periods:
        days = list(period.days())
        total_cell = cell(
            period,
            "sessions",
            "total",
            frozenset(unknown("sessions", "total", d) for d in days),
            value(period, "sessions", "total"),
            None,
        )
        linked.append(total_cell)
        for dim in (d for d in dims if d.partition):
            margin = disclosure.Margin(total_cell.key)
            for category in dim.categories:
                if dim.name == "jours":
                    unknowns = frozenset(
                        unknown("sessions", "total", d)
                        for d in days
                        if str(d.isoweekday()) == category
                    )
                else:
                    unknowns = frozenset(unknown(dim.name, category, class_of[d]) for d in days)
                c = cell(
                    period,
                    dim.name,
                    category,
                    unknowns,
                    value(period, dim.name, category),
                    dim.name,
                )
                linked.append(c)
                margin.cells.append(c.key)
            margins.append(margin)
    systems = [(linked, relations, margins)]
    for dim in (d for d in dims if not d.partition):
        for category in dim.categories:
            own = [
                cell(
                    period,
                    dim.name,
                    category,
                    frozenset(unknown(dim.name, category, class_of[d]) for d in period.days()),
                    value(period, dim.name, category),
                    None,
                )
                for period in periods
            ]
            systems.append((own, [], []))
    return systems


def _periods_of(day: date, periods: Sequence[Period]) -> frozenset[str]:
    return frozenset(p.label for p in periods if p.first <= day <= p.last)


def build_tables(
    session: Session,
    periods: Sequence[Period],
    zone: tzinfo,
    threshold: int,
    published: dict[CellKey, int | None] | None = None,
    suppress: bool = True,
) -> Tables:
    """Count and protect the cells of ``periods`` (``published``: cells of periods already
    out, as they were published; they are taken as known and never changed)."""
    if threshold < MIN_THRESHOLD:
        raise ValueError(f"the threshold may not be below {MIN_THRESHOLD}")
    published = dict(published or {})
    old = sorted({_period_of_label(k[0]) for k in published} - set(periods))
    everything = sorted(set(periods) | set(old))
    dims = dimensions()
    first = min(p.first for p in everything)
    last = max(p.last for p in everything)
    facts = sessions(session, first, last, zone)
    counts = _day_counts(facts, dims)
    sites = sorted({f.site for f in facts}, key=lambda s: (s.commune, s.qpv))
    tables = Tables(list(periods))
    wanted = {p.label for p in periods}
    for site in sites:
        for cells, relations, margins in _systems(site, everything, counts, dims, published):
            if suppress:
                disclosure.protect(cells, relations, margins, threshold)
            else:  # the naive rule, for the tests that show why it is not enough
                for c in cells:
                    c.hidden = (c.fixed and c.hidden) or (not c.fixed and 0 < c.value < threshold)
            for c in cells:
                key = c.key
                assert isinstance(key, tuple)
                if key[0] in wanted:
                    tables.values[key] = None if c.hidden else c.value
    terminals = session.scalars(select(Terminal)).all()
    by_site: dict[Site, list[str]] = defaultdict(list)
    for terminal in terminals:
        if terminal.decommissioned_at is None:
            by_site[site_of(terminal)].append(terminal.id)
    for period in periods:
        for site, ids in by_site.items():
            tables.availability[(period.label, site.commune, site.qpv)] = (
                len(ids),
                availability(session, ids, period, zone),
            )
    return tables


def _period_of_label(label: str) -> Period:
    if "-S" in label:
        year, week = label.split("-S")
        return week_of(date.fromisocalendar(int(year), int(week), 1))
    year, month = label.split("-")
    return month_of(date(int(year), int(month), 1))


# --------------------------------------------------------------------------------------------
# The Data Package


COUNT_FIELDS: Final = (
    "periode",
    "type_periode",
    "debut",
    "fin",
    "commune",
    "code_qpv",
    "categorie",
    "sessions",
    "secret_statistique",
)


def _count_schema(dim_description: str) -> dict[str, Any]:
    return {
        "fields": [
            {
                "name": "periode",
                "type": "string",
                "description": "Période : semaine ISO (AAAA-Snn) ou mois (AAAA-MM).",
            },
            {
                "name": "type_periode",
                "type": "string",
                "constraints": {"enum": ["semaine", "mois"]},
                "description": "Semaine (du lundi au dimanche) ou mois civil.",
            },
            {"name": "debut", "type": "date", "description": "Premier jour de la période."},
            {"name": "fin", "type": "date", "description": "Dernier jour de la période (inclus)."},
            {
                "name": "commune",
                "type": "string",
                "description": "Commune où se trouvent les bornes (vide : non renseignée).",
            },
            {
                "name": "code_qpv",
                "type": "string",
                "description": "Code du quartier prioritaire de la politique de la ville (QPV) "
                "du site, lorsque l'exploitant l'a renseigné ; vide sinon.",
            },
            {"name": "categorie", "type": "string", "description": dim_description},
            {
                "name": "sessions",
                "type": "integer",
                "constraints": {"minimum": 0},
                "description": "Nombre de sessions ; vide quand le chiffre est couvert par le "
                "secret statistique.",
            },
            {
                "name": "secret_statistique",
                "type": "boolean",
                "trueValues": ["oui"],
                "falseValues": ["non"],
                "description": "« oui » : chiffre masqué (moins que le seuil, ou masqué pour "
                "qu'aucun autre ne puisse être recalculé).",
            },
        ],
        "missingValues": [""],
    }


AVAILABILITY_FIELDS: Final = (
    "periode",
    "type_periode",
    "debut",
    "fin",
    "commune",
    "code_qpv",
    "bornes",
    "disponibilite_pourcent",
)
AVAILABILITY_SCHEMA: Final[dict[str, Any]] = {
    "fields": [
        {"name": "periode", "type": "string", "description": "Période (AAAA-Snn ou AAAA-MM)."},
        {
            "name": "type_periode",
            "type": "string",
            "constraints": {"enum": ["semaine", "mois"]},
            "description": "Semaine ou mois civil.",
        },
        {"name": "debut", "type": "date", "description": "Premier jour de la période."},
        {"name": "fin", "type": "date", "description": "Dernier jour de la période (inclus)."},
        {"name": "commune", "type": "string", "description": "Commune du site."},
        {"name": "code_qpv", "type": "string", "description": "Code QPV du site, ou vide."},
        {
            "name": "bornes",
            "type": "integer",
            "constraints": {"minimum": 0},
            "description": "Nombre de bornes en service sur le site.",
        },
        {
            "name": "disponibilite_pourcent",
            "type": "number",
            "constraints": {"minimum": 0, "maximum": 100},
            "description": "Part du temps de la période où les bornes se sont déclarées en "
            "ligne (moyenne des bornes du site) ; vide si inconnue.",
        },
    ],
    "missingValues": [""],
}


def _csv(rows: Iterable[Sequence[Any]], header: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def package_files(tables: Tables, period: Period, threshold: int) -> dict[str, str]:
    """The files of one period's Data Package: name -> UTF-8 text."""
    files: dict[str, str] = {}
    resources = []
    head = (period.label, period.kind, period.first.isoformat(), period.last.isoformat())
    for dim in (
        Dimension("sessions", "Sessions", "Toutes les sessions (« total »).", True, ("total",)),
        *dimensions(),
    ):
        rows = []
        for (label, table, commune, qpv, category), value in sorted(tables.values.items()):
            if label == period.label and table == dim.name:
                rows.append(
                    (
                        *head,
                        commune,
                        qpv,
                        category,
                        "" if value is None else value,
                        "oui" if value is None else "non",
                    )
                )
        files[f"{dim.name}.csv"] = _csv(rows, COUNT_FIELDS)
        resources.append(
            {
                "name": dim.name,
                "path": f"{dim.name}.csv",
                "title": dim.title,
                "description": dim.description,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "profile": "tabular-data-resource",
                "schema": _count_schema(dim.description),
            }
        )
    shares: list[tuple[Any, ...]] = []
    for (label, commune, qpv), (count, share) in sorted(tables.availability.items()):
        if label == period.label:
            shares.append(
                (*head, commune, qpv, count, "" if share is None else round(share * 100, 1))
            )
    files["disponibilite.csv"] = _csv(shares, AVAILABILITY_FIELDS)
    resources.append(
        {
            "name": "disponibilite",
            "path": "disponibilite.csv",
            "title": "Disponibilité des bornes",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "profile": "tabular-data-resource",
            "schema": AVAILABILITY_SCHEMA,
        }
    )
    descriptor = {
        "profile": "tabular-data-package",
        "name": f"observatoire-inclusion-numerique-{period.label.lower()}",
        "title": f"Observatoire de l'inclusion numérique : usage des bornes, {period.label}",
        "description": (
            "Usage observé des bornes publiques d'accès aux services en ligne, compté à partir "
            "des seuls événements anonymes de fin de session (aucune adresse visitée, aucun "
            f"texte saisi, aucun identifiant de personne). Secret statistique : tout chiffre de "
            f"1 à {threshold - 1} sessions est masqué, ainsi que ceux qui permettraient de le "
            "recalculer par différence (marges, autres tables, semaines et mois publiés)."
        ),
        "licenses": [LICENCE],
        "keywords": ["inclusion numérique", "bornes", "services publics"],
        "temporal": {"start": period.first.isoformat(), "end": period.last.isoformat()},
        "secret_statistique_seuil": threshold,
        "resources": resources,
    }
    files["datapackage.json"] = json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n"
    return files


def read_published(folder: Path) -> dict[CellKey, int | None]:
    """The count cells of every period already in ``folder``, as published."""
    published: dict[CellKey, int | None] = {}
    if not folder.is_dir():
        return published
    for descriptor in sorted(folder.glob("*/datapackage.json")):
        for resource in json.loads(descriptor.read_text(encoding="utf-8"))["resources"]:
            if resource["name"] == "disponibilite":
                continue
            text = (descriptor.parent / resource["path"]).read_text(encoding="utf-8")
            for row in csv.DictReader(io.StringIO(text)):
                key = (
                    row["periode"],
                    resource["name"],
                    row["commune"],
                    row["code_qpv"],
                    row["categorie"],
                )
                published[key] = (
                    None if row["secret_statistique"] == "oui" else int(row["sessions"])
                )
    return published


def publish(
    session: Session,
    folder: Path,
    through: date,
    zone: tzinfo,
    threshold: int,
    since: date | None = None,
) -> list[Period]:
    """Write a Data Package for every complete week and month up to ``through`` not yet in
    ``folder`` (one sub-folder per period); returns the periods written."""
    published = read_published(folder)
    done = {k[0] for k in published}
    start = since or _first_session_day(session, zone)
    if start is None:
        return []
    todo = [p for p in complete_periods(start, through) if p.label not in done]
    if not todo:
        return []
    tables = build_tables(session, todo, zone, threshold, published)
    for period in todo:
        target = folder / period.label
        target.mkdir(parents=True, exist_ok=True)
        for name, text in package_files(tables, period, threshold).items():
            (target / name).write_text(text, encoding="utf-8", newline="")
    return todo


def _first_session_day(session: Session, zone: tzinfo) -> date | None:
    first = session.scalar(
        select(EventRecord.sent_at)
        .where(EventRecord.kind == SESSION_ENDED)
        .order_by(EventRecord.sent_at)
        .limit(1)
    )
    return None if first is None else (first.astimezone(zone) - timedelta(days=1)).date()


# --------------------------------------------------------------------------------------------
# Reading what was published (the pages show nothing else)

#: The files a period's package holds: what the pages and the public URL may serve.
PACKAGE_FILES: Final = (
    "datapackage.json",
    "sessions.csv",
    *(
        f"{name}.csv"
        for name in (
            "tuiles",
            "besoins",
            "langues",
            "accessibilite",
            "fins",
            "aide",
            "heures",
            "jours",
        )
    ),
    "disponibilite.csv",
)
LABEL_PATTERN: Final = r"^[0-9]{4}-(S[0-9]{2}|[0-9]{2})$"


@dataclass(frozen=True)
class PublishedRow:
    commune: str
    qpv: str
    category: str
    sessions: int | None


def published_periods(folder: Path | None) -> list[str]:
    """The labels of the periods in ``folder``, newest first (months and weeks)."""
    if folder is None or not folder.is_dir():
        return []
    labels = [d.parent.name for d in folder.glob("*/datapackage.json")]
    return sorted(labels, key=lambda label: (_period_of_label(label).last, label), reverse=True)


def published_table(folder: Path, label: str, table: str) -> list[PublishedRow]:
    path = folder / label / f"{table}.csv"
    if not path.is_file():
        return []
    rows = []
    for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
        hidden = row["secret_statistique"] == "oui"
        rows.append(
            PublishedRow(
                row["commune"],
                row["code_qpv"],
                row["categorie"],
                None if hidden else int(row["sessions"]),
            )
        )
    return rows
