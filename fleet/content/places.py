"""``fleet content places import``: a CSV in La MedNum's national format into a bundle's guide.

Every row is validated by ``frictionless`` against the schema's fields (names, types, required
columns, patterns, unique ``id``), with the closed vocabularies of :mod:`kiosk.contract.places`
written as
escaped patterns, plus one check of our own: the opening hours must parse as OpenStreetMap's
syntax (the schema says so in words only). Each error becomes one French sentence with its line.
The valid places are written to ``places.json`` in the bundle, atomically; nothing is written
when the file itself is unusable, nor when any row is wrong unless the operator asks to keep the
valid ones.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import opening_hours
from frictionless import Check, Checklist, Error, Row, Schema
from frictionless.errors import CellError
from frictionless.formats import CsvControl
from frictionless.resources import TableResource
from pydantic import ValidationError

from fleet.content.i18n import gettext_for
from kiosk.contract.places import (
    ACCESS,
    FEES,
    GUIDANCE,
    MAX_PLACES,
    PLACES_FILE,
    PUBLICS,
    ROAMING,
    SEPARATOR,
    SEPARATORS,
    SERVICES,
    SUPPORTS,
    VOCABULARIES,
    Place,
    PlacesFile,
)

#: The schema's telephone pattern (French territories' country codes, no spaces).
PHONE_PATTERN: Final = r"^(\+33|\+590|\+594|\+262|\+596|\+269|\+687|\+689|\+508|\+681)(\d){6,9}$"
#: A larger file is refused before it is read (the national file is about 10 MB).
MAX_CSV_BYTES: Final = 50 * 1024 * 1024


def _text(name: str, *, required: bool = False, **constraints: Any) -> dict[str, Any]:
    return {"name": name, "type": "string", "constraints": {"required": required, **constraints}}


def _vocabulary(name: str, *, required: bool = False) -> dict[str, Any]:
    return _text(name, required=required, pattern=VOCABULARIES[name].pattern())


def schema_descriptor() -> dict[str, Any]:
    """The Table Schema rows are checked against (the schema's fields, in its order)."""
    number = {"type": "number"}
    return {
        "fields": [
            _text("id", required=True, unique=True),
            _text("pivot", required=True),
            _text("nom", required=True),
            _text("commune", required=True),
            _text("code_postal", required=True, pattern=r"^\d{5}$"),
            _text("code_insee", pattern=r"^([013-9]\d|2[AB1-9])\d{3}$"),
            _text("adresse", required=True),
            _text("complement_adresse"),
            # The bounds are ours: the schema only says WGS84.
            {"name": "latitude", **number, "constraints": {"minimum": -90, "maximum": 90}},
            {"name": "longitude", **number, "constraints": {"minimum": -180, "maximum": 180}},
            _text("typologie"),
            _text("telephone", pattern=PHONE_PATTERN),
            _text("courriels"),
            _text("site_web"),
            _text("horaires"),
            _text("presentation_resume", maxLength=280),
            _text("presentation_detail"),
            _text("source"),
            _vocabulary("itinerance"),
            _text("structure_parente"),
            {"name": "date_maj", "type": "date", "constraints": {"required": True}},
            _vocabulary("services", required=True),
            _vocabulary("publics_specifiquement_adresses"),
            _vocabulary("prise_en_charge_specifique"),
            _vocabulary("frais_a_charge"),
            _vocabulary("dispositif_programmes_nationaux"),
            _vocabulary("formations_labels"),
            _text("autres_formations_labels"),
            _vocabulary("modalites_acces"),
            _vocabulary("modalites_accompagnement"),
            _text("fiche_acces_libre"),
            _text("prise_rdv"),
        ],
        "primaryKey": "id",
        # Columns are matched by name, and optional ones may be absent (required ones are
        # checked before); other columns are reported as ignored.
        "fieldsMatch": "subset",
    }


class OpeningHoursCheck(Check):
    """``horaires`` must be OpenStreetMap opening hours the terminal can evaluate."""

    type = "opening-hours"
    Errors = [CellError]  # noqa: RUF012 (frictionless reads this class attribute)

    def validate_row(self, row: Row) -> Iterator[Error]:
        value = row["horaires"] if "horaires" in row.field_names else None
        if isinstance(value, str) and value.strip() and not opening_hours.validate(value):
            yield CellError.from_row(row, note="opening-hours", field_name="horaires")


@dataclass
class ImportReport:
    """What an import found: the places kept, every problem, and columns it ignored."""

    places: list[Place] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: Line numbers with at least one problem (their places are not kept).
    bad_lines: set[int] = field(default_factory=set)
    ignored_columns: list[str] = field(default_factory=list)
    #: A problem with the file as a whole (nothing can be imported from it).
    unusable: bool = False


def _explain(error: Error, language: str) -> str:
    """One frictionless error as a French sentence with its line and column."""
    _ = gettext_for(language)
    kind = error.type
    line = getattr(error, "row_number", None)
    column = getattr(error, "field_name", None) or getattr(error, "label", None) or ""
    cell = getattr(error, "cell", "")
    note = error.note or ""
    values = ""
    if column in VOCABULARIES:
        values = "; ".join(VOCABULARIES[column].values)
    if kind == "constraint-error" and '"required"' in note:
        text = _("column « %(column)s » is required but empty") % {"column": column}
    elif kind == "constraint-error" and '"pattern"' in note and values:
        text = _(
            "« %(value)s » is not among the values of « %(column)s » (one or more of: %(values)s,"
            " separated by ';')"
        ) % {"value": cell, "column": column, "values": values}
    elif kind == "constraint-error" and '"pattern"' in note and column == "telephone":
        text = _(
            "« %(value)s » is not a phone number in the international form, without spaces"
            " (for example +33556102613)"
        ) % {"value": cell}
    elif kind == "constraint-error" and '"pattern"' in note:
        text = _("« %(value)s » does not have the form expected in « %(column)s »") % {
            "value": cell,
            "column": column,
        }
    elif kind == "constraint-error" and '"maxLength"' in note:
        text = _("column « %(column)s » is too long (at most 280 characters)") % {"column": column}
    elif kind == "constraint-error" and ('"minimum"' in note or '"maximum"' in note):
        text = _("« %(value)s » is out of range for « %(column)s »") % {
            "value": cell,
            "column": column,
        }
    elif kind == "type-error" and column == "date_maj":
        text = _("« %(value)s » is not a date written YYYY-MM-DD") % {"value": cell}
    elif kind == "type-error":
        text = _("« %(value)s » is not a number (use a point: 44.8378)") % {"value": cell}
    elif kind in ("unique-error", "primary-key"):
        text = _("the id « %(value)s » is already used on another line") % {"value": cell}
    elif kind == "cell-error" and note == "opening-hours":
        text = _(
            "« %(value)s » is not written in OpenStreetMap's opening hours syntax"
            " (for example: Mo-Fr 09:00-12:00,14:00-18:00; Sa 09:00-12:00)"
        ) % {"value": cell}
    elif kind == "extra-cell":
        text = _("this line has more cells than the header")
    elif kind == "missing-cell":
        text = _("this line has fewer cells than the header (« %(column)s » is missing)") % {
            "column": column
        }
    elif kind == "blank-row":
        text = _("this line is empty")
    elif kind in ("duplicate-label", "blank-label"):
        return _("line 1: the column « %(column)s » is named twice or has no name") % {
            "column": column
        }
    else:
        text = _("%(kind)s: %(detail)s") % {"kind": kind, "detail": note or error.message}
    if line is None:
        return text
    return _("line %(line)d: %(text)s") % {"line": line, "text": text}


def _values(cell: object) -> tuple[str, ...]:
    if not isinstance(cell, str):
        return ()
    return tuple(part for part in SEPARATORS.split(cell.strip()) if part)


def _urls(cell: object) -> tuple[str, ...]:
    # Several addresses: ';' in the format, '|' or ',' in files made after later versions.
    if not isinstance(cell, str):
        return ()
    parts = cell.replace("|", SEPARATOR).replace(",", SEPARATOR).split(SEPARATOR)
    return tuple(p.strip() for p in parts if p.strip().startswith(("https://", "http://")))


def _optional(cell: object) -> str | None:
    return cell.strip() if isinstance(cell, str) and cell.strip() else None


def _number(cell: object) -> float | None:
    return float(cell) if isinstance(cell, Decimal | int | float) else None


def place_from_row(row: dict[str, Any]) -> Place:
    """The terminal's view of a valid row (the vocabularies under their canonical spelling)."""
    day = row.get("date_maj")
    return Place(
        id=str(row["id"]),
        nom=str(row["nom"]),
        adresse=str(row["adresse"]),
        complement_adresse=_optional(row.get("complement_adresse")),
        code_postal=str(row["code_postal"]),
        commune=str(row["commune"]),
        latitude=_number(row.get("latitude")),
        longitude=_number(row.get("longitude")),
        telephone=_optional(row.get("telephone")),
        courriels=_values(row.get("courriels")),
        site_web=_urls(row.get("site_web")),
        horaires=_optional(row.get("horaires")),
        presentation_resume=_optional(row.get("presentation_resume")),
        services=SERVICES.parse(row.get("services")),
        publics=PUBLICS.parse(row.get("publics_specifiquement_adresses")),
        supports=SUPPORTS.parse(row.get("prise_en_charge_specifique")),
        fees=FEES.parse(row.get("frais_a_charge")),
        access=ACCESS.parse(row.get("modalites_acces")),
        guidance=GUIDANCE.parse(row.get("modalites_accompagnement")),
        roaming=ROAMING.parse(row.get("itinerance")),
        prise_rdv=next(iter(_urls(row.get("prise_rdv"))), None),
        date_maj=day if isinstance(day, date) else date.min,
        source=_optional(row.get("source")),
    )


def _file_problem(path: Path, data: bytes, language: str) -> str | None:
    _ = gettext_for(language)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _(
            "%(path)s is not encoded in UTF-8 (the format's encoding): save it again as"
            " « CSV UTF-8 »."
        ) % {"path": path.name}
    header = text.splitlines()[0] if text.strip() else ""
    if not header:
        return _("%(path)s is empty.") % {"path": path.name}
    if "," not in header and header.count(";") > 2:
        return _(
            "line 1: the columns are separated by ';' but the format separates them with ','"
            " (';' is for several values in one cell)."
        )
    return None


def validate_csv(path: Path, language: str = "fr") -> ImportReport:
    """Check every row of ``path``; the report holds the valid places and every problem."""
    _ = gettext_for(language)
    report = ImportReport()
    try:
        size = path.stat().st_size
        if size > MAX_CSV_BYTES:
            report.problems.append(
                _("%(path)s is too big: %(size)d bytes, at most %(limit)d.")
                % {"path": path.name, "size": size, "limit": MAX_CSV_BYTES}
            )
            report.unusable = True
            return report
        data = path.read_bytes()
    except OSError as exc:
        report.problems.append(
            _("%(path)s cannot be read: %(error)s") % {"path": path, "error": exc.strerror}
        )
        report.unusable = True
        return report
    problem = _file_problem(path, data, language)
    if problem is not None:
        report.problems.append(problem)
        report.unusable = True
        return report
    schema = Schema.from_descriptor(schema_descriptor())

    def table() -> TableResource:
        return TableResource(
            data=data,
            format="csv",
            encoding="utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8",
            schema=schema,
            control=CsvControl(delimiter=","),
        )

    resource = table()
    with resource:
        labels = list(resource.labels)
    missing = [
        f.name for f in schema.fields if f.constraints.get("required") and f.name not in labels
    ]
    if missing:
        report.problems.append(
            _("line 1: required column(s) missing: %(columns)s.") % {"columns": ", ".join(missing)}
        )
        report.unusable = True
        return report
    report.ignored_columns = [label for label in labels if label not in schema.field_names]
    result = resource.validate(checklist=Checklist(checks=[OpeningHoursCheck()]))
    for error in sorted(result.tasks[0].errors, key=lambda e: getattr(e, "row_number", 0) or 0):
        report.problems.append(_explain(error, language))
        line = getattr(error, "row_number", None)
        if line is None:
            report.unusable = True
        else:
            report.bad_lines.add(line)
    if report.unusable:
        return report
    with table() as rows:
        for row in rows.row_stream:
            if row.row_number in report.bad_lines or not row.valid:
                continue
            try:
                report.places.append(place_from_row(row.to_dict()))
            except ValidationError as exc:
                report.bad_lines.add(row.row_number)
                report.problems.append(
                    _("line %(line)d: %(text)s")
                    % {"line": row.row_number, "text": exc.errors()[0]["msg"]}
                )
    if len(report.places) > MAX_PLACES:
        report.problems.append(
            _("the file holds %(count)d places, a guide at most %(limit)d.")
            % {"count": len(report.places), "limit": MAX_PLACES}
        )
        report.unusable = True
    return report


def write_places(bundle_dir: Path, guide: PlacesFile) -> Path:
    """Write ``places.json`` into ``bundle_dir`` by rename: never half a file."""
    target = bundle_dir / PLACES_FILE
    text = guide.model_dump_json(indent=1, exclude_none=True) + "\n"
    descriptor, temporary = tempfile.mkstemp(dir=bundle_dir, prefix=".places-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target
