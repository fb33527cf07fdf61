"""The content catalog: which service tiles a terminal shows, grouped by need.

A content bundle is a directory holding ``catalog.json`` and the pictograms it names. The fleet
validates bundles with this module before pushing them, and the terminal validates them again
before showing them, so this module must never import Qt.

A tile opens either a site (``url``, https only) or a local page (``page``): a ``.html`` file of
the bundle (``pages/aide.html``), or one of the pages the kiosk draws itself from the bundle's
data (:data:`BUILT_IN_PAGES`: the help-places guide, the useful numbers). Local pages are shown
in the same session view as sites, inside the same lockdown and wiped the same way.

Each site tile carries an allow-list (hosts, optionally followed by a path prefix, or
``*.domain`` for any sub-domain) that the browsing lockdown enforces; it must contain the tile's
own address. A page tile needs none (nothing outside the kiosk's own pages opens from it).

The kiosk works with the plain types below. The shipped bundle and every usual one pass a plain
check that builds them directly (:func:`plain_catalog`); whatever that check is not sure of goes
to the pydantic models of :mod:`kiosk.contract.catalog_model`, the reference, which decide and word
the refusal. The check only ever accepts what the models accept, with the same values
(tests/test_catalog.py compares them); importing pydantic would cost the kiosk's start ~80 ms.

Over 400 lines because the catalog's rules and the plain check the kiosk's start uses must be
read beside each other: the fast path gives up to the models whenever the two could disagree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from kiosk.contract.paths import SHIPPED_BUNDLE_DIR

if TYPE_CHECKING:
    from pydantic import ValidationError

CATALOG_FILE: Final = "catalog.json"
FALLBACK_LANGUAGE: Final = "fr"
ID_PATTERN: Final = r"^[a-z0-9-]{2,40}$"
LANGUAGE_PATTERN: Final = r"^[a-z]{2,3}$"
# A plain file name: no directory part, so a bundle can never point outside itself.
ICON_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]{0,62}\.(svg|png)$"
# A host name (optionally "*." for its sub-domains), then an optional path prefix.
ALLOW_RULE_PATTERN: Final = (
    r"^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+(/\S*)?$"
)
#: Pages the kiosk draws itself from the bundle's data: the help-places guide, useful numbers.
BUILT_IN_PAGES: Final = frozenset({"guide", "numbers"})
#: A local page: a built-in one, or an ``.html`` file of the bundle (letters, digits, ``_``,
#: ``-``; at most 4 folders; no dot segments, so it can never leave the bundle).
PAGE_PATTERN: Final = (
    r"^(guide|numbers|([a-z0-9][a-z0-9_-]{0,62}/){0,4}[a-z0-9][a-z0-9_-]{0,62}\.html)$"
)
#: An origin a page is served from: ``https://host`` or ``https://host:port``, no path.
ORIGIN_PATTERN: Final = (
    r"^https://[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+"
    r"(:[0-9]{1,5})?$"
)
#: What a tile may be granted besides the page itself.
MEDIA_DEVICES: Final = ("camera", "microphone")
#: The error kind of a media origin outside its tile's allow-list (explained by the fleet).
MEDIA_ORIGIN_OUTSIDE: Final = "media_origin_outside"
TEXT_MAX_LENGTH: Final = 160
VERSION_MAX_LENGTH: Final = 64

_ALLOW_RULE_RE = re.compile(ALLOW_RULE_PATTERN)


class CatalogError(ValueError):
    """A content bundle that cannot be shown; the message names the file and the problem."""


def localized(labels: dict[str, str], language: str) -> str:
    """The text of ``labels`` in ``language``, falling back to French."""
    return labels.get(language) or labels[FALLBACK_LANGUAGE]


def allow_rule_matches(rule: str, host: str, path: str) -> bool:
    """Whether ``host`` and ``path`` fall under one allow-list ``rule``."""
    if not _ALLOW_RULE_RE.match(rule):
        return False
    rule_host, slash, prefix = rule.partition("/")
    host = host.lower().rstrip(".")
    if rule_host.startswith("*."):
        domain = rule_host[2:]
        host_ok = host == domain or host.endswith("." + domain)
    else:
        host_ok = host == rule_host
    return host_ok and (not slash or (path or "/").startswith("/" + prefix))


def allow_list_allows(allow: list[str], url: str) -> bool:
    """Whether an allow-list lets a session open ``url`` (https only)."""
    parts = urlsplit(url)
    return parts.scheme == "https" and any(
        allow_rule_matches(rule, parts.hostname or "", parts.path) for rule in allow
    )


# ----- the rules, shared by the plain check and the models (each: the problem, or None) ------


def require_fallback_language(labels: dict[str, str]) -> None:
    if FALLBACK_LANGUAGE not in labels:
        raise ValueError(f"a '{FALLBACK_LANGUAGE}' text is required (French is the fallback)")


def icon_problem(icon: str, bundle_dir: Path | None) -> str | None:
    """An icon named but absent from the bundle (not checked without a bundle directory)."""
    if bundle_dir is not None and not (bundle_dir / icon).is_file():
        return f"icon file '{icon}' is missing from the bundle directory {bundle_dir}"
    return None


def page_problem(page: str, bundle_dir: Path | None) -> str | None:
    """A local page named but absent from the bundle (built-in pages are always there)."""
    if page in BUILT_IN_PAGES or bundle_dir is None:
        return None
    if not (bundle_dir / page).is_file():
        return f"page file '{page}' is missing from the bundle directory {bundle_dir}"
    return None


def repeat_problem(devices: Sequence[str], origins: Sequence[str]) -> str | None:
    for kind, values in (("device", devices), ("origin", origins)):
        if len(set(values)) != len(values):
            return f"a media {kind} is listed more than once"
    return None


def target_problem(url: str | None, page: str | None, allow: list[str]) -> str | None:
    """A tile opens exactly one of a site (inside its allow-list) or a local page."""
    if (url is None) == (page is None):
        return "a tile opens either a site (url) or a local page (page), not both"
    if url is not None:
        parts = urlsplit(url)
        if not any(allow_rule_matches(rule, parts.hostname or "", parts.path) for rule in allow):
            return f"the address {url} is not covered by the tile's allow list {allow}"
    return None


def media_origin_outside(origins: list[str], allow: list[str]) -> str | None:
    """The first media origin outside the tile's allow-list, if any."""
    return next((o for o in origins if not allow_list_allows(allow, o + "/")), None)


