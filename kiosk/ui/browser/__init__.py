"""The resident's browser: session profiles, the lockdown policy and the kiosk's own pages."""

from __future__ import annotations

from kiosk.ui.browser.pages import register_kiosk_scheme
from kiosk.ui.qt import QtWebEngineQuick


def prepare_web_engine() -> None:
    """Register ``kiosk:`` and set up QtWebEngine; call before the QGuiApplication exists."""
    register_kiosk_scheme()
    QtWebEngineQuick.initialize()
