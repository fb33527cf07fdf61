"""A QTranslator that answers QML ``qsTr()`` from the project's gettext catalog.

One translation system for the whole project: QML source strings are English msgids in the
same ``kiosk.po`` as the Python strings, so translators edit one file and ``engine.retranslate()``
can switch languages live.
"""

from __future__ import annotations

from kiosk.ui.i18n import ui_translations
from kiosk.ui.qt import QObject, QTranslator


class GettextTranslator(QTranslator):
    """Translate ``qsTr()`` strings through gettext (the context is not used).

    ``qsTr("second(s)", "", n)`` takes the catalog's plural form for ``n`` (a ``msgid_plural``
    entry); Qt then puts ``n`` in place of ``%n``.
    """

    def __init__(self, language: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._language = language
        self._catalog = ui_translations(language)

    def language(self) -> str:
        return self._language

    def isEmpty(self) -> bool:
        # Qt skips translators that report themselves empty; this one has no .qm file behind it.
        return False

    def translate(
        self,
        context: str,
        sourceText: str,
        disambiguation: str | None = None,
        n: int = -1,
    ) -> str | None:
        if n >= 0:
            translated = self._catalog.ngettext(sourceText, sourceText, n)
        else:
            translated = self._catalog.gettext(sourceText)
        # None (a null QString, unlike "") tells Qt to use the source text or another translator.
        return translated if translated != sourceText else None
