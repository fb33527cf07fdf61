"""Check a content bundle before it is signed, and say every problem in plain words.

The catalog model is :mod:`kiosk.contract.catalog` (the terminal validates with the same code); the
path and size rules are those of :mod:`kiosk.contract.manifest`, so nothing the fleet accepts is
refused by a terminal.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from fleet.content.i18n import gettext_for
from kiosk.contract.catalog import CATALOG_FILE, MEDIA_ORIGIN_OUTSIDE, Catalog
from kiosk.contract.manifest import (
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_TOTAL_BYTES,
    UnsafeFile,
    is_valid_version,
    open_bundle_file,
    path_problem,
)
from kiosk.contract.places import PLACES_FILE, PlacesFile

#: Local pages must be readable by the web view as UTF-8 HTML.
PAGE_SUFFIX = ".html"


@dataclass
class CheckReport:
    """The outcome of a bundle check: the catalog when it is valid, and every problem found."""

    problems: list[str] = field(default_factory=list)
    catalog: Catalog | None = None
    total_bytes: int = 0
    file_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and self.catalog is not None


def _where(error: ErrorDetails) -> str:
    return "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]
    ).lstrip(".")


def _explain(error: ErrorDetails, language: str) -> str:
    """One pydantic error as a sentence: the common kinds translated, others with their detail."""
    _ = gettext_for(language)
    where = _where(error) or _("the whole file")
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        text = _("this field is required but missing")
    elif kind == "extra_forbidden":
        text = _("this field is unknown (a typing mistake?)")
    elif kind == "string_pattern_mismatch":
        text = _("the value %(value)r does not have the expected form (%(pattern)s)") % {
            "value": error.get("input"),
            "pattern": ctx.get("pattern", ""),
        }
    elif kind in ("too_short", "string_too_short"):
        text = _("this must not be empty")
    elif kind == "string_too_long":
        text = _("this text is too long")
    elif kind == "literal_error":
        text = _("the value must be one of: %(expected)s") % {"expected": ctx.get("expected")}
    elif kind == MEDIA_ORIGIN_OUTSIDE:
        text = _(
            "the camera and microphone are asked for %(origin)s, which is not in the tile's"
            " allow list (%(allow)s): a tile may only grant them to its own sites"
        ) % {"origin": ctx.get("origin"), "allow": ctx.get("allow")}
    elif kind.startswith("url"):
        text = _("this is not a valid web address")
    elif kind in ("dict_type", "list_type", "string_type", "int_type", "model_type"):
        text = _("this has the wrong type of value")
    elif kind == "value_error" and "page file" in error["msg"]:
        text = _("the local page %(page)r is not in the bundle") % {"page": error.get("input")}
    elif kind == "value_error" and "either a site (url) or a local page" in error["msg"]:
        text = _("a tile opens either a site (url) or a local page (page), exactly one of them")
    else:
        text = _("invalid value: %(detail)s") % {
            "detail": error["msg"].removeprefix("Value error, ")
        }
    return _("catalog.json, %(where)s: %(text)s") % {"where": where, "text": text}


def _check_files(bundle_dir: Path, report: CheckReport, language: str) -> None:
    _ = gettext_for(language)
    for entry in sorted(bundle_dir.rglob("*")):
        relative = entry.relative_to(bundle_dir).as_posix()
        status = entry.lstat()  # the entry itself, never what a link points to
        if stat.S_ISLNK(status.st_mode):
            report.problems.append(
                _("%(path)s is a symbolic link: copy the real file instead.") % {"path": relative}
            )
            continue
        if stat.S_ISDIR(status.st_mode):
            continue
        if not stat.S_ISREG(status.st_mode):
            report.problems.append(
                _("%(path)s is not an ordinary file (device, pipe or socket).") % {"path": relative}
            )
            continue
        if status.st_nlink > 1:
            report.problems.append(
                _(
                    "%(path)s is a hard link (the same file has %(count)d names, maybe one "
                    "outside the bundle): copy it instead."
                )
                % {"path": relative, "count": status.st_nlink}
            )
            continue
        problem = path_problem(relative)
        if problem:
            report.problems.append(
                _(
                    "%(path)s has a name a terminal refuses: use letters, digits, '.', '_' and"
                    " '-', no leading dot, at most 4 folder levels."
                )
                % {"path": relative}
            )
        size = status.st_size
        report.total_bytes += size
        report.file_count += 1
        if size > MAX_FILE_BYTES:
            report.problems.append(
                _("%(path)s is too big: %(size)d bytes, at most %(limit)d.")
                % {"path": relative, "size": size, "limit": MAX_FILE_BYTES}
            )
        if entry.suffix == PAGE_SUFFIX:
            try:
                with open_bundle_file(entry) as page:
                    page.read().decode("utf-8")
            except UnicodeDecodeError:
                report.problems.append(
                    _("the page %(path)s is not encoded in UTF-8.") % {"path": relative}
                )
            except (UnsafeFile, OSError):
                report.problems.append(
                    _("%(path)s changed while it was being checked.") % {"path": relative}
                )
    if report.file_count > MAX_FILES:
        report.problems.append(
            _("the bundle holds %(count)d files, at most %(limit)d.")
            % {"count": report.file_count, "limit": MAX_FILES}
        )
    if report.total_bytes > MAX_TOTAL_BYTES:
        report.problems.append(
            _("the bundle is too big: %(size)d bytes, at most %(limit)d.")
            % {"size": report.total_bytes, "limit": MAX_TOTAL_BYTES}
        )


def _check_catalog(bundle_dir: Path, report: CheckReport, language: str) -> None:
    _ = gettext_for(language)
    path = bundle_dir / CATALOG_FILE
    if not path.is_file():
        report.problems.append(
            _("catalog.json is missing: every bundle needs one at its top level.")
        )
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        report.problems.append(_("catalog.json is not encoded in UTF-8."))
        return
    except json.JSONDecodeError as error:
        report.problems.append(
            _("catalog.json is not valid JSON: line %(line)d, column %(column)d.")
            % {"line": error.lineno, "column": error.colno}
        )
        return
    try:
        catalog = Catalog.model_validate(data, context={"bundle_dir": bundle_dir})
    except ValidationError as error:
        report.problems.extend(_explain(item, language) for item in error.errors())
        return
    if not is_valid_version(catalog.version):
        report.problems.append(
            _(
                "the version %(version)r cannot name a folder: use letters, digits, '.', '_'"
                " and '-' (for example 2025.12.1)."
            )
            % {"version": catalog.version}
        )
        return
    report.catalog = catalog


def _check_places(bundle_dir: Path, report: CheckReport, language: str) -> None:
    """The help-places guide, when the bundle has one, must be what the terminal reads."""
    _ = gettext_for(language)
    path = bundle_dir / PLACES_FILE
    if not path.is_file():
        return
    try:
        PlacesFile.model_validate_json(path.read_bytes())
    except ValidationError as error:
        first = error.errors()[0]
        report.problems.append(
            _("places.json, %(where)s: %(detail)s (write it with fleet content places import).")
            % {"where": _where(first) or _("the whole file"), "detail": first["msg"]}
        )


def check_bundle(bundle_dir: Path, language: str = "fr") -> CheckReport:
    """Check everything a terminal will check, and more; collect every problem."""
    _ = gettext_for(language)
    report = CheckReport()
    if not bundle_dir.is_dir():
        report.problems.append(_("%(path)s is not a folder.") % {"path": bundle_dir})
        return report
    _check_files(bundle_dir, report, language)
    _check_catalog(bundle_dir, report, language)
    _check_places(bundle_dir, report, language)
    return report
