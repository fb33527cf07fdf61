"""The agent's gettext domain: ``_()`` functions for its CLI and error messages.

The agent's catalog is read here with a few lines of stdlib rather than compiled with Babel
(:mod:`kiosk.i18n`): Babel brings its locale data, ``decimal``, ``pickle`` and ``zoneinfo``,
about 2 MB that would stay resident for months to translate some forty messages at start-up.
The catalog is plain (no plural forms, no contexts); one that is not falls back to Babel, and
``tests/agent/test_agent_i18n.py`` checks that both give the same translations.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Final, TypeAlias

from kiosk.i18n import DEFAULT_LANGUAGE, SOURCE_LANGUAGE, available_languages, catalog_path

LOCALE_DIR: Final = Path(__file__).parent / "locale"
DOMAIN: Final = "agent"

#: A ``_()`` function: English source text in, text in the chosen language out.
Translate: TypeAlias = Callable[[str], str]

_ESCAPES: Final = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
_ESCAPE_RE: Final = re.compile(r"\\(.)")


class NotPlain(ValueError):
    """A catalog with plural forms, contexts or an escape this reader does not know."""


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise NotPlain(f"not a quoted string: {text[:40]!r}")

    def unescape(found: re.Match[str]) -> str:
        if found.group(1) not in _ESCAPES:
            raise NotPlain(f"escape \\{found.group(1)}")
        return _ESCAPES[found.group(1)]

    return _ESCAPE_RE.sub(unescape, text[1:-1])


def read_plain_po(path: Path) -> dict[str, str]:
    """The translated entries of a plain ``.po`` file (fuzzy and empty ones left out, as Babel
    leaves them out of a compiled catalog); :class:`NotPlain` for anything else."""
    found: dict[str, str] = {}
    entry: dict[str, str] = {}
    current = ""
    fuzzy = False

    def close() -> None:
        nonlocal entry, current, fuzzy
        if "msgid" in entry:
            msgid, msgstr = entry["msgid"], entry.get("msgstr", "")
            if msgid and msgstr and not fuzzy:
                found[msgid] = msgstr
        entry, current, fuzzy = {}, "", False

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            close()
        elif line.startswith("#~"):
            continue  # obsolete
        elif line.startswith("#,"):
            fuzzy = fuzzy or "fuzzy" in line[2:].replace(",", " ").split()
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            if not current:
                raise NotPlain(f"a string outside an entry: {line[:40]!r}")
            entry[current] += _unquote(line)
        else:
            keyword, _, rest = line.partition(" ")
            if keyword not in ("msgid", "msgstr"):
                raise NotPlain(f"{keyword} is not read here")
            if keyword == "msgid" and "msgid" in entry:
                close()
            current = keyword
            entry[keyword] = _unquote(rest)
    close()
    return found


@cache
def _translations(language: str) -> gettext.NullTranslations:
    path = catalog_path(LOCALE_DIR, language, DOMAIN)
    if language == SOURCE_LANGUAGE or not path.is_file():
        return gettext.NullTranslations()
    try:
        catalog = read_plain_po(path)
    except NotPlain:
        from kiosk.i18n import translations  # Babel, for a catalog this reader does not read

        return translations(LOCALE_DIR, DOMAIN, language)
    return _PlainTranslations(catalog)


class _PlainTranslations(gettext.NullTranslations):
    def __init__(self, catalog: dict[str, str]) -> None:
        super().__init__()
        self._catalog = catalog

    def gettext(self, message: str) -> str:
        return self._catalog.get(message, message)


def gettext_for(language: str = DEFAULT_LANGUAGE) -> Translate:
    """The ``_()`` of the agent in ``language`` (English when there is no catalog for it)."""
    return _translations(language).gettext


def languages() -> list[str]:
    """The languages the agent speaks."""
    return available_languages(LOCALE_DIR, DOMAIN)


def untranslated(message: str) -> str:
    """A ``_()`` that keeps the English source text (for code paths with no user language)."""
    return message
