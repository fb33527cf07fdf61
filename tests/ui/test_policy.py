"""The lockdown decisions as plain functions (no Qt)."""

from __future__ import annotations

import pytest

from kiosk.contract.catalog import Tile
from kiosk.ui.browser.policy import (
    Vector,
    download_verdict,
    is_kiosk_page,
    navigation_verdict,
    new_window_verdict,
    shortcut_allowed,
    subresource_verdict,
)

TILE = Tile.model_validate(
    {
        "id": "caf",
        "group": "famille",
        "label": {"fr": "CAF"},
        "url": "https://www.caf.fr/",
        "icon": "famille.svg",
        "allow": ["*.caf.fr", "connexion.gouv.fr/caf"],
    }
)


@pytest.mark.parametrize(
    "url",
    ["https://www.caf.fr/", "https://wwwd.caf.fr/x", "https://connexion.gouv.fr/caf/login"],
)
def test_allow_listed_navigations_pass(url: str) -> None:
    assert navigation_verdict(url, TILE).allowed


@pytest.mark.parametrize(
    ("url", "vector"),
    [
        ("https://www.example.org/", Vector.OUTSIDE_ALLOW_LIST),
        ("https://connexion.gouv.fr/autre", Vector.OUTSIDE_ALLOW_LIST),
        ("https://caf.fr.evil.example/", Vector.OUTSIDE_ALLOW_LIST),
        ("http://www.caf.fr/", Vector.FORBIDDEN_SCHEME),
        ("file:///etc/passwd", Vector.FORBIDDEN_SCHEME),
        ("data:text/html,x", Vector.FORBIDDEN_SCHEME),
        ("javascript:alert(1)", Vector.FORBIDDEN_SCHEME),
        (" JavaScript:alert(1)", Vector.FORBIDDEN_SCHEME),
        ("view-source:https://www.caf.fr/", Vector.FORBIDDEN_SCHEME),
        ("chrome://settings", Vector.FORBIDDEN_SCHEME),
        ("devtools://devtools/", Vector.FORBIDDEN_SCHEME),
        ("qrc:/x.qml", Vector.FORBIDDEN_SCHEME),
        ("about:blank", Vector.FORBIDDEN_SCHEME),
        ("mailto:a@b.fr", Vector.EXTERNAL_PROTOCOL),
        ("tel:3939", Vector.EXTERNAL_PROTOCOL),
        ("intent://x#Intent;end", Vector.EXTERNAL_PROTOCOL),
    ],
)
def test_other_navigations_are_refused_with_their_vector(url: str, vector: Vector) -> None:
    verdict = navigation_verdict(url, TILE)
    assert not verdict.allowed
    assert verdict.vector is vector


def test_no_tile_means_nothing_outside_the_kiosk_pages() -> None:
    assert not navigation_verdict("https://www.caf.fr/", None).allowed
    assert navigation_verdict("kiosk://refused/?why=outside", None).allowed
    assert is_kiosk_page("kiosk://offline/")
    assert not is_kiosk_page("kiosk://elsewhere/")


def test_empty_and_pdf_frames_are_allowed_only_as_sub_frames() -> None:
    assert navigation_verdict("about:blank", TILE, main_frame=False).allowed
    assert not navigation_verdict("about:blank", TILE, main_frame=True).allowed


def test_popups_outside_the_list_are_their_own_vector() -> None:
    assert new_window_verdict("https://www.caf.fr/a", TILE).allowed
    assert new_window_verdict("https://pub.example/", TILE).vector is Vector.POPUP
    assert new_window_verdict("mailto:x@y.fr", TILE).vector is Vector.EXTERNAL_PROTOCOL


def test_subresources_must_be_encrypted() -> None:
    assert subresource_verdict("https://cdn.example/x.js").allowed
    assert subresource_verdict("wss://www.caf.fr/socket").allowed
    assert subresource_verdict("http://cdn.example/x.js").vector is Vector.FORBIDDEN_SCHEME
    assert subresource_verdict("tel:3939").vector is Vector.EXTERNAL_PROTOCOL
    # The built-in PDF viewer's own files; chrome: pages stay out of reach as navigations.
    assert subresource_verdict("chrome://resources/css/text_defaults_md.css").allowed
    assert not subresource_verdict("chrome://settings/").allowed
    assert not navigation_verdict("chrome://resources/x.js", TILE).allowed


def test_downloads_never_reach_the_disk() -> None:
    assert download_verdict("application/pdf", shown_inline=True).allowed
    assert download_verdict("application/pdf", shown_inline=False).vector is Vector.DOWNLOAD
    assert not download_verdict("application/zip", shown_inline=True).allowed


@pytest.mark.parametrize(
    "chord",
    [
        "Ctrl+L", "Ctrl+T", "Ctrl+N", "Ctrl+W", "Ctrl+P", "Ctrl+S", "Ctrl+U", "Ctrl+O",
        "Ctrl+R", "Ctrl+Shift+I", "Ctrl+Shift+J", "Ctrl++", "Ctrl+-", "Ctrl+0", "Alt+Left",
        "Alt+Right", "Alt+F4", "Alt+Home", "Meta+D", "F1", "F5", "F6", "F11", "F12", "Back",
        "Reload", "Print",
    ],
)  # fmt: skip
def test_browser_and_window_shortcuts_are_neutralised(chord: str) -> None:
    assert not shortcut_allowed(chord)


@pytest.mark.parametrize(
    "chord",
    ["A", "Shift+A", "É", "Space", "Return", "Tab", "Shift+Tab", "Backspace", "Esc", "Left",
     "Ctrl+C", "Ctrl+V", "Ctrl+X", "Ctrl+Z", "Ctrl+A", "+", "-"],
)  # fmt: skip
def test_typing_and_editing_keys_pass(chord: str) -> None:
    assert shortcut_allowed(chord)
