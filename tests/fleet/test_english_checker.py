"""The English-leftover checker can fail: an English word or catalog message injected into a
French page is found, and a French page passes."""

from __future__ import annotations

import pytest

from .english import catalog_runs, english_in, readable_text

FRENCH = (
    '<html lang="fr"><head><title>Alertes · Parc de bornes</title>'
    "<script>const state = 'the lost terminal';</script><style>.x{}</style></head>"
    '<body><h1>Alertes</h1><p title="Perdue depuis 4 minutes">La borne est perdue.</p>'
    '<input placeholder="borne, site ou commune">'
    '<li><code translate="no">session_ended</code> relevé il y a 12 min</li></body></html>'
)


def test_a_french_page_passes() -> None:
    text = readable_text(FRENCH)
    assert "Perdue depuis 4 minutes" in text  # attributes are read
    assert "borne, site ou commune" in text
    assert "the lost terminal" not in text  # scripts are not
    assert "session_ended" not in text  # nor what is marked translate="no"
    assert not english_in(text)


@pytest.mark.parametrize(
    ("injected", "where"),
    [
        ("<p>lost for 4 min</p>", "words"),
        ('<button aria-label="Reboot the terminal">⟳</button>', "words"),
        ('<abbr title="the UI sends no heartbeat">UI</abbr>', "words"),
        ('<input placeholder="terminal, site or commune">', "messages"),
        ("<td>Terminal down</td>", "messages"),
    ],
)
def test_injected_english_is_found(injected: str, where: str) -> None:
    html = FRENCH.replace("</body>", injected + "</body>")
    leftovers = english_in(readable_text(html))
    assert leftovers, injected
    assert getattr(leftovers, where), (injected, leftovers)


def test_the_catalog_net_holds_the_fleet_s_messages() -> None:
    runs = catalog_runs()
    assert "Terminal down" in runs
    assert "terminal, site or commune" in runs
    # A message whose French is the same word for word is not a leftover.
    assert all(run != "CSV" for run in runs)
