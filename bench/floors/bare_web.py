"""The floor of the kiosk's cold start: a bare QtWebEngineQuick app showing a local page.

``python bench/floors/bare_web.py`` prints ``ready`` once a frame has been swapped after the
local page loaded, then quits; with ``--memory`` it then settles ``SETTLE_S`` seconds and prints
the RSS and USS of itself and its QtWebEngine processes as JSON. Run offscreen, like the kiosk.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtQml import QQmlApplicationEngine
from PySide6.QtQuick import QQuickWindow
from PySide6.QtWebEngineQuick import QtWebEngineQuick

QML = Path(__file__).resolve().with_name("bare_web.qml")
READY = "ready"
PAGE = "<!doctype html><html lang=fr><title>floor</title><h1>Bonjour</h1><p>Page locale.</p>"


def total_memory() -> dict[str, float]:
    import psutil

    me = psutil.Process(os.getpid())
    rss = uss = 0
    processes = [me, *me.children(recursive=True)]
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            info = process.memory_full_info()
            rss += info.rss
            uss += info.uss
    return {"rss_mib": round(rss / 2**20, 1), "uss_mib": round(uss / 2**20, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--settle-s", type=float, default=3.0)
    parser.add_argument("--url", help="the page to show (default: a local file)")
    args = parser.parse_args()
    QtWebEngineQuick.initialize()
    app = QGuiApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="floor-web-") as name:
        page = Path(name) / "index.html"
        page.write_text(PAGE, encoding="utf-8")
        engine = QQmlApplicationEngine()
        url = QUrl(args.url) if args.url else QUrl.fromLocalFile(str(page))
        engine.setInitialProperties({"page": url})
        engine.load(QUrl.fromLocalFile(str(QML)))
        window = engine.rootObjects()[0]
        assert isinstance(window, QQuickWindow)

        def check() -> None:
            if int(window.property("loads")) < 1:
                return
            window.frameSwapped.disconnect(check)
            print(READY, flush=True)
            if args.memory:
                QTimer.singleShot(round(args.settle_s * 1000), report)
            else:
                app.exit(0)

        def report() -> None:
            print(json.dumps(total_memory()), flush=True)
            app.exit(0)

        window.frameSwapped.connect(check, Qt.ConnectionType.QueuedConnection)
        QTimer.singleShot(60_000, lambda: app.exit(3))
        code = app.exec()
        current = window.property("current")
        if isinstance(current, QObject):
            current.deleteLater()
        del engine
    return code


if __name__ == "__main__":
    sys.exit(main())
