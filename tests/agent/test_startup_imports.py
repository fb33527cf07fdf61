"""The agent's start-up import set stays lean: what it made lazy on purpose must stay lazy.

The agent runs for months under an RSS target (docs/agent.md, "Benchmarks" and "Memory"); each
of these was resident for nothing before: Typer and click only parsed three options, tuf and its
crypto and HTTP stack only serve content updates (off by default, rare otherwise), and pydantic
with the contract's, the local protocol's and the catalog's models (some 12 MB) only checked
what the agent's plain dataclasses now check (kiosk.agent.messages, uimessages, config).
"""

from __future__ import annotations

import json
import subprocess
import sys

#: Imported at start-up by nothing the agent runs (see kiosk.agent.cli, content.updater).
LAZY = (
    "typer",
    "click",
    "rich",
    "tuf",
    "securesystemslib",
    "cryptography",
    "urllib3",
    "pydantic",
    "pydantic_core",
    # Babel compiles the UI's catalogs; the agent reads its plain one itself (kiosk.agent.i18n).
    "babel",
)
#: The project's own modules that build pydantic models: imported by a command at most (rare).
LAZY_MODULES = (
    "kiosk.contract.mqtt",
    "kiosk.contract.local",
    "kiosk.contract.catalog",
    "kiosk.contract.places",
)


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def _loaded_after(code: str) -> set[str]:
    return {name.partition(".")[0] for name in _modules_after(code)}


def test_start_up_does_not_import_what_is_lazy() -> None:
    modules = _modules_after("import kiosk.agent.__main__")
    loaded = {name.partition(".")[0] for name in modules}
    assert not loaded & set(LAZY), sorted(loaded & set(LAZY))
    assert not modules & set(LAZY_MODULES), sorted(modules & set(LAZY_MODULES))


def test_content_updates_configured_still_leave_tuf_out() -> None:
    """What the runtime imports when it builds a content service (content configured): the
    bundle's manifest, catalog and places are checked with their pydantic models, but tuf and
    its stack wait for the first update."""
    loaded = _loaded_after("import kiosk.agent.cli, kiosk.agent.content.service")
    tuf_stack = set(LAZY) - {"pydantic", "pydantic_core", "babel"}
    assert not loaded & tuf_stack, sorted(loaded & tuf_stack)


#: What a terminal does all day, in one process: read its configuration, build and encode a
#: birth, a health report, an event and an ack; read a desired state from the fleet, and the
#: UI's heartbeat and session lines; write the UI a settings order.
STEADY_DAY = """
import pathlib, sys, tempfile
from kiosk.agent import cli, messages, uimessages
from kiosk.agent.i18n import gettext_for
from kiosk.agent.config import load_settings
from kiosk.agent.health import collect_health
from kiosk.agent.sensors import SimulatedSensors
from kiosk.contract.wire import utc_now

folder = pathlib.Path(tempfile.mkdtemp())
(folder / "agent.toml").write_text(
    'terminal_id = "bdx-001"\\n[mqtt]\\npassword = "x"\\n[health]\\ninterval_s = 30\\n'
)
load_settings(folder / "agent.toml", gettext_for("fr"))
now = utc_now()
messages.Status(state="online", boot_id="b", sent_at=now, keepalive_s=30).to_bytes()
collect_health(1, SimulatedSensors(seed="bdx-001")).to_bytes()
messages.Event(seq=2, sent_at=now, kind="session_ended", data={"duration_s": 3.0}).to_bytes()
messages.CommandAck(id="cmd-00000001", result="done", seq=3, sent_at=now).to_bytes()
from kiosk.agent.journal import SimulatedJournal, collect_logs

journal = SimulatedJournal()
journal.write("kiosk-agent.service", "connected", logger="kiosk.agent")
lines, _ = collect_logs(journal, 10)
output = messages.CommandOutput(logs=lines)
messages.CommandAck(id="cmd-00000002", result="done", seq=4, sent_at=now, output=output).to_bytes()
messages.decode_received(
    "kiosk/v1/bdx-001/desired",
    b'{"v": 1, "content_version": "2025.1", "settings": {"idle_timeout_s": 90},'
    b' "sent_at": "2025-11-25T09:00:00Z"}',
)
messages.decode_received(
    "kiosk/v1/bdx-001/cmd",
    b'{"v": 1, "id": "cmd-00000001", "name": "wipe_session", "args": {"force": true},'
    b' "issued_at": "2025-11-25T09:00:00Z", "expires_at": "2025-11-25T09:05:00Z"}',
)
for line in (
    b'{"v": 1, "type": "heartbeat", "ui_version": "0.1.0", "session_open": true}',
    b'{"v": 1, "type": "session_started", "session_id": "abcdefgh", "tile_id": "caf"}',
    b'{"v": 1, "type": "session_ended", "session_id": "abcdefgh", "duration_s": 3.5,'
    b' "tiles_used": ["caf"], "reason": "idle", "help": {"guide_opened": 1},'
    b' "assist": {"language": "fr", "read_aloud": true}}',
    b'{"v": 1, "type": "wipe_result", "ok": true, "checks_failed": []}',
):
    uimessages.decode_ui_message(line)
uimessages.encode(uimessages.Settings(settings={"idle_timeout_s": 90}))
"""


def test_a_day_of_work_does_not_import_pydantic() -> None:
    """Not only start-up: a UI connected, the fleet's desired state and its commands (a logs
    reply included) keep pydantic out too."""
    modules = _modules_after(STEADY_DAY)
    loaded = {name.partition(".")[0] for name in modules}
    assert not loaded & set(LAZY), sorted(loaded & set(LAZY))
    assert not modules & set(LAZY_MODULES), sorted(modules & set(LAZY_MODULES))


def test_a_content_update_still_finds_tuf() -> None:
    loaded = _loaded_after("import kiosk.agent.content.tufclient")
    assert {"tuf", "securesystemslib", "urllib3"} <= loaded