def ids_problem(group_ids: list[str], tiles: list[tuple[str, str]]) -> str | None:
    """Ids used twice, or a tile in an undeclared group."""
    tile_ids = [tile_id for tile_id, _group in tiles]
    for kind, ids in (("group", group_ids), ("tile", tile_ids)):
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            return f"{kind} id used more than once: {', '.join(duplicates)}"
    declared = set(group_ids)
    for tile_id, group in tiles:
        if group not in declared:
            return (
                f"tile '{tile_id}' belongs to group '{group}', which is not declared "
                f"in groups ({', '.join(sorted(declared))})"
            )
    return None


# ----- the plain types ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Group:
    """A need residents recognise ("Santé", "Impôts"), under which tiles are shown.

    A group of several tiles is one card on the home screen, opening a screen of its tiles;
    its ``description`` says what is inside ("Gmail, Outlook, Orange, Yahoo").
    """

    id: str
    label: dict[str, str]
    icon: str
    description: dict[str, str] | None = None

    @classmethod
    def model_validate(cls, data: object, *, context: dict[str, Any] | None = None) -> Group:
        """Validate ``data`` with the reference model (raise pydantic's ``ValidationError``)."""
        from kiosk.contract.catalog_model import GroupModel

        return GroupModel.model_validate(data, context=context).plain()


@dataclass(frozen=True, slots=True)
class MediaGrant:
    """Camera and microphone for a family-call or telemedicine tile, on its own origins only.

    The kiosk grants a page ``devices`` only when the page's origin is one of ``origins`` (each
    inside the tile's allow-list) during a session of this tile; every other request is
    refused, and the grant dies with the session's profile.
    """

    devices: list[str]
    origins: list[str]

    def allows(self, origin: str, device: str) -> bool:
        """Whether a page of ``origin`` may use ``device`` (any other name: no)."""
        return device in self.devices and origin.lower().rstrip("/") in self.origins


@dataclass(frozen=True, slots=True)
class Tile:
    """One service a resident can open: an https site and the hosts it may visit, or a page."""

    id: str
    group: str
    label: dict[str, str]
    icon: str
    description: dict[str, str] | None = None
    #: The site's address (https), as the reference model normalises it; or None for a page.
    url: str | None = None
    page: str | None = None
    allow: list[str] = field(default_factory=list)
    #: Camera and microphone for the tile's own origins (a video call, a teleconsultation).
    media: MediaGrant | None = None

    def allows(self, url: str) -> bool:
        """Whether the browsing lockdown should let this tile's session open ``url``."""
        return allow_list_allows(self.allow, url)

    @classmethod
    def model_validate(cls, data: object, *, context: dict[str, Any] | None = None) -> Tile:
        """Validate ``data`` with the reference model (raise pydantic's ``ValidationError``)."""
        from kiosk.contract.catalog_model import TileModel

        return TileModel.model_validate(data, context=context).plain()


