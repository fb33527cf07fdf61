"""The content catalog's pydantic models: the reference validation of a ``catalog.json``.

:mod:`kiosk.contract.catalog` holds the plain types the kiosk works with and a plain check of the
usual bundle; these models decide every case that check is not sure of, and word every refusal (the
kiosk's log and the fleet's bundle check, :mod:`fleet.content.check`, read their errors).
Imported only then: pydantic and these models cost the kiosk's start some 80 ms.

The rules themselves (patterns, allow-lists, cross-field checks) live in
:mod:`kiosk.contract.catalog`, shared by both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from kiosk.contract.catalog import (
    ALLOW_RULE_PATTERN,
    ICON_PATTERN,
    ID_PATTERN,
    LANGUAGE_PATTERN,
    MEDIA_ORIGIN_OUTSIDE,
    ORIGIN_PATTERN,
    PAGE_PATTERN,
    TEXT_MAX_LENGTH,
    VERSION_MAX_LENGTH,
    Catalog,
    Group,
    MediaGrant,
    Tile,
    icon_problem,
    ids_problem,
    media_origin_outside,
    page_problem,
    repeat_problem,
    require_fallback_language,
    target_problem,
)


def _check_icon_exists(icon: str, info: ValidationInfo) -> str:
    # The bundle directory comes through the validation context, so the models can also
    # validate a catalog that is not on disk yet (the fleet checks uploads that way).
    bundle_dir = info.context.get("bundle_dir") if isinstance(info.context, dict) else None
    problem = icon_problem(icon, bundle_dir if isinstance(bundle_dir, Path) else None)
    if problem:
        raise ValueError(problem)
    return icon


def _check_page_exists(page: str, info: ValidationInfo) -> str:
    bundle_dir = info.context.get("bundle_dir") if isinstance(info.context, dict) else None
    problem = page_problem(page, bundle_dir if isinstance(bundle_dir, Path) else None)
    if problem:
        raise ValueError(problem)
    return page


def _require_fallback_language(labels: dict[str, str]) -> dict[str, str]:
    require_fallback_language(labels)
    return labels


Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
LanguageCode = Annotated[str, StringConstraints(pattern=LANGUAGE_PATTERN)]
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX_LENGTH)
]
#: Language code → text; French is required because it is the fallback language.
Labels = Annotated[dict[LanguageCode, Text], AfterValidator(_require_fallback_language)]
IconName = Annotated[str, StringConstraints(pattern=ICON_PATTERN)]
AllowRule = Annotated[str, StringConstraints(pattern=ALLOW_RULE_PATTERN)]
#: An icon file name, checked to exist when a bundle directory is given as validation context.
IconFile = Annotated[IconName, AfterValidator(_check_icon_exists)]
#: A local page, checked to exist when a bundle directory is given as validation context.
PageName = Annotated[
    str, StringConstraints(pattern=PAGE_PATTERN), AfterValidator(_check_page_exists)
]
#: What a tile may be granted besides the page itself (nothing by default).
MediaDevice = Literal["camera", "microphone"]
Origin = Annotated[str, StringConstraints(pattern=ORIGIN_PATTERN)]


class GroupModel(BaseModel):
    """A need residents recognise ("Santé", "Impôts"): see :class:`kiosk.contract.catalog.Group`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Identifier
    label: Labels
    icon: IconFile
    description: Labels | None = None

    def plain(self) -> Group:
        return Group(self.id, self.label, self.icon, self.description)


class MediaGrantModel(BaseModel):
    """Camera and microphone on a tile's own origins: see
    :class:`kiosk.contract.catalog.MediaGrant`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    devices: list[MediaDevice] = Field(min_length=1, max_length=2)
    origins: list[Origin] = Field(min_length=1, max_length=8)

    @model_validator(mode="after")
    def _no_repeats(self) -> MediaGrantModel:
        problem = repeat_problem(self.devices, self.origins)
        if problem:
            raise ValueError(problem)
        return self

    def plain(self) -> MediaGrant:
        return MediaGrant(list(self.devices), list(self.origins))


class TileModel(BaseModel):
    """One service a resident can open: see :class:`kiosk.contract.catalog.Tile`."""

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
    media: MediaGrantModel | None = None

    @field_validator("url")
    @classmethod
    def _https_only(cls, url: HttpUrl | None) -> HttpUrl | None:
        if url is not None and url.scheme != "https":
            raise ValueError(f"the address must start with https:// (got {url.scheme}://)")
        return url

    @model_validator(mode="after")
    def _url_is_allowed(self) -> TileModel:
        url = str(self.url) if self.url is not None else None
        problem = target_problem(url, self.page, self.allow)
        if problem:
            raise ValueError(problem)
        # A page tile has no allow-list of its own, so it can grant the camera to no origin.
        origin = media_origin_outside(self.media.origins if self.media else [], self.allow)
        if origin is not None:
            raise PydanticCustomError(
                MEDIA_ORIGIN_OUTSIDE,
                "the media origin {origin} is not covered by the tile's allow list "
                "{allow}: camera and microphone go to the tile's own sites only",
                {"origin": origin, "allow": ", ".join(self.allow)},
            )
        return self

    def plain(self) -> Tile:
        return Tile(
            id=self.id,
            group=self.group,
            label=self.label,
            description=self.description,
            url=str(self.url) if self.url is not None else None,
            page=self.page,
            icon=self.icon,
            allow=list(self.allow),
            media=self.media.plain() if self.media is not None else None,
        )


class CatalogModel(BaseModel):
    """The tiles of one content bundle: see :class:`kiosk.contract.catalog.Catalog`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1]
    version: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=VERSION_MAX_LENGTH)
    ]
    groups: list[GroupModel] = Field(min_length=1)
    tiles: list[TileModel] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_are_consistent(self) -> CatalogModel:
        problem = ids_problem([g.id for g in self.groups], [(t.id, t.group) for t in self.tiles])
        if problem:
            raise ValueError(problem)
        return self

    def plain(self) -> Catalog:
        return Catalog(
            v=self.v,
            version=self.version,
            groups=[group.plain() for group in self.groups],
            tiles=[tile.plain() for tile in self.tiles],
        )
