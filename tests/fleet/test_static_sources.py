"""The dashboard's hand-written sources stay whole: every CSS block closed, every catalog
message once. Several streams of work append to both; a merge that drops a lone ``}`` puts
every rule after it inside a media query (it happened: the phone layout of the whole dashboard
changed), and a message defined twice is refused by msgfmt."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

FLEET = Path(__file__).resolve().parents[2] / "fleet"
COMMENT = re.compile(r"/\*.*?\*/", re.S)
STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'")


def css_depths(text: str) -> tuple[int, int]:
    """The nesting depth at the end of ``text``, and the lowest it reached."""
    depth = lowest = 0
    for char in STRING.sub('""', COMMENT.sub("", text)):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            lowest = min(lowest, depth)
    return depth, lowest


def test_every_css_block_is_closed_and_no_brace_is_left_over() -> None:
    for sheet in sorted((FLEET / "static").glob("*.css")):
        assert css_depths(sheet.read_text()) == (0, 0), sheet.name


def test_the_brace_count_sees_a_missing_brace() -> None:
    assert css_depths("@media (max-width: 1px) { a { b: c; }\n/* } */ d { e: f; }") == (1, 0)
    assert css_depths("a { content: '}'; }") == (0, 0)


def test_each_catalog_message_is_defined_once() -> None:
    for catalog in sorted((FLEET / "locale").glob("*/LC_MESSAGES/*.po")):
        text = catalog.read_text()
        entries = re.findall(r'^(?:msgctxt "(.*)"\n)?msgid "(.*)"\n((?:".*"\n)*)', text, re.M)
        ids = Counter(
            (context, first + "".join(re.findall(r'^"(.*)"$', rest, re.M)))
            for context, first, rest in entries
        )
        twice = [msgid for msgid, count in ids.items() if count > 1 and msgid != ("", "")]
        assert twice == [], catalog
