"""The one module that imports Qt: the rest of ``kiosk`` imports Qt names from here.

Keeping the binding behind one wrapper (as qutebrowser does) means a binding or version change
touches one file, and a grep for ``PySide6`` shows exactly what the UI depends on.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    Qt,
    QTranslator,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtQml import QQmlApplicationEngine
from PySide6.QtQuick import QQuickItem, QQuickWindow

__all__ = [
    "QAbstractListModel",
    "QByteArray",
    "QCoreApplication",
    "QGuiApplication",
    "QImage",
    "QModelIndex",
    "QObject",
    "QPersistentModelIndex",
    "QPoint",
    "QQmlApplicationEngine",
    "QQuickItem",
    "QQuickWindow",
    "QTranslator",
    "QUrl",
    "Qt",
    "Signal",
    "Slot",
]
