"""The terminal's ``.po`` catalogs compiled in memory without Babel: the kiosk's UI and the agent.

:func:`kiosk.i18n.translations` compiles a catalog with Babel (``read_po`` then ``write_mo``);
importing Babel and parsing a catalog with it cost the kiosk's first frame some 30 ms, and the
agent some 2 MB that would stay resident for months (Babel's locale data, ``decimal``,
``pickle``, ``zoneinfo``). The terminal's catalogs are written by Babel itself
(``pybabel update``: no context, no obsolete entry), so this reads them the way ``read_po``
does, builds the same ``.mo`` as ``write_mo`` (untranslated entries left out, fuzzy ones too,
a plural's empty forms given its source text) and hands it to
:class:`gettext.GNUTranslations`. tests/ui/test_translations.py checks that every message of
every language translates as through Babel (tests/agent/test_agent_i18n.py, the agent's);
:func:`catalog_translations` falls back to Babel for a catalog this reader does not handle.
"""

from __future__ import annotations

import gettext
import io
import re
import struct
from functools import cache
from pathlib import Path
from typing import Final

from kiosk.i18n import SOURCE_LANGUAGE, catalog_path, translations

_ESCAPE: Final = re.compile(r"\\([\\trn\"])")
_ESCAPES: Final = {"n": "\n", "t": "\t", "r": "\r"}
_KEYWORD: Final = re.compile(r"(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")$")


class PoFileError(ValueError):
    """A catalog this reader does not handle (Babel's then does)."""


def _unescape(quoted: str) -> str:
    return _ESCAPE.sub(lambda found: _ESCAPES.get(found[1], found[1]), quoted[1:-1])


class _Entry:
    __slots__ = ("fuzzy", "msgid", "plural", "strings")

    def __init__(self) -> None:
        self.fuzzy = False
        self.msgid: str | None = None
        self.plural: str | None = None
        self.strings: dict[int, str] = {}


def read_entries(text: str) -> list[_Entry]:
    """The catalog's entries, header first, as Babel's ``read_po`` keeps them."""
    entries: list[_Entry] = []
    entry = _Entry()
    target: tuple[str, int] | None = None

    def finish() -> None:
        nonlocal entry, target
        if entry.msgid is not None:
            entries.append(entry)
        entry, target = _Entry(), None

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#"):
            if line.startswith("#~"):
                raise PoFileError("obsolete entries")
            if target is not None and target[0] != "comment":
                finish()  # a comment after a message starts the next one
            target = ("comment", 0)
            if line.startswith("#,") and "fuzzy" in (f.strip() for f in line[2:].split(",")):
                entry.fuzzy = True
            continue
        if line.startswith('"'):
            if target is None or target[0] == "comment":
                raise PoFileError(f"a string outside a message: {line[:40]}")
            value = _unescape(line)
            kind, index = target
            if kind == "msgid":
                entry.msgid = (entry.msgid or "") + value
            elif kind == "msgid_plural":
                entry.plural = (entry.plural or "") + value
            else:
                entry.strings[index] += value
            continue
        found = _KEYWORD.match(line)
        if found is None or found[1] == "msgctxt":
            raise PoFileError(f"an unexpected line: {line[:40]}")
        keyword, form, value = found[1], found[2], _unescape(found[3])
        if keyword == "msgid":
            if entry.msgid is not None:
                finish()
            entry.msgid = value
            target = ("msgid", 0)
        elif keyword == "msgid_plural":
            entry.plural = value
            target = ("msgid_plural", 0)
        else:
            position = int(form) if form is not None else 0
            entry.strings[position] = value
            target = ("msgstr", position)
    finish()
    if not entries or entries[0].msgid != "":
        raise PoFileError("no header")
    return entries


def compile_mo(entries: list[_Entry]) -> bytes:
    """The ``.mo`` Babel's ``write_mo`` makes of these entries (header first)."""
    pairs: list[tuple[bytes, bytes]] = []
    for number, entry in enumerate(entries):
        assert entry.msgid is not None
        if entry.plural is not None:
            sources = (entry.msgid, entry.plural)
            forms = [entry.strings[i] for i in sorted(entry.strings)]
            if number and (entry.fuzzy or not forms):
                continue
            strings = [form or sources[min(i, 1)] for i, form in enumerate(forms)]
            pairs.append(("\x00".join(sources).encode(), "\x00".join(strings).encode()))
            continue
        string = entry.strings.get(0, "")
        if number and (entry.fuzzy or not string):
            continue
        pairs.append((entry.msgid.encode(), string.encode()))
    pairs[1:] = sorted(pairs[1:])
    ids = strs = b""
    offsets: list[tuple[int, int, int, int]] = []
    for msgid, msgstr in pairs:
        offsets.append((len(ids), len(msgid), len(strs), len(msgstr)))
        ids += msgid + b"\x00"
        strs += msgstr + b"\x00"
    count = len(pairs)
    key_start = 7 * 4 + 16 * count
    value_start = key_start + len(ids)
    table: list[int] = []
    for id_offset, id_length, _str_offset, _str_length in offsets:
        table += [id_length, key_start + id_offset]
    for _id_offset, _id_length, str_offset, str_length in offsets:
        table += [str_length, value_start + str_offset]
    header = struct.pack("Iiiiiii", 0x950412DE, 0, count, 7 * 4, 7 * 4 + count * 8, 0, 0)
    return header + struct.pack(f"{len(table)}i", *table) + ids + strs


def po_translations(path: Path) -> gettext.GNUTranslations:
    """The catalog at ``path``, compiled in memory (raise :class:`PoFileError` if odd)."""
    entries = read_entries(path.read_text(encoding="utf-8"))
    return gettext.GNUTranslations(io.BytesIO(compile_mo(entries)))


@cache
def catalog_translations(locale_dir: Path, domain: str, language: str) -> gettext.NullTranslations:
    """The catalog of ``domain`` in ``language``, compiled here (identity for the source
    language); through Babel (:func:`kiosk.i18n.translations`) if this reader refuses it."""
    path = catalog_path(locale_dir, language, domain)
    if language == SOURCE_LANGUAGE or not path.is_file():
        return gettext.NullTranslations()
    try:
        return po_translations(path)
    except PoFileError:
        return translations(locale_dir, domain, language)
