"""Print where a tile of the shipped home screen is, in the kiosk's 1280×800 window, as JSON.

The demo's browser test touches the real kiosk through noVNC; the tile's place comes from the
same QML laid out offscreen here, so the test follows the home screen when its layout changes.
Run as ``QT_QPA_PLATFORM=offscreen python -m tests.ui.locate_tile TILE_ID``.
"""

from __future__ import annotations

import json
import sys

from kiosk.ui.qt import QEvent
from tests.ui.kiosk_items import item
from tests.ui.make_a11y_screenshots import shipped_home


def main() -> int:
    app, home = shipped_home()
    tile = item(home, f"tile-{sys.argv[1]}")
    centre = tile.mapToScene(tile.boundingRect().center())
    size = home.window.size()
    place = {"x": centre.x(), "y": centre.y(), "width": size.width(), "height": size.height()}
    print(json.dumps(place))
    home.close()
    for _ in range(3):
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return 0


if __name__ == "__main__":
    sys.exit(main())
