"""Finding English left in a French page: the text a person reads or hears, and two nets.

What is read: the page's text outside ``<script>`` and ``<style>``, and the ``title``,
``aria-label``, ``placeholder`` and ``alt`` attributes (what a tooltip or a screen reader says).
An element marked ``translate="no"`` (a terminal's technical name, a version) is left out with
its content, as the HTML standard means it.

The nets:

- :data:`ENGLISH_WORDS`, words of English that are not French words (``the``, ``with``,
  ``lost``, ``disk``...): any of them is a leftover;
- every English message of the fleet's catalog whose French differs: its literal text (each
  run of several words between placeholders) must not appear as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Final

from babel.messages.pofile import read_po

CATALOG: Final = (
    Path(__file__).resolve().parents[2] / "fleet" / "locale" / "fr" / "LC_MESSAGES" / "fleet.po"
)
READ_ATTRIBUTES: Final = frozenset({"title", "aria-label", "placeholder", "alt"})
#: Elements whose content nobody reads as text.
SILENT: Final = frozenset({"script", "style"})
VOID: Final = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)

#: English words that are not French words (nor names the pages show), lower case.
ENGLISH_WORDS: Final = frozenset(
    [
        "the",
        "and",
        "with",
        "without",
        "for",
        "from",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "been",
        "being",
        "has",
        "have",
        "had",
        "will",
        "would",
        "should",
        "could",
        "can",
        "cannot",
        "not",
        "no",
        "yes",
        "of",
        "to",
        "by",
        "at",
        "in",
        "into",
        "onto",
        "out",
        "off",
        "over",
        "under",
        "since",
        "ago",
        "until",
        "before",
        "after",
        "your",
        "you",
        "our",
        "we",
        "they",
        "them",
        "their",
        "its",
        "it's",
        "his",
        "her",
        "my",
        "lost",
        "offline",
        "online",
        "unknown",
        "down",
        "up",
        "open",
        "opened",
        "closed",
        "acknowledged",
        "resolved",
        "pending",
        "done",
        "failed",
        "failure",
        "refused",
        "expired",
        "accepted",
        "kept",
        "waiting",
        "disk",
        "memory",
        "uptime",
        "temperature",
        "clock",
        "door",
        "screen",
        "wipe",
        "wiped",
        "heartbeat",
        "crashed",
        "connection",
        "connected",
        "disconnected",
        "terminal's",
        "terminals",
        "dashboard",
        "fleet",
        "alerts",
        "alert",
        "warnings",
        "warning",
        "details",
        "state",
        "last",
        "seen",
        "latest",
        "reports",
        "health",
        "reboot",
        "restart",
        "restarted",
        "refresh",
        "settings",
        "screenshot",
        "command",
        "commands",
        "issued",
        "updated",
        "per",
        "day",
        "days",
        "hours",
        "hour",
        "seconds",
        "week",
        "weeks",
        "month",
        "months",
        "never",
        "yet",
        "every",
        "each",
        "all",
        "any",
        "some",
        "only",
        "also",
        "still",
        "already",
        "again",
        "more",
        "less",
        "most",
        "back",
        "log",
        "logout",
        "login",
        "sign",
        "password",
        "username",
        "users",
        "roles",
        "hide",
        "search",
        "filter",
        "download",
        "upload",
        "enclosure",
        "cleanly",
        "stopped",
        "goodbye",
        "because",
        "while",
        "within",
        "outside",
        "inside",
        "limit",
        "used",
        "nearly",
        "full",
        "empty",
        "missing",
        "wrong",
        "right",
        "left",
        "bottom",
        "next",
        "previous",
    ]
)
#: Catalog messages this short or shorter are not looked for verbatim (single words are the
#: word list's job; short runs like ``%(x)s ago`` give too little to match safely).
MIN_RUN_CHARS: Final = 12
PLACEHOLDER: Final = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdfr]|%%")
WORD: Final = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]+(?:'[a-z]+)?")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._stack: list[tuple[str, bool]] = []

    @property
    def _muted(self) -> bool:
        return any(muted for _tag, muted in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        muted = tag in SILENT or values.get("translate") == "no"
        if not (muted or self._muted):
            self.parts += [value for name, value in attrs if name in READ_ATTRIBUTES and value]
        if tag not in VOID:
            self._stack.append((tag, muted))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._muted and dict(attrs).get("translate") != "no":
            self.parts += [value for name, value in attrs if name in READ_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == tag:
                del self._stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if not self._muted:
            self.parts.append(data)


def readable_text(html: str) -> str:
    """What a person reads or hears of the page, as one line of text."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return " ".join(" ".join(reader.parts).split())


@cache
def catalog_runs() -> tuple[str, ...]:
    """The literal runs of every English message whose French translation differs."""
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="fr")
    runs: set[str] = set()
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = [
            str(part) for part in (message.id if isinstance(message.id, tuple) else (message.id,))
        ]
        raw = message.string if isinstance(message.string, tuple) else (message.string,)
        strings = [str(part) for part in raw]
        french = " ".join(strings)
        for english in ids:
            if english in strings:
                continue
            for run in PLACEHOLDER.split(english):
                run = " ".join(run.split()).strip(" .,:;()«»-—")
                if len(run) >= MIN_RUN_CHARS and " " in run and run not in french:
                    runs.add(run)
    return tuple(sorted(runs, key=len, reverse=True))


@dataclass
class Leftovers:
    words: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.words or self.messages)


#: What a page shows as it is, in no language: settings' environment variables
#: (FLEET_SMTP_HOST), addresses (https://..., someone@example.org).
IDENTIFIERS: Final = re.compile(
    r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\bhttps?://\S+|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\b"
)


def without_names(text: str, allowed: Iterable[str] = ()) -> str:
    """``text`` without the ``allowed`` names and the :data:`IDENTIFIERS`."""
    for name in sorted(allowed, key=len, reverse=True):
        text = text.replace(name, " ")
    return IDENTIFIERS.sub(" ", text)


def english_in(text: str, allowed: Iterable[str] = ()) -> Leftovers:
    """The English words and catalog messages found in ``text`` (``allowed``: names the page
    shows as they are, such as terminal ids or command lines, taken out first, and then the
    identifiers of :data:`IDENTIFIERS`)."""
    text = without_names(text, allowed)
    found = Leftovers()
    found.words = sorted({word for word in WORD.findall(text) if word.lower() in ENGLISH_WORDS})
    found.messages = [run for run in catalog_runs() if run in text]
    return found
