"""The catalog's tiles as a Qt list model, in one language, for the QML home screen."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Final

from kiosk.catalog import Catalog, localized
from kiosk.ui.qt import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QUrl,
)


@dataclass(frozen=True, slots=True)
class TileView:
    """What the home screen shows of one tile, already in the display language."""

    tile_id: str
    label: str
    description: str
    icon_url: str
    group: str
    group_label: str


def tile_views(catalog: Catalog, bundle_dir: Path, language: str) -> list[TileView]:
    """The catalog's tiles ordered by group, labelled in ``language`` (falling back to French)."""
    views = []
    for tile in catalog.tiles_by_group():
        views.append(
            TileView(
                tile_id=tile.id,
                label=localized(tile.label, language),
                description=localized(tile.description, language) if tile.description else "",
                icon_url=QUrl.fromLocalFile(str(bundle_dir.resolve() / tile.icon)).toString(),
                group=tile.group,
                group_label=localized(catalog.group(tile.group).label, language),
            )
        )
    return views


class TileRole(IntEnum):
    """Model roles; their QML names are listed in ``ROLE_NAMES``."""

    TILE_ID = Qt.ItemDataRole.UserRole + 1
    LABEL = Qt.ItemDataRole.UserRole + 2
    DESCRIPTION = Qt.ItemDataRole.UserRole + 3
    ICON_URL = Qt.ItemDataRole.UserRole + 4
    GROUP = Qt.ItemDataRole.UserRole + 5
    GROUP_LABEL = Qt.ItemDataRole.UserRole + 6


ROLE_NAMES: Final = {
    TileRole.TILE_ID: "tileId",
    TileRole.LABEL: "label",
    TileRole.DESCRIPTION: "description",
    TileRole.ICON_URL: "iconUrl",
    TileRole.GROUP: "group",
    TileRole.GROUP_LABEL: "groupLabel",
}

_FIELD_FOR_ROLE: Final = {
    TileRole.TILE_ID: "tile_id",
    TileRole.LABEL: "label",
    TileRole.DESCRIPTION: "description",
    TileRole.ICON_URL: "icon_url",
    TileRole.GROUP: "group",
    TileRole.GROUP_LABEL: "group_label",
}


class TileModel(QAbstractListModel):
    """One row per tile of the catalog, in group order."""

    def __init__(
        self, catalog: Catalog, bundle_dir: Path, language: str, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._bundle_dir = bundle_dir
        self._views = tile_views(catalog, bundle_dir, language)

    def set_catalog(self, catalog: Catalog, bundle_dir: Path, language: str) -> None:
        """Show another content bundle's tiles (a content update applied by the agent)."""
        self.beginResetModel()
        self._catalog, self._bundle_dir = catalog, bundle_dir
        self._views = tile_views(catalog, bundle_dir, language)
        self.endResetModel()

    def set_language(self, language: str) -> None:
        """Relabel every tile in ``language`` (for a live language switch)."""
        self._views = tile_views(self._catalog, self._bundle_dir, language)
        if self._views:
            self.dataChanged.emit(self.index(0), self.index(len(self._views) - 1))

    def views(self) -> list[TileView]:
        return list(self._views)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex | None = None) -> int:
        # A list model has rows only under the invisible root.
        if parent is not None and parent.isValid():
            return 0
        return len(self._views)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._views):
            return None
        view = self._views[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return view.label
        if role in _FIELD_FOR_ROLE:
            return getattr(view, _FIELD_FOR_ROLE[TileRole(role)])
        return None

    def roleNames(self) -> dict[int, QByteArray]:
        return {int(role): QByteArray(name.encode()) for role, name in ROLE_NAMES.items()}
