"""The agent's start-up import set stays lean: what it made lazy on purpose must stay lazy.

The agent runs for months under an RSS target (docs/agent.md, "Benchmarks"); each of these was
resident for nothing before: Typer and click only parsed three options, tuf and its crypto and
HTTP stack only serve content updates (off by default, rare otherwise).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Imported at start-up by nothing the agent runs (see kiosk.agent.cli, content.updater).
LAZY = ("typer", "click", "rich", "tuf", "securesystemslib", "cryptography", "urllib3")


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return {name.partition(".")[0] for name in json.loads(result.stdout.splitlines()[-1])}


@pytest.mark.parametrize(
    "code",
    [
        "import kiosk.agent.__main__",
        # What the runtime imports when it builds a content service (content configured).
        "import kiosk.agent.cli, kiosk.agent.content.service",
    ],
)
def test_start_up_does_not_import_what_is_lazy(code: str) -> None:
    loaded = _loaded_after(code)
    assert not loaded & set(LAZY), sorted(loaded & set(LAZY))


def test_a_content_update_still_finds_tuf() -> None:
    loaded = _loaded_after("import kiosk.agent.content.tufclient")
    assert {"tuf", "securesystemslib", "urllib3"} <= loaded
