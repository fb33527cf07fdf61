"""What the kiosk benchmarks share: the stand-in site, a kiosk on it, waiting without sleeping.

Run the benchmarks from the repository root, offscreen::

    QT_QPA_PLATFORM=offscreen QTWEBENGINE_CHROMIUM_FLAGS="--no-sandbox --disable-gpu" \\
        .venv/bin/python -m bench.kiosk_X

They browse the tests' stand-in site (``tests/ui/standin.py``, HTTPS on loopback, mapped to
allow-listed test host names), never the real internet.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from kiosk.contract.catalog import default_bundle_dir, load_catalog
from kiosk.ui.browser import prepare_web_engine
from kiosk.ui.home import HomeScreen
from kiosk.ui.main import make_singletons_immortal
from kiosk.ui.qt import (
    QEventLoop,
    QGuiApplication,
    QMetaObject,
    QObject,
    QQmlApplicationEngine,
    QQuickWindow,
    QTimer,
    QUrl,
)
from kiosk.ui.session import SessionTimeouts
from tests.ui.standin import (
    ALLOWED_HOST,
    BAD_CERT_HOST,
    HOST_RESOLVER_RULES,
    OTHER_ALLOWED_HOST,
    OUTSIDE_HOST,
    Standin,
    make_certificate,
    running_standin,
)

ROOT = Path(__file__).resolve().parent.parent

STANDIN_TILE = "standin"
#: Long enough that no idle or maximum-length end interferes with a benchmark.
BENCH_TIMEOUTS = SessionTimeouts(idle_timeout_s=3600, max_length_s=4 * 3600)


@dataclass
class BenchKiosk:
    """A shown kiosk on a one-tile catalog pointing at the running stand-in."""

    app: QGuiApplication
    home: HomeScreen
    standin: Standin


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(values_s: list[float]) -> dict[str, float]:
    """Median, p95 and extremes of durations in seconds, as milliseconds."""
    return {
        "median_ms": round(statistics.median(values_s) * 1000, 1),
        "p95_ms": round(percentile(values_s, 0.95) * 1000, 1),
        "min_ms": round(min(values_s) * 1000, 1),
        "max_ms": round(max(values_s) * 1000, 1),
    }


def emit(result: dict[str, object]) -> None:
    """Print the benchmark's one JSON object."""
    print(json.dumps(result, ensure_ascii=False))


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Run the event loop until ``condition`` holds; raise if it does not in time."""
    if condition():
        return
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(2)
    poll.timeout.connect(lambda: loop.quit() if condition() else None)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    poll.start()
    deadline.start(round(timeout_s * 1000))
    loop.exec()
    poll.stop()
    if not condition():
        raise RuntimeError(f"timed out after {timeout_s} s waiting for {what}")


def spin(seconds: float) -> None:
    """Let the event loop run for ``seconds`` (settling before a memory reading)."""
    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()


def session_view(home: HomeScreen) -> QObject | None:
    browser_view = home.window.findChild(QObject, "browserView")
    view = browser_view.property("webView") if browser_view is not None else None
    return view if isinstance(view, QObject) else None


def total_memory() -> dict[str, float]:
    """RSS and USS (MiB) of this process plus all its children (the QtWebEngine processes)."""
    me = psutil.Process(os.getpid())
    processes = [me, *me.children(recursive=True)]
    rss = uss = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            info = process.memory_full_info()
            rss += info.rss
            uss += info.uss
    return {
        "rss_mib": round(rss / 2**20, 1),
        "uss_mib": round(uss / 2**20, 1),
        "processes": len(processes),
    }


def _bundle(directory: Path, standin: Standin) -> Path:
    shutil.copy(default_bundle_dir() / "sante.svg", directory / "sante.svg")
    catalog = {
        "v": 1,
        "version": "bench",
        "groups": [{"id": "sante", "label": {"fr": "Santé"}, "icon": "sante.svg"}],
        "tiles": [
            {
                "id": STANDIN_TILE,
                "group": "sante",
                "icon": "sante.svg",
                "allow": ["*.test-gouv.fr"],
                "label": {"fr": "Service test"},
                "url": standin.url(),
            }
        ],
    }
    (directory / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
    return directory


@contextlib.contextmanager
def bench_kiosk() -> Iterator[BenchKiosk]:
    """Start the stand-in, then a windowed kiosk whose one tile opens it."""
    # PySide6 6.12 on Python 3.11 drops a reference to True per emit: the kiosk's guard.
    make_singletons_immortal()
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as name:
        directory = Path(name)
        trusted = make_certificate(
            directory, "standin", [ALLOWED_HOST, OTHER_ALLOWED_HOST, OUTSIDE_HOST]
        )
        untrusted = make_certificate(directory, "badcert", [BAD_CERT_HOST])
        flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
        os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = (
            f'{flags} --host-resolver-rules="{HOST_RESOLVER_RULES}"'
            f" --ignore-certificate-errors-spki-list={trusted.spki_sha256}"
        ).strip()
        with running_standin(trusted, untrusted) as standin:
            bundle = _bundle(directory, standin)
            prepare_web_engine()
            app = QGuiApplication(sys.argv[:1])
            home = HomeScreen(app, load_catalog(bundle), bundle, "fr", BENCH_TIMEOUTS)
            home.show(windowed=True)
            try:
                yield BenchKiosk(app, home, standin)
            finally:
                done: list[bool] = []
                home.browser.destroyed.connect(lambda: done.append(True))
                if home.browser.sessionActive:
                    home.browser.wipe_now()
                    wait_until(lambda: home.browser.current_profile is not None, 10, "wipe")
                home.close()
                wait_until(lambda: bool(done), 10, "the kiosk to close")


class TitleWatcher:
    """The titles a session's view announced, read only when it announces one.

    Reading ``title`` by polling crashed QtWebEngine 6.12 inside ``QQuickWebEngineView::title()``
    about once in a hundred sessions (a view read just after its creation, before its page
    exists); reading it on ``titleChanged`` is safe.
    """

    def __init__(self, view: QObject) -> None:
        self.titles: list[str] = []
        self._view = view
        view.titleChanged.connect(self._on_title)  # type: ignore[attr-defined]

    def _on_title(self) -> None:
        self.titles.append(str(self._view.property("title")))

    def last(self) -> str:
        return self.titles[-1] if self.titles else ""

    def saw(self, accept: Callable[[str], bool]) -> bool:
        return any(accept(title) for title in self.titles)


def open_tile(kiosk: BenchKiosk, timeout_s: float = 20) -> TitleWatcher:
    """Touch the stand-in tile and wait until its home page is shown; watch the view's titles.

    The caller drops the watcher (and with it the view) before ending the session.
    """
    home = kiosk.home
    home.browser.openTile(STANDIN_TILE)
    found: list[QObject] = []

    def view_created() -> bool:
        view = session_view(home)
        if view is not None:
            found.append(view)
        return bool(found)

    wait_until(view_created, timeout_s, "the session's view")
    watcher = TitleWatcher(found[0])
    wait_until(lambda: watcher.saw(lambda t: t == "standin-home"), timeout_s, "the stand-in")
    return watcher


def plant_state(kiosk: BenchKiosk, watcher: TitleWatcher, timeout_s: float = 20) -> None:
    """Load the stand-in's /plant page (cookies, storage, IndexedDB, caches, a worker)."""
    kiosk.home.browser.load(kiosk.standin.url("/plant"))
    wait_until(
        lambda: watcher.saw(lambda t: t.startswith(("planted:", "plant-failed"))),
        timeout_s,
        "the planted state",
    )
    if not watcher.saw(lambda t: t.startswith("planted:")):
        raise RuntimeError(f"planting failed: {watcher.last()}")


