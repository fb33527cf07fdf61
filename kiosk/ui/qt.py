"""The one module that imports Qt: the rest of ``kiosk`` imports Qt names from here.

Keeping the binding behind one wrapper (as qutebrowser does) means a binding or version change
touches one file, and a grep for ``PySide6`` shows exactly what the UI depends on.
"""

from __future__ import annotations

import os
from typing import Final

from PySide6.QtCore import (
    Q_ARG,
    Property,
    QAbstractListModel,
    QBuffer,
    QByteArray,
    QCoreApplication,
    QEvent,
    QEventLoop,
    QIODevice,
    QLocale,
    QLoggingCategory,
    QMessageLogContext,
    QMetaObject,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRectF,
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
    QFont,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QRawFont,
    QWindow,
)
from PySide6.QtQml import QJSValue, QQmlApplicationEngine, QQmlComponent, QQmlEngine
from PySide6.QtQuick import QQuickItem, QQuickWindow
from PySide6.QtTextToSpeech import QTextToSpeech
from PySide6.QtWebEngineCore import (
    QWebEngineCookieStore,
    QWebEngineDownloadRequest,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
    QWebEngineUrlRequestJob,
    QWebEngineUrlScheme,
    QWebEngineUrlSchemeHandler,
)
from PySide6.QtWebEngineQuick import QQuickWebEngineProfile, QtWebEngineQuick

#: Qt's input-method plugin of Qt Virtual Keyboard (the InputPanel inside the kiosk's window).
VIRTUAL_KEYBOARD_IM_MODULE: Final = "qtvirtualkeyboard"


def prepare_virtual_keyboard() -> None:
    """Route text input to Qt Virtual Keyboard; call before the QGuiApplication exists."""
    os.environ["QT_IM_MODULE"] = VIRTUAL_KEYBOARD_IM_MODULE
    # Its key-click sound goes through Qt Multimedia, which probes PipeWire (absent on the
    # terminal: PulseAudio) and says so as a warning at every start.
    QLoggingCategory.setFilterRules("qt.multimedia.symbolsresolver.warning=false")


__all__ = [
    "Q_ARG",
    "VIRTUAL_KEYBOARD_IM_MODULE",
    "Property",
    "QAbstractListModel",
    "QBuffer",
    "QByteArray",
    "QCoreApplication",
    "QEvent",
    "QEventLoop",
    "QFont",
    "QGuiApplication",
    "QIODevice",
    "QImage",
    "QJSValue",
    "QKeyEvent",
    "QKeySequence",
    "QLocale",
    "QLoggingCategory",
    "QMessageLogContext",
    "QMetaObject",
    "QModelIndex",
    "QMouseEvent",
    "QObject",
    "QPersistentModelIndex",
    "QPoint",
    "QPointF",
    "QQmlApplicationEngine",
    "QQmlComponent",
    "QQmlEngine",
    "QQuickItem",
    "QQuickWebEngineProfile",
    "QQuickWindow",
    "QRawFont",
    "QRectF",
    "QTextToSpeech",
    "QTimer",
    "QTranslator",
    "QUrl",
    "QWebEngineCookieStore",
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
    "prepare_virtual_keyboard",
    "qInstallMessageHandler",
]