@dataclass(frozen=True, slots=True)
class Catalog:
    """The tiles of one content bundle, in display order, with their groups."""

    v: int
    version: str
    groups: list[Group]
    tiles: list[Tile]

    @classmethod
    def model_validate(cls, data: object, *, context: dict[str, Any] | None = None) -> Catalog:
        """Validate ``data`` with the reference model (raise pydantic's ``ValidationError``);
        ``context={"bundle_dir": path}`` also checks that the files it names are there."""
        from kiosk.contract.catalog_model import CatalogModel

        return CatalogModel.model_validate(data, context=context).plain()

    def group(self, group_id: str) -> Group:
        """The group with ``group_id`` (validation guarantees every tile's group exists)."""
        return next(g for g in self.groups if g.id == group_id)

    def tiles_by_group(self) -> list[Tile]:
        """The tiles ordered by their group's position, keeping catalog order within a group."""
        position = {g.id: i for i, g in enumerate(self.groups)}
        return sorted(self.tiles, key=lambda tile: position[tile.group])


def default_bundle_dir() -> Path:
    """The content bundle shipped with the kiosk."""
    return SHIPPED_BUNDLE_DIR


# ----- the plain check ------------------------------------------------------------------------
#
# It builds the plain types directly from the usual bundle, and gives up (None) at the first
# thing it is not sure the models accept with the same value: then the models decide. So it is
# stricter than they are: exact JSON types, texts without surrounding spaces, https addresses
# already in the form pydantic gives them back, ASCII allow rules.

_ID_RE = re.compile(ID_PATTERN)
_LANGUAGE_RE = re.compile(LANGUAGE_PATTERN)
_ICON_RE = re.compile(ICON_PATTERN)
_PAGE_RE = re.compile(PAGE_PATTERN)
_ORIGIN_RE = re.compile(ORIGIN_PATTERN)
#: An https address pydantic's ``HttpUrl`` gives back unchanged: lowercase host names (none
#: IDNA-encoded, the last label letters only, so never an IP address), no port, no user, a
#: path of unreserved characters (dot segments refused below), an optional plain query.
_PLAIN_URL_RE = re.compile(
    r"https://(?P<host>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})"
    r"(?P<path>/[A-Za-z0-9._~/-]*)(?:\?[A-Za-z0-9._~=&/-]*)?"
)
_PLAIN_RULE_RE = re.compile(r"[\x21-\x7e]+")
_URL_MAX_LENGTH: Final = 2083
_GROUP_KEYS: Final = frozenset({"id", "label", "icon", "description"})
_TILE_KEYS: Final = frozenset(
    {"id", "group", "label", "description", "url", "page", "icon", "allow", "media"}
)
_MEDIA_KEYS: Final = frozenset({"devices", "origins"})


class _Unsure(Exception):
    """The plain check cannot vouch for this value: the models decide."""


def _check(condition: bool) -> None:
    if not condition:
        raise _Unsure


def _string(value: object, pattern: re.Pattern[str]) -> str:
    _check(type(value) is str)
    assert isinstance(value, str)
    _check(pattern.fullmatch(value) is not None)
    return value


def _text(value: object, max_length: int = TEXT_MAX_LENGTH) -> str:
    _check(type(value) is str)
    assert isinstance(value, str)
    _check(value == value.strip() and 1 <= len(value) <= max_length)
    return value


def _labels(value: object) -> dict[str, str]:
    _check(type(value) is dict)
    assert isinstance(value, dict)
    labels = {_string(key, _LANGUAGE_RE): _text(text) for key, text in value.items()}
    _check(FALLBACK_LANGUAGE in labels)
    return labels


def _optional_labels(value: object) -> dict[str, str] | None:
    return None if value is None else _labels(value)


def _record(value: object, allowed: frozenset[str], required: set[str]) -> dict[str, Any]:
    _check(type(value) is dict)
    assert isinstance(value, dict)
    _check(required <= value.keys() <= allowed)
    return value