def finish_and_time(kiosk: BenchKiosk, timeout_s: float = 10) -> dict[str, float]:
    """Press « Terminer » (its slot); seconds until the self-check, and until home is ready.

    Ready means: the self-check of the new profile is done (so the next session can start)
    and a frame of the home screen has been swapped since the press.
    """
    browser, window = kiosk.home.browser, kiosk.home.window
    marks: dict[str, float] = {}

    def on_frame() -> None:
        marks.setdefault("frame", time.perf_counter())

    def on_check(result: object) -> None:
        marks["check"] = time.perf_counter()
        marks["ok"] = float(bool(getattr(result, "ok", False)))

    window.frameSwapped.connect(on_frame)
    browser.selfCheckDone.connect(on_check)
    try:
        start = time.perf_counter()
        browser.finishSession()
        wait_until(lambda: "check" in marks and "frame" in marks, timeout_s, "the wipe")
    finally:
        window.frameSwapped.disconnect(on_frame)
        browser.selfCheckDone.disconnect(on_check)
    return {
        "self_check_s": marks["check"] - start,
        "ready_s": max(marks["check"], marks["frame"]) - start,
        "ok": marks["ok"],
    }


BARE_WEB_QML = ROOT / "bench" / "floors" / "bare_web.qml"


class BareWeb:
    """The kiosk benchmarks' floor in the same process: one window, one bare WebEngineView.

    ``bench/floors/bare_web.qml``: an off-the-record profile and a view, nothing of the kiosk
    (no lockdown, no interceptor, no self-check).
    """

    def __init__(self, page: str) -> None:
        self.engine = QQmlApplicationEngine()
        self.engine.setInitialProperties({"page": QUrl(page)})
        self.engine.load(QUrl.fromLocalFile(str(BARE_WEB_QML)))
        window = self.engine.rootObjects()[0]
        assert isinstance(window, QQuickWindow)
        self.window = window
        wait_until(lambda: self.loads >= 1, 60, "the bare view's first page")

    @property
    def loads(self) -> int:
        return int(self.window.property("loads"))

    def plant(self, url: str, timeout_s: float = 20) -> None:
        """Load the stand-in's /plant page and wait until its state is planted."""
        self.window.setProperty("title", "")
        self.window.setProperty("address", "")
        self.window.setProperty("address", url)
        try:
            wait_until(
                lambda: str(self.window.property("title")).startswith(("planted:", "plant-failed")),
                timeout_s,
                "the bare view's planted state",
            )
        finally:
            title = str(self.window.property("title"))
        if not title.startswith("planted:"):
            raise RuntimeError(f"the bare view's planting failed: {title!r}")

    def timed(self, method: str, timeout_s: float = 10) -> float:
        """Seconds from calling the QML ``method`` to a frame after the next finished load."""
        before = self.loads
        marks: dict[str, float] = {}

        def on_frame() -> None:
            if self.loads > before:
                marks.setdefault("frame", time.perf_counter())

        self.window.frameSwapped.connect(on_frame)
        try:
            start = time.perf_counter()
            QMetaObject.invokeMethod(self.window, method)
            wait_until(lambda: "frame" in marks, timeout_s, f"the bare view's {method}")
        finally:
            self.window.frameSwapped.disconnect(on_frame)
        return marks["frame"] - start

    def close(self) -> None:
        self.window.close()
        current = self.window.property("current")
        if isinstance(current, QObject):
            current.deleteLater()
        spin(0.2)
        del self.engine
