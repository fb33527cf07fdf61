"""The kiosk's own pages (refusal, offline), served under ``kiosk://`` to every session's profile.

A custom scheme rather than ``file:`` or ``qrc:``: those stay forbidden to the resident's view,
and these pages carry no address of the resident's browsing (they are the same for everyone).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Final

from kiosk.i18n import DEFAULT_LANGUAGE
from kiosk.ui.browser.policy import KIOSK_SCHEME
from kiosk.ui.i18n import gettext_for, resident_language
from kiosk.ui.qt import (
    QBuffer,
    QByteArray,
    QIODevice,
    QObject,
    QUrl,
    QWebEngineUrlRequestJob,
    QWebEngineUrlScheme,
    QWebEngineUrlSchemeHandler,
)

#: Which refusal page explains which reason (``kiosk://refused/?why=...``).
REFUSAL_REASONS: Final = ("outside", "certificate", "forbidden")

_STYLE: Final = """
body { margin: 0; background: #0b2440; color: #fff; font-family: 'Noto Sans', sans-serif;
       display: flex; align-items: center; justify-content: center; min-height: 100vh; }
main { max-width: 46em; padding: 2em; text-align: center; }
h1 { font-size: 2.6em; margin: 0 0 .5em; }
p { font-size: 1.6em; line-height: 1.4; }
.icon { font-size: 5em; }
button { font: inherit; font-size: 1.6em; font-weight: bold; min-height: 2.6em;
         padding: .4em 1.4em; margin-top: 1em; border-radius: .5em; border: 0;
         background: #ffd34d; color: #0b2440; }
"""


def register_kiosk_scheme() -> None:
    """Declare ``kiosk:`` to QtWebEngine; must run before the application object exists."""
    if QWebEngineUrlScheme.schemeByName(QByteArray(KIOSK_SCHEME.encode())).name():
        return
    scheme = QWebEngineUrlScheme(QByteArray(KIOSK_SCHEME.encode()))
    scheme.setSyntax(QWebEngineUrlScheme.Syntax.Host)
    # Secure (like https, so https pages may show it in a frame) and local to nothing.
    scheme.setFlags(
        QWebEngineUrlScheme.Flag.SecureScheme
        | QWebEngineUrlScheme.Flag.NoAccessAllowed
        | QWebEngineUrlScheme.Flag.ContentSecurityPolicyIgnored
    )
    QWebEngineUrlScheme.registerScheme(scheme)


def _direction(language: str) -> str:
    try:
        return "rtl" if resident_language(language).right_to_left else "ltr"
    except KeyError:
        return "ltr"


def _page(
    title: str, icon: str, lines: list[str], button: str | None, action: str, language: str
) -> str:
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    button_html = (
        f'<button id="back" onclick="{action}">{html.escape(button)}</button>' if button else ""
    )
    return (
        f"<!doctype html><html lang='{html.escape(language)}' dir='{_direction(language)}'>"
        f"<head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head>"
        f"<body><main><div class='icon' aria-hidden='true'>{icon}</div>"
        f"<h1>{html.escape(title)}</h1>{paragraphs}{button_html}</main></body></html>"
    )


def page_html(
    host: str, reason: str, _: Callable[[str], str], language: str = DEFAULT_LANGUAGE
) -> str | None:
    """The HTML of ``kiosk://<host>/`` through the gettext function ``_`` of ``language``.

    ``language`` gives the page's ``lang`` and its direction (``dir='rtl'`` in Arabic).
    """
    if host == "refused":
        if reason == "certificate":
            lines = [
                _("This site could not prove its identity, so the terminal does not open it."),
                _("Your data is safe. You can go back or choose another service."),
            ]
        elif reason == "forbidden":
            lines = [
                _("This kind of link cannot be opened on the terminal."),
                _("You can go back to the previous page or choose another service."),
            ]
        else:
            lines = [
                _("This page is outside the service you chose."),
                _("For your safety, the terminal only opens the pages of this service."),
            ]
        title = _("This page is not available here")
        return _page(title, "&#9940;", lines, _("Go back"), "history.back()", language)
    if host == "offline":
        lines = [
            _("The connection is interrupted for the moment."),
            _("The terminal tries again by itself. Please wait a little."),
        ]
        return _page(_("No connection"), "&#128246;", lines, None, "", language)
    if host == "blank":
        return "<!doctype html><html><head><meta charset='utf-8'><title></title></head></html>"
    return None


class KioskPages(QWebEngineUrlSchemeHandler):
    """Answers ``kiosk://refused/``, ``kiosk://offline/`` and ``kiosk://blank/``.

    The pages follow the resident's language: :meth:`set_language` at every switch.
    """

    def __init__(
        self,
        translate: Callable[[str], str],
        parent: QObject | None = None,
        *,
        language: str = DEFAULT_LANGUAGE,
    ) -> None:
        super().__init__(parent)
        self._translate = translate
        self._language = language

    @property
    def language(self) -> str:
        return self._language

    def set_translate(self, translate: Callable[[str], str], language: str) -> None:
        """Serve the pages through ``translate`` (the gettext of ``language``) from now on."""
        self._translate = translate
        self._language = language

    def set_language(self, language: str) -> None:
        """Serve the pages in ``language`` from now on (the next page loaded shows it)."""
        self.set_translate(gettext_for(language), language)

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:
        url: QUrl = job.requestUrl()
        reason = ""
        for key, value in (pair.split("=", 1) for pair in url.query().split("&") if "=" in pair):
            if key == "why" and value in REFUSAL_REASONS:
                reason = value
        text = page_html(url.host(), reason, self._translate, self._language)
        if text is None:
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        buffer = QBuffer(job)
        buffer.setData(QByteArray(text.encode("utf-8")))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        job.reply(QByteArray(b"text/html;charset=utf-8"), buffer)
