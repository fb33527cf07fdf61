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
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Final, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

CATALOG_FILE: Final = "catalog.json"
FALLBACK_LANGUAGE: Final = "fr"
ID_PATTERN: Final = r"^[a-z0-9-]{2,40}$"
# A plain file name: no directory part, so a bundle can never point outside itself.
ICON_PATTERN: Final = r"^[a-z0-9][a-z0-9_-]{0,62}\.(svg|png)$"
# A host name (optionally "*." for its sub-domains), then an optional path prefix.
ALLOW_RULE_PATTERN: Final = (
    r"^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+(/\S*)?$"
)

_ALLOW_RULE_RE = re.compile(ALLOW_RULE_PATTERN)


class CatalogError(ValueError):
    """A content bundle that cannot be shown; the message names the file and the problem."""


def _require_fallback_language(labels: dict[str, str]) -> dict[str, str]:
    if FALLBACK_LANGUAGE not in labels:
        raise ValueError(f"a '{FALLBACK_LANGUAGE}' text is required (French is the fallback)")
    return labels


Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=160)]
#: Language code → text; French is required because it is the fallback language.
Labels = Annotated[dict[LanguageCode, Text], AfterValidator(_require_fallback_language)]
IconName = Annotated[str, StringConstraints(pattern=ICON_PATTERN)]
AllowRule = Annotated[str, StringConstraints(pattern=ALLOW_RULE_PATTERN)]
#: Pages the kiosk draws itself from the bundle's data: the help-places guide, useful numbers.
BUILT_IN_PAGES: Final = frozenset({"guide", "numbers"})
#: A local page: a built-in one, or an ``.html`` file of the bundle (letters, digits, ``_``,
#: ``-``; at most 4 folders; no dot segments, so it can never leave the bundle).
PAGE_PATTERN: Final = (
    r"^(guide|numbers|([a-z0-9][a-z0-9_-]{0,62}/){0,4}[a-z0-9][a-z0-9_-]{0,62}\.html)$"
)


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


def _check_icon_exists(icon: str, info: ValidationInfo) -> str:
    # The bundle directory comes through the validation context, so the models can also
    # validate a catalog that is not on disk yet (the fleet checks uploads that way).
    bundle_dir = info.context.get("bundle_dir") if isinstance(info.context, dict) else None
    if isinstance(bundle_dir, Path) and not (bundle_dir / icon).is_file():
        raise ValueError(f"icon file '{icon}' is missing from the bundle directory {bundle_dir}")
    return icon


#: An icon file name, checked to exist when a bundle directory is given as validation context.
IconFile = Annotated[IconName, AfterValidator(_check_icon_exists)]


def _check_page_exists(page: str, info: ValidationInfo) -> str:
    bundle_dir = info.context.get("bundle_dir") if isinstance(info.context, dict) else None
    if page in BUILT_IN_PAGES or not isinstance(bundle_dir, Path):
        return page
    if not (bundle_dir / page).is_file():
        raise ValueError(f"page file '{page}' is missing from the bundle directory {bundle_dir}")
    return page


#: A local page, checked to exist when a bundle directory is given as validation context.
PageName = Annotated[
    str, StringConstraints(pattern=PAGE_PATTERN), AfterValidator(_check_page_exists)
]


class Group(BaseModel):
    """A need residents recognise ("Santé", "Impôts"), under which tiles are shown.

    A group of several tiles is one card on the home screen, opening a screen of its tiles;
    its ``description`` says what is inside ("Gmail, Outlook, Orange, Yahoo").
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Identifier
    label: Labels
    icon: IconFile
    description: Labels | None = None


#: What a tile may be granted besides the page itself (nothing by default).
MediaDevice = Literal["camera", "microphone"]
#: An origin a page is served from: ``https://host`` or ``https://host:port``, no path.
ORIGIN_PATTERN: Final = (
    r"^https://[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+"
    r"(:[0-9]{1,5})?$"
)
Origin = Annotated[str, StringConstraints(pattern=ORIGIN_PATTERN)]
#: The error kind of a media origin outside its tile's allow-list (explained by the fleet).
MEDIA_ORIGIN_OUTSIDE: Final = "media_origin_outside"


class MediaGrant(BaseModel):
    """Camera and microphone for a family-call or telemedicine tile, on its own origins only.

    The kiosk grants a page ``devices`` only when the page's origin is one of ``origins`` (each
    inside the tile's allow-list) during a session of this tile; every other request is
    refused, and the grant dies with the session's profile.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    devices: list[MediaDevice] = Field(min_length=1, max_length=2)
    origins: list[Origin] = Field(min_length=1, max_length=8)

    @model_validator(mode="after")
    def _no_repeats(self) -> MediaGrant:
        for kind, values in (("device", self.devices), ("origin", self.origins)):
            if len(set(values)) != len(values):
                raise ValueError(f"a media {kind} is listed more than once")
        return self

    def allows(self, origin: str, device: str) -> bool:
        """Whether a page of ``origin`` may use ``device`` (any other name: no)."""
        return device in self.devices and origin.lower().rstrip("/") in self.origins