def _list(value: object, min_length: int = 0, max_length: int | None = None) -> list[Any]:
    _check(type(value) is list)
    assert isinstance(value, list)
    _check(len(value) >= min_length and (max_length is None or len(value) <= max_length))
    return value


def _icon(value: object, bundle_dir: Path | None) -> str:
    icon = _string(value, _ICON_RE)
    _check(icon_problem(icon, bundle_dir) is None)
    return icon


def _url(value: object) -> str:
    _check(type(value) is str)
    assert isinstance(value, str)
    found = _PLAIN_URL_RE.fullmatch(value)
    _check(found is not None and len(value) <= _URL_MAX_LENGTH)
    assert found is not None
    _check(not any(label.startswith("xn--") for label in found["host"].split(".")))
    _check(not {".", ".."} & set(found["path"].split("/")))
    return value


def _media(value: object) -> MediaGrant:
    record = _record(value, _MEDIA_KEYS, {"devices", "origins"})
    devices = _list(record["devices"], 1, 2)
    _check(all(type(d) is str and d in MEDIA_DEVICES for d in devices))
    origins = [_string(origin, _ORIGIN_RE) for origin in _list(record["origins"], 1, 8)]
    _check(repeat_problem(devices, origins) is None)
    return MediaGrant(list(devices), origins)


def _group(value: object, bundle_dir: Path | None) -> Group:
    record = _record(value, _GROUP_KEYS, {"id", "label", "icon"})
    return Group(
        id=_string(record["id"], _ID_RE),
        label=_labels(record["label"]),
        icon=_icon(record["icon"], bundle_dir),
        description=_optional_labels(record.get("description")),
    )


def _tile(value: object, bundle_dir: Path | None) -> Tile:
    record = _record(value, _TILE_KEYS, {"id", "group", "label", "icon"})
    url = record.get("url")
    page = record.get("page")
    allow = [_string(rule, _ALLOW_RULE_RE) for rule in _list(record.get("allow", []))]
    _check(all(_PLAIN_RULE_RE.fullmatch(rule) for rule in allow))
    media = record.get("media")
    tile = Tile(
        id=_string(record["id"], _ID_RE),
        group=_string(record["group"], _ID_RE),
        label=_labels(record["label"]),
        description=_optional_labels(record.get("description")),
        url=None if url is None else _url(url),
        page=None if page is None else _string(page, _PAGE_RE),
        icon=_icon(record["icon"], bundle_dir),
        allow=allow,
        media=None if media is None else _media(media),
    )
    _check(tile.page is None or page_problem(tile.page, bundle_dir) is None)
    _check(target_problem(tile.url, tile.page, tile.allow) is None)
    origins = tile.media.origins if tile.media is not None else []
    _check(media_origin_outside(origins, tile.allow) is None)
    return tile


def plain_catalog(data: object, bundle_dir: Path | None = None) -> Catalog | None:
    """The catalog of ``data`` (parsed JSON) when the plain check vouches for all of it, else
    None (the models then decide). ``bundle_dir``: check the files it names there."""
    try:
        record = _record(data, frozenset({"v", "version", "groups", "tiles"}), set())
        _check(record.keys() == {"v", "version", "groups", "tiles"})
        _check(type(record["v"]) is int and record["v"] == 1)
        catalog = Catalog(
            v=1,
            version=_text(record["version"], VERSION_MAX_LENGTH),
            groups=[_group(group, bundle_dir) for group in _list(record["groups"], 1)],
            tiles=[_tile(tile, bundle_dir) for tile in _list(record["tiles"], 1)],
        )
        group_ids = [g.id for g in catalog.groups]
        _check(ids_problem(group_ids, [(t.id, t.group) for t in catalog.tiles]) is None)
    except _Unsure:
        return None
    return catalog


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in item["loc"]
        ).lstrip(".")
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{where or 'top level'}: {message}")
    return "; ".join(problems)


def load_catalog(bundle_dir: Path) -> Catalog:
    """Read and validate ``bundle_dir/catalog.json``; raise :class:`CatalogError` if unusable."""
    path = bundle_dir / CATALOG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CatalogError(f"{path}: file not found (is {bundle_dir} a content bundle?)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot be read: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    catalog = plain_catalog(data, bundle_dir)
    if catalog is not None:
        return catalog
    from pydantic import ValidationError

    try:
        return Catalog.model_validate(data, context={"bundle_dir": bundle_dir})
    except ValidationError as exc:
        raise CatalogError(f"{path}: {_describe(exc)}") from exc
