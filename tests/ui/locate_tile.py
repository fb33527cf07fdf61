"""Print where a tile of the shipped home screen is, in the kiosk's 1280×800 window, as JSON.

The demo's browser test touches the real kiosk through noVNC; the tile's place comes from the
same QML laid out offscreen here, so the test follows the home screen when its layout changes.
Run as ``QT_QPA_PLATFORM=offscreen python -m tests.ui.locate_tile TILE_ID``.
"""

from __future__ import annotations

import json
import os
import sys

from kiosk.catalog import default_bundle_dir, load_catalog
from kiosk.ui.backlight import SimulatedBacklight
from kiosk.ui.browser import prepare_web_engine
from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import QEvent, QGuiApplication
from tests.ui.kiosk_items import item
from tests.ui.make_screenshots import settle


def main() -> int:
    tile_id = sys.argv[1]
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
    prepare_web_engine()
    app = QGuiApplication(sys.argv[:1])
    bundle = default_bundle_dir()
    home = HomeScreen(
        app,
        load_catalog(bundle),
        bundle,
        "fr",
        backlight=SimulatedBacklight(),
        attract_after_s=3600,
    )
    home.show(windowed=True)
    settle(home)
    tile = item(home, f"tile-{tile_id}")
    centre = tile.mapToScene(tile.boundingRect().center())
    size = home.window.size()
    print(
        json.dumps(
            {"x": centre.x(), "y": centre.y(), "width": size.width(), "height": size.height()}
        )
    )
    home.close()
    for _ in range(3):
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return 0


if __name__ == "__main__":
    sys.exit(main())