class Tile(BaseModel):
    """One service a resident can open: an https site and the hosts it may visit, or a page."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Identifier
    group: Identifier
    label: Labels
    description: Labels | None = None
    url: HttpUrl | None = None
    page: PageName | None = None
    icon: IconFile
    allow: list[AllowRule] = Field(default_factory=list)
    #: Camera and microphone for the tile's own origins (a video call, a teleconsultation).
    media: MediaGrant | None = None

    @field_validator("url")
    @classmethod
    def _https_only(cls, url: HttpUrl | None) -> HttpUrl | None:
        if url is not None and url.scheme != "https":
            raise ValueError(f"the address must start with https:// (got {url.scheme}://)")
        return url

    @model_validator(mode="after")
    def _url_is_allowed(self) -> Tile:
        if (self.url is None) == (self.page is None):
            raise ValueError("a tile opens either a site (url) or a local page (page), not both")
        parts = urlsplit(str(self.url)) if self.url is not None else None
        if parts is not None and not any(
            allow_rule_matches(rule, parts.hostname or "", parts.path) for rule in self.allow
        ):
            raise ValueError(
                f"the address {self.url} is not covered by the tile's allow list {self.allow}"
            )
        # A page tile has no allow-list of its own, so it can grant the camera to no origin.
        for origin in self.media.origins if self.media is not None else ():
            if not self.allows(origin + "/"):
                raise PydanticCustomError(
                    MEDIA_ORIGIN_OUTSIDE,
                    "the media origin {origin} is not covered by the tile's allow list "
                    "{allow}: camera and microphone go to the tile's own sites only",
                    {"origin": origin, "allow": ", ".join(self.allow)},
                )
        return self

    def allows(self, url: str) -> bool:
        """Whether the browsing lockdown should let this tile's session open ``url``."""
        parts = urlsplit(url)
        return parts.scheme == "https" and any(
            allow_rule_matches(rule, parts.hostname or "", parts.path) for rule in self.allow
        )


class Catalog(BaseModel):
    """The tiles of one content bundle, in display order, with their groups."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1]
    version: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    groups: list[Group] = Field(min_length=1)
    tiles: list[Tile] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_are_consistent(self) -> Catalog:
        for kind, ids in (
            ("group", [g.id for g in self.groups]),
            ("tile", [t.id for t in self.tiles]),
        ):
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            if duplicates:
                raise ValueError(f"{kind} id used more than once: {', '.join(duplicates)}")
        group_ids = {g.id for g in self.groups}
        for tile in self.tiles:
            if tile.group not in group_ids:
                raise ValueError(
                    f"tile '{tile.id}' belongs to group '{tile.group}', which is not declared "
                    f"in groups ({', '.join(sorted(group_ids))})"
                )
        return self

    def group(self, group_id: str) -> Group:
        """The group with ``group_id`` (validation guarantees every tile's group exists)."""
        return next(g for g in self.groups if g.id == group_id)

    def tiles_by_group(self) -> list[Tile]:
        """The tiles ordered by their group's position, keeping catalog order within a group."""
        position = {g.id: i for i, g in enumerate(self.groups)}
        return sorted(self.tiles, key=lambda tile: position[tile.group])


def default_bundle_dir() -> Path:
    """The content bundle shipped with the kiosk."""
    return Path(__file__).resolve().parent / "content" / "default"


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
    try:
        return Catalog.model_validate(data, context={"bundle_dir": bundle_dir})
    except ValidationError as exc:
        raise CatalogError(f"{path}: {_describe(exc)}") from exc
