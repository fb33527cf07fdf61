"""The one module that imports Qt: the rest of ``kiosk`` imports Qt names from here.

Keeping the binding behind one wrapper (as qutebrowser does) means a binding or version change
touches one file, and a grep for ``PySide6`` shows exactly what the UI depends on.
"""

from __future__ import annotations

from PySide6.QtCore import (
    Property,
    QAbstractListModel,
    QBuffer,
    QByteArray,
    QCoreApplication,
    QEvent,
    QEventLoop,
    QIODevice,
    QMessageLogContext,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    Qt,
    QTimer,
    QtMsgType,
    QTranslator,
    QUrl,
    Signal,
    Slot,
    qInstallMessageHandler,
)
from PySide6.QtGui import (
    QGuiApplication,
    QImage,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QWindow,
)
from PySide6.QtQml import QQmlApplicationEngine, QQmlComponent, QQmlEngine
from PySide6.QtQuick import QQuickItem, QQuickWindow
from PySide6.QtWebEngineCore import (
    QWebEngineDownloadRequest,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
    QWebEngineUrlRequestJob,
    QWebEngineUrlScheme,
    QWebEngineUrlSchemeHandler,
)
from PySide6.QtWebEngineQuick import QQuickWebEngineProfile, QtWebEngineQuick

__all__ = [
    "Property",
    "QAbstractListModel",
    "QBuffer",
    "QByteArray",
    "QCoreApplication",
    "QEvent",
    "QEventLoop",
    "QGuiApplication",
    "QIODevice",
    "QImage",
    "QKeyEvent",
    "QKeySequence",
    "QMessageLogContext",
    "QModelIndex",
    "QMouseEvent",
    "QObject",
    "QPersistentModelIndex",
    "QPoint",
    "QQmlApplicationEngine",
    "QQmlComponent",
    "QQmlEngine",
    "QQuickItem",
    "QQuickWebEngineProfile",
    "QQuickWindow",
    "QTimer",
    "QTranslator",
    "QUrl",
    "QWebEngineDownloadRequest",
    "QWebEngineUrlRequestInfo",
    "QWebEngineUrlRequestInterceptor",
    "QWebEngineUrlRequestJob",
    "QWebEngineUrlScheme",
    "QWebEngineUrlSchemeHandler",
    "QWindow",
    "Qt",
    "QtMsgType",
    "QtWebEngineQuick",
    "Signal",
    "Slot",
    "qInstallMessageHandler",
]
