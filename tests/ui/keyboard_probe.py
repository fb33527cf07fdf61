"""Run in its own process by test_keyboard.py: Qt Virtual Keyboard must be chosen before the
application exists, and the rest of the UI suite runs without it.

Opens the stand-in (or, with ``--local-page``, a page of the content bundle), touches its text
field, and prints one JSON line: whether the keyboard panel is shown, its top, the field's
rectangle in the window, and the page view's bottom.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from kiosk.contract.catalog import load_catalog
from kiosk.ui.browser import prepare_web_engine
from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import (
    Q_ARG,
    QEvent,
    QGuiApplication,
    QMetaObject,
    QMouseEvent,
    QObject,
    QPointF,
    QQuickItem,
    Qt,
    prepare_virtual_keyboard,
)
from tests.ui.make_screenshots import grab, settle, view_of, wait_for
from tests.ui.standin import (
    ALLOWED_HOST,
    BAD_CERT_HOST,
    make_certificate,
    route_web_engine_to_standin,
    running_standin,
    write_standin_bundle,
)

FIELD_RECT_SCRIPT = (
    "(function () { const r = document.getElementById('field').getBoundingClientRect();"
    " document.title = 'field:' + [r.left, r.top, r.width, r.height].join(','); })()"
)


def click(home: HomeScreen, x: float, y: float) -> None:
    for kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease):
        event = QMouseEvent(
            kind,
            QPointF(x, y),
            QPointF(x, y),
            Qt.MouseButton.LeftButton,
            Qt.MouseButton.LeftButton
            if kind == QEvent.Type.MouseButtonPress
            else Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QGuiApplication.sendEvent(home.window, event)


#: A page of the bundle with a field where the stand-in's is (the top left of the page).
LOCAL_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>local-field</title></head><body>"
    "<input id='field' style='position:absolute;left:0;top:100px;width:600px;height:90px'>"
    "</body></html>"
)


def main() -> int:
    screenshot = "--screenshot" in sys.argv
    local = "--local-page" in sys.argv
    tile, title = ("page", "local-field") if local else ("standin", "standin-home")
    work = Path(tempfile.mkdtemp(prefix="kiosk-keyboard-"))
    trusted = make_certificate(work, "standin", [ALLOWED_HOST])
    untrusted = make_certificate(work, "bad", [BAD_CERT_HOST])
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    route_web_engine_to_standin(trusted)
    prepare_virtual_keyboard()
    prepare_web_engine()
    app = QGuiApplication(sys.argv[:1])
    with running_standin(trusted, untrusted) as standin:
        (work / "pages").mkdir()
        (work / "pages" / "champ.html").write_text(LOCAL_PAGE, encoding="utf-8")
        page: dict[str, object] = {
            "id": "page",
            "label": {"fr": "Page"},
            "page": "pages/champ.html",
        }
        write_standin_bundle(work, standin.url("/"), "keyboard", extra_tiles=(page,))
        home = HomeScreen(app, load_catalog(work), work, "fr")
        home.show(windowed=True)
        home.window.requestActivate()
        home.browser.openTile(tile)
        wait_for(lambda: (v := view_of(home)) is not None and v.property("title") == title)
        view = view_of(home)
        assert view is not None
        settle(home)
        # The keyboard loads in the background after the home's first frame.
        wait_for(lambda: home.window.findChild(QQuickItem, "inputPanel") is not None)
        origin = view.mapToScene(view.boundingRect().topLeft())  # type: ignore[attr-defined]
        # The field is at the top left of the page: touch it like a resident.
        click(home, origin.x() + 200, origin.y() + 140)
        panel = home.window.findChild(QQuickItem, "inputPanel")
        wait_for(lambda: panel is not None and panel.isVisible(), 10_000)
        assert panel is not None
        wait_for(lambda: float(home.window.property("keyboardHeight")) > 0)
        settle(home)
        QMetaObject.invokeMethod(view, "runJavaScript", Q_ARG(str, FIELD_RECT_SCRIPT))
        wait_for(lambda: str(view.property("title")).startswith("field:"))
        _left, top, _width, height = (float(v) for v in str(view.property("title"))[6:].split(","))
        zoom = float(view.property("zoomFactor"))
        panel_top = panel.mapToScene(panel.boundingRect().topLeft()).y()
        view_bottom = view.mapToScene(view.boundingRect().bottomLeft()).y()  # type: ignore[attr-defined]
        if screenshot:
            grab(home, "kiosk-keyboard.png")
        print(
            json.dumps(
                {
                    "panel_visible": panel.isVisible(),
                    "panel_top": panel_top,
                    "window_height": home.window.height(),
                    "view_bottom": view_bottom,
                    "field_top": origin.y() + top * zoom,
                    "field_bottom": origin.y() + (top + height) * zoom,
                    "locale": str(
                        home.window.findChild(QObject, "inputPanel").property("language")
                    ),
                }
            ),
            flush=True,
        )
        home.browser.wipe_now()
        wait_for(lambda: view_of(home) is None)
        home.close()
        for _ in range(3):
            app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
