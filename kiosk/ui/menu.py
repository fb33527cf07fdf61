"""What the home screen shows: one card per need, and a screen of its tiles for each group.

A group of one tile is that tile's card (a touch opens the service); a group of several is one
card ("Messagerie: Gmail, Outlook, Orange, Yahoo") opening a screen of its tiles. So the home
screen holds about ten cards whatever the catalog grows to, and each fits whole, in every
language and text size (the layout itself is ``TileGrid.qml``'s).
"""

from __future__ import annotations

import glob
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kiosk.contract.catalog import Catalog, Tile, localized
from kiosk.ui.i18n import gettext_for
from kiosk.ui.qt import Property, QObject, QUrl, Signal, Slot

#: A card's kind, as QML reads it.
TILE: Final = "tile"
GROUP: Final = "group"


@dataclass(frozen=True, slots=True)
class CaptureDevices:
    """Whether the terminal has a camera and a microphone (for the tiles that need them)."""

    camera: bool
    microphone: bool


def capture_devices(dev: Path = Path("/dev")) -> CaptureDevices:
    """The terminal's capture devices: V4L2 video nodes and ALSA capture PCMs."""
    return CaptureDevices(
        camera=bool(glob.glob(str(dev / "video*"))),
        microphone=bool(glob.glob(str(dev / "snd" / "pcmC*D*c"))),
    )


@dataclass(frozen=True, slots=True)
class Card:
    """One card of the home screen or of a group's screen, in the display language."""

    kind: str
    card_id: str
    label: str
    description: str
    icon_url: str
    #: What the resident must know before touching it ("No camera on this terminal").
    note: str = ""

    def as_qml(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "cardId": self.card_id,
            "label": self.label,
            "description": self.description,
            "iconUrl": self.icon_url,
            "note": self.note,
        }


def _icon_url(bundle_dir: Path, icon: str) -> str:
    return QUrl.fromLocalFile(str(bundle_dir.resolve() / icon)).toString()


def _missing_device_note(
    tile: Tile, devices: CaptureDevices, translate: Callable[[str], str]
) -> str:
    wanted = tile.media.devices if tile.media is not None else []
    if "camera" in wanted and not devices.camera:
        return translate("No camera on this terminal")
    if "microphone" in wanted and not devices.microphone:
        return translate("No microphone on this terminal")
    return ""


def tile_card(tile: Tile, bundle_dir: Path, language: str, devices: CaptureDevices) -> Card:
    """The card of one tile (a touch opens its service)."""
    return Card(
        kind=TILE,
        card_id=tile.id,
        label=localized(tile.label, language),
        description=localized(tile.description, language) if tile.description else "",
        icon_url=_icon_url(bundle_dir, tile.icon),
        note=_missing_device_note(tile, devices, gettext_for(language)),
    )


def home_cards(
    catalog: Catalog, bundle_dir: Path, language: str, devices: CaptureDevices
) -> list[Card]:
    """The home screen's cards: one per group, in the catalog's order."""
    cards = []
    for group in catalog.groups:
        tiles = [tile for tile in catalog.tiles if tile.group == group.id]
        if not tiles:
            continue
        if len(tiles) == 1:
            cards.append(tile_card(tiles[0], bundle_dir, language, devices))
            continue
        description = (
            localized(group.description, language)
            if group.description
            else ", ".join(localized(tile.label, language) for tile in tiles)
        )
        cards.append(
            Card(
                kind=GROUP,
                card_id=group.id,
                label=localized(group.label, language),
                description=description,
                icon_url=_icon_url(bundle_dir, group.icon),
            )
        )
    return cards


def group_cards(
    catalog: Catalog, group_id: str, bundle_dir: Path, language: str, devices: CaptureDevices
) -> list[Card]:
    """The cards of one group's screen: its tiles, in the catalog's order."""
    return [
        tile_card(tile, bundle_dir, language, devices)
        for tile in catalog.tiles
        if tile.group == group_id
    ]


class HomeMenu(QObject):
    """The ``menu`` object of the QML scene: the cards shown, and the group opened."""

    changed = Signal()

    def __init__(
        self,
        catalog: Catalog,
        bundle_dir: Path,
        language: str,
        devices: Callable[[], CaptureDevices] = capture_devices,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._bundle_dir = bundle_dir
        self._language = language
        self._probe_devices = devices
        self._devices = devices()
        self._group_id = ""
        self._refresh()

    # ----- QML properties -----------------------------------------------------------------

    def _get_cards(self) -> list[dict[str, str]]:
        return [card.as_qml() for card in self._cards]

    def _get_group_id(self) -> str:
        return self._group_id

    def _get_group_label(self) -> str:
        if not self._group_id:
            return ""
        return localized(self._catalog.group(self._group_id).label, self._language)

    def _get_group_cards(self) -> list[dict[str, str]]:
        return [card.as_qml() for card in self._group_cards]

    #: The home screen's cards (see :class:`Card`).
    cards = Property(list, _get_cards, notify=changed)
    #: The group whose screen is shown ("" for the home screen itself).
    groupId = Property(str, _get_group_id, notify=changed)
    groupLabel = Property(str, _get_group_label, notify=changed)
    groupCards = Property(list, _get_group_cards, notify=changed)

    # ----- what the resident does ---------------------------------------------------------

    @Slot(str)
    def openGroup(self, group_id: str) -> None:
        """Show the screen of ``group_id``'s tiles."""
        if group_id in {group.id for group in self._catalog.groups}:
            self._group_id = group_id
            self._refresh()

    @Slot()
    def closeGroup(self) -> None:
        """Back to the home screen's cards."""
        if self._group_id:
            self._group_id = ""
            self._refresh()

    # ----- what the kiosk does ------------------------------------------------------------

    @property
    def home_cards(self) -> list[Card]:
        return list(self._cards)

    @property
    def group_cards(self) -> list[Card]:
        return list(self._group_cards)

    def set_language(self, language: str) -> None:
        """Relabel every card in ``language`` (a live language switch)."""
        self._language = language
        self._refresh()

    def set_catalog(self, catalog: Catalog, bundle_dir: Path, language: str) -> None:
        """Show another content bundle (a content update applied by the agent)."""
        self._catalog, self._bundle_dir, self._language = catalog, bundle_dir, language
        if self._group_id not in {group.id for group in catalog.groups}:
            self._group_id = ""
        self._refresh()

    def reset(self) -> None:
        """The next resident starts on the home screen; a camera plugged in since shows."""
        self._group_id = ""
        self._devices = self._probe_devices()
        self._refresh()

    def _refresh(self) -> None:
        self._cards = home_cards(self._catalog, self._bundle_dir, self._language, self._devices)
        self._group_cards = (
            group_cards(
                self._catalog, self._group_id, self._bundle_dir, self._language, self._devices
            )
            if self._group_id
            else []
        )
        self.changed.emit()
