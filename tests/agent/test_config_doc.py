"""The agent's settings: documented from their declaration (kiosk/agent/config.py), every key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from kiosk.agent.config import AgentSettings, settings_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "agent-settings.md"


def keys(section: type, prefix: str = "") -> list[str]:
    found = []
    sections = getattr(section, "SECTIONS", {})
    for spec in dataclasses.fields(section):
        if spec.name in sections:
            found += keys(sections[spec.name], f"{prefix}{spec.name}.")
        else:
            found.append(f"{prefix}{spec.name}")
    return found


def test_the_page_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == settings_markdown(), (
        "docs/agent-settings.md is stale: run "
        "`python -m kiosk.agent.config > docs/agent-settings.md`"
    )


def test_every_key_is_on_the_page_with_its_bounds() -> None:
    text = settings_markdown()
    every = keys(AgentSettings)
    assert "sensors.backend" in every  # the one the hand-written table had missed
    for key in every:
        assert f"| `{key}` |" in text, key
    assert "| `mqtt.port` | integer, 1 to 65535 | `1883` |" in text
    assert '| `sensors.backend` | one of `psutil`, `simulated` | `"psutil"` |' in text
    assert "| `terminal_id` | terminal id | (required) |" in text
