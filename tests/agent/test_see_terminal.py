"""See the terminal, on the agent's side: the ``logs`` and ``screenshot`` commands.

Nothing of a resident may leave: a URL, an e-mail, a long number or typed text written to the
journal of the appliance's units never reaches the reply; the journal of other units is never
read; a picture of the screen is refused while a resident session is open.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.agent import messages as agent_side
from kiosk.agent.actions import SystemdActions
from kiosk.agent.commands import AckResult, CommandProcessor, CommandStore
from kiosk.agent.journal import (
    JournalEntry,
    JournalUnavailable,
    SimulatedJournal,
    SystemdJournal,
    collect_logs,
)
from kiosk.agent.uilink import UiLinkServer
from kiosk.agentlink import AgentLink
from kiosk.contract.local import AgentMessage, ScreenshotPart, ScreenshotRequest
from kiosk.contract.mqtt import (
    LOG_LINE_MAX_CHARS,
    LOG_LINES_MAX,
    LOG_TEXT_MAX_CHARS,
    REDACTED,
    SCREENSHOT_MAX_BYTES,
    Channel,
    Command,
    CommandOutput,
    LogLine,
    Reason,
    decode,
    redact_log_text,
    utc_now,
)
from tests.agent.same_json import same_json, wire_form
from tests.helpers import wait_until

#: What a resident visited and typed: none of it may appear in a reply.
RESIDENT_URL = "https://www.caf.fr/allocataires/mon-compte?nir=1850533123456"
RESIDENT_HOST_PATH = "impots.gouv.fr/particulier/espace"
RESIDENT_MAIL = "jeanne.dupont@example.org"
RESIDENT_PHONE = "06 12 34 56 78"
RESIDENT_TYPED = "Jeanne Dupont 12 rue des Lilas mot de passe Soleil2024"
SECRETS = (
    RESIDENT_URL,
    "caf.fr",
    RESIDENT_HOST_PATH,
    RESIDENT_MAIL,
    RESIDENT_PHONE,
    "1850533123456",
    RESIDENT_TYPED,
    "Jeanne",
    "Soleil2024",
)
PNG = b"\x89PNG\r\n\x1a\n" + b"home-screen" * 100


def resident_journal() -> SimulatedJournal:
    """The journal of a terminal after a visit: the project's lines (some quoting an address,
    an e-mail or a number), and what Chromium, Qt or a page printed on the kiosk's stderr."""
    journal = SimulatedJournal()
    journal.write(
        "kiosk-agent.service", "terminal bdx-1: connected", logger="kiosk.agent.mqtt.connection"
    )
    journal.write(
        "kiosk-agent.service",
        f"terminal bdx-1: odd reply from {RESIDENT_URL} for {RESIDENT_MAIL}",
        logger="kiosk.agent.mqtt.connection",
        priority=4,
    )
    journal.write("kiosk-agent.service", f"paho: {RESIDENT_URL}", logger="paho.mqtt.client")
    journal.write("kiosk-ui.service", "INFO kiosk.ui.home: content 2026.1 shown")
    journal.write("kiosk-ui.service", f"WARNING kiosk.ui.browser: call {RESIDENT_PHONE} now")
    journal.write("kiosk-ui.service", f"INFO kiosk.ui.x: see {RESIDENT_HOST_PATH}")
    # Not the project's code: Chromium, Qt, a page's console (dropped by the kiosk anyway).
    journal.write("kiosk-ui.service", f"js: {RESIDENT_TYPED}")
    journal.write("kiosk-ui.service", f"[1203/101500.123:ERROR:x.cc(42)] {RESIDENT_URL}")
    journal.write("kiosk-ui.service", f"qt.webenginecontext: typed {RESIDENT_TYPED}")
    # Another unit: never read.
    journal.write("getty@tty2.service", f"INFO kiosk.ui.x: {RESIDENT_TYPED}")
    journal.write("user@1000.service", RESIDENT_TYPED, logger="kiosk.agent")
    return journal


def assert_nothing_of_a_resident(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret
    assert "://" not in text
    assert "@" not in text


# --------------------------------------------------------------------------------------------
# Redaction and the journal's filter


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"open {RESIDENT_URL} now", "open […] now"),
        ("go to www.service-public.fr please", "go to […] please"),
        (f"mail {RESIDENT_MAIL}", "mail […]"),
        (f"tel {RESIDENT_PHONE}", "tel […]"),
        ("nir 1 85 05 33 123 456 78", "nir […]"),
        ("javascript:alert(1)", "[…]"),
        ("data:text/html,hello", "[…]"),
        (f"see {RESIDENT_HOST_PATH}", "see […]"),
        ("broker fleet.example.org:8883 answered after 3 s (seq 12345)", None),
        ("a\x00b\nc", "a b c"),
    ],
)
def test_redaction(text: str, kept: str | None) -> None:
    assert redact_log_text(text) == (text if kept is None else kept)


def test_a_long_line_is_cut() -> None:
    assert len(redact_log_text("x" * 5000)) == LOG_LINE_MAX_CHARS


@pytest.mark.parametrize("line", [LogLine, agent_side.LogLine], ids=["contract", "agent"])
def test_the_contract_refuses_a_log_line_that_was_not_redacted(line: type[LogLine]) -> None:
    with pytest.raises(ValueError, match="redacted"):
        line(at=utc_now(), unit="kiosk-ui.service", priority=6, text=f"go {RESIDENT_URL}")
    with pytest.raises(ValueError, match="unit"):
        line(at=utc_now(), unit="getty@tty2.service", priority=6, text="hello")  # type: ignore[arg-type]


def test_only_the_projects_own_lines_of_its_own_units_redacted() -> None:
    lines, left_out = collect_logs(resident_journal(), 50)
    texts = [line.text for line in lines]
    assert texts == [
        "terminal bdx-1: connected",
        "terminal bdx-1: odd reply from […] for […]",
        "kiosk.ui.home: content 2026.1 shown",
        "kiosk.ui.browser: call […] now",
        "kiosk.ui.x: see […]",
    ]
    assert [line.unit for line in lines] == ["kiosk-agent.service"] * 2 + ["kiosk-ui.service"] * 3
    assert lines[1].priority == 4
    assert left_out == 4  # paho, js, Chromium, Qt
    ack = agent_side.CommandAck(
        id="cmd-logs-0001",
        result="done",
        seq=1,
        sent_at=utc_now(),
        output=agent_side.CommandOutput(logs=lines),
    )
    assert_nothing_of_a_resident(ack.to_bytes().decode())


def test_the_reply_is_bounded_in_lines_and_characters() -> None:
    journal = SimulatedJournal()
    for number in range(1000):
        journal.write("kiosk-agent.service", f"line {number} " + "y" * 300, logger="kiosk.agent")
    lines, _left_out = collect_logs(journal, 10_000)
    assert len(lines) <= LOG_LINES_MAX
    assert sum(len(line.text) for line in lines) <= LOG_TEXT_MAX_CHARS
    assert lines[-1].text.startswith("line 999 ")  # the newest are kept
    few, _ = collect_logs(journal, 3)
    assert [line.text.split()[1] for line in few] == ["997", "998", "999"]
    ack = agent_side.CommandAck(
        id="cmd-logs-0002",
        result="done",
        seq=1,
        sent_at=utc_now(),
        output=agent_side.CommandOutput(logs=lines),
    )
    payload = ack.to_bytes()
    assert same_json(decode(Channel.CMD_ACK, payload), ack)  # within the wire's 64 KiB


# --------------------------------------------------------------------------------------------
# The commands, through the processor


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _command(
    name: str, args: dict[str, object] | None = None, cid: str = "cmd-see-0001"
) -> Command:
    return Command.model_validate(
        {
            "id": cid,
            "name": name,
            "args": args or {},
            "issued_at": NOW - timedelta(minutes=1),
            "expires_at": NOW + timedelta(minutes=10),
        }
    )


class Acks:
    def __init__(self) -> None:
        self.plain: list[tuple[str, AckResult, str | None]] = []
        self.outputs: list[tuple[str, CommandOutput]] = []

    def ack(self, command_id: str, result: AckResult, reason: str | None) -> None:
        self.plain.append((command_id, result, reason))

    def output(self, command_id: str, output: CommandOutput) -> None:
        self.outputs.append((command_id, output))


def _processor(actions: SystemdActions, acks: Acks, tmp_path: Path) -> CommandProcessor:
    return CommandProcessor(
        actions,
        acks.ack,
        CommandStore(tmp_path / "commands.json", clock=lambda: NOW),
        terminal_id="bdx-see-1",
        boot_id="boot-1",
        clock=lambda: NOW,
        run_in_background=lambda job: job(),
        ack_output=acks.output,
    )


def test_logs_command_returns_redacted_lines(tmp_path: Path) -> None:
    acks = Acks()
    actions = SystemdActions(tmp_path, None, journal=resident_journal())
    _processor(actions, acks, tmp_path).on_command(_command("logs", {"lines": 3}))
    assert acks.plain == [("cmd-see-0001", "accepted", None)]
    ((command_id, output),) = acks.outputs
    assert command_id == "cmd-see-0001"
    assert output.logs is not None
    assert [line.text for line in output.logs] == [
        "kiosk.ui.home: content 2026.1 shown",
        "kiosk.ui.browser: call […] now",
        "kiosk.ui.x: see […]",
    ]
    assert_nothing_of_a_resident(json.dumps(wire_form(output), ensure_ascii=False))


@pytest.mark.parametrize("lines", [0, LOG_LINES_MAX + 1, "10", True, 2.5])
def test_logs_command_refuses_a_bad_count(tmp_path: Path, lines: object) -> None:
    acks = Acks()
    actions = SystemdActions(tmp_path, None, journal=SimulatedJournal())
    _processor(actions, acks, tmp_path).on_command(_command("logs", {"lines": lines}))
    ((_id, result, reason),) = acks.plain
    assert result == "refused"
    assert reason is not None
    assert reason.startswith(Reason.LINES_NOT_INTEGER)
    assert acks.outputs == []


def test_logs_command_fails_where_there_is_no_journal(tmp_path: Path) -> None:
    class NoJournal:
        def last_entries(self, units: object, count: int) -> list[JournalEntry]:
            raise JournalUnavailable("no journal here")

    acks = Acks()
    actions = SystemdActions(tmp_path, None, journal=NoJournal())
    _processor(actions, acks, tmp_path).on_command(_command("logs"))
    assert acks.plain[-1] == ("cmd-see-0001", "failed", Reason.NO_JOURNAL)


@pytest.fixture
def ui_pair(
    tmp_path: Path,
) -> Iterator[tuple[UiLinkServer, Callable[[Callable[[AgentMessage], None]], AgentLink]]]:
    """The agent's real socket server, and a way to connect a UI stand-in that answers."""
    path = tmp_path / "agent.sock"
    if len(str(path)) > 100:
        path = Path("/tmp") / f"see-{uuid.uuid4().hex[:8]}.sock"
    server = UiLinkServer(path, liveness_timeout_s=30)
    server.start()
    links: list[AgentLink] = []

    def connect(on_message: Callable[[AgentMessage], None]) -> AgentLink:
        link = AgentLink(path, ui_version="0.1.0", on_message=on_message, retry_interval_s=0.05)
        link.start()
        links.append(link)
        wait_until(lambda: link.connected and server.connections == 1, 5, "the UI to connect")
        return link

    try:
        yield server, connect
    finally:
        for link in links:
            link.stop()
        server.stop()


def _answering_ui(
    link_box: list[AgentLink], refusal: str | None, png: bytes = PNG
) -> Callable[[AgentMessage], None]:
    def on_message(message: AgentMessage) -> None:
        if not isinstance(message, ScreenshotRequest):
            return
        link = link_box[0]
        if refusal is not None:
            link.send(ScreenshotPart(request_id=message.request_id, refused=refusal))
            return
        data = base64.b64encode(png).decode()
        parts = [data[i : i + 1000] for i in range(0, len(data), 1000)]
        for index, part in enumerate(parts):
            link.send(
                ScreenshotPart(
                    request_id=message.request_id, index=index, count=len(parts), data=part
                )
            )

    return on_message


def test_screenshot_on_the_home_screen_comes_back_whole(
    tmp_path: Path, ui_pair: tuple[UiLinkServer, Callable[..., AgentLink]]
) -> None:
    server, connect = ui_pair
    box: list[AgentLink] = []
    box.append(connect(_answering_ui(box, None)))
    box[0].heartbeat(session_open=False)
    wait_until(lambda: server.ui_state().alive, 5, "a heartbeat")
    acks = Acks()
    actions = SystemdActions(tmp_path, server, journal=SimulatedJournal(), screenshot_timeout_s=5)
    _processor(actions, acks, tmp_path).on_command(_command("screenshot"))
    ((_id, output),) = acks.outputs
    assert output.png() == PNG
    ack = agent_side.CommandAck(
        id="cmd-see-0001", result="done", seq=1, sent_at=utc_now(), output=output
    )
    assert same_json(decode(Channel.CMD_ACK, ack.to_bytes()), ack)


@pytest.mark.parametrize("refusal", ["session_open", "not_home"])
def test_screenshot_refused_by_the_ui_is_refused(
    tmp_path: Path, ui_pair: tuple[UiLinkServer, Callable[..., AgentLink]], refusal: str
) -> None:
    server, connect = ui_pair
    box: list[AgentLink] = []
    box.append(connect(_answering_ui(box, refusal)))
    acks = Acks()
    actions = SystemdActions(tmp_path, server, journal=SimulatedJournal(), screenshot_timeout_s=5)
    _processor(actions, acks, tmp_path).on_command(_command("screenshot"))
    assert acks.plain[-1] == ("cmd-see-0001", "refused", Reason.SCREEN_IN_USE)
    assert acks.outputs == []


def test_screenshot_refused_by_the_agent_during_a_session_never_asks_the_ui(
    tmp_path: Path, ui_pair: tuple[UiLinkServer, Callable[..., AgentLink]]
) -> None:
    server, connect = ui_pair
    asked: list[AgentMessage] = []
    link = connect(asked.append)
    link.heartbeat(session_open=True)
    wait_until(lambda: server.ui_state().session_open, 5, "the session to be known")
    acks = Acks()
    actions = SystemdActions(tmp_path, server, journal=SimulatedJournal(), screenshot_timeout_s=1)
    _processor(actions, acks, tmp_path).on_command(_command("screenshot"))
    assert acks.plain == [("cmd-see-0001", "refused", Reason.SCREEN_IN_USE)]
    assert not any(isinstance(message, ScreenshotRequest) for message in asked)


def test_a_picture_too_large_or_not_a_png_is_not_sent(
    tmp_path: Path, ui_pair: tuple[UiLinkServer, Callable[..., AgentLink]]
) -> None:
    server, connect = ui_pair
    box: list[AgentLink] = []
    too_large = b"\x89PNG\r\n\x1a\n" + os.urandom(SCREENSHOT_MAX_BYTES)
    box.append(connect(_answering_ui(box, None, too_large)))
    acks = Acks()
    actions = SystemdActions(tmp_path, server, journal=SimulatedJournal(), screenshot_timeout_s=5)
    _processor(actions, acks, tmp_path).on_command(_command("screenshot"))
    assert acks.plain[-1] == ("cmd-see-0001", "failed", Reason.UI_NO_PICTURE)


def test_a_silent_ui_means_no_picture(
    tmp_path: Path, ui_pair: tuple[UiLinkServer, Callable[..., AgentLink]]
) -> None:
    server, connect = ui_pair
    connect(lambda _message: None)
    acks = Acks()
    actions = SystemdActions(tmp_path, server, journal=SimulatedJournal(), screenshot_timeout_s=0.3)
    _processor(actions, acks, tmp_path).on_command(_command("screenshot"))
    assert acks.plain[-1] == ("cmd-see-0001", "failed", Reason.UI_NO_PICTURE)


# --------------------------------------------------------------------------------------------
# A real journald


JOURNALD = Path("/lib/systemd/systemd-journald")


@pytest.fixture
def real_journald() -> Iterator[tuple[Path, Path]]:
    """A journald of its own (a namespace of this test): its socket and its journal folder."""
    if os.geteuid() != 0:
        pytest.skip("a journald of its own needs root (namespaced systemd-journald)")
    if not JOURNALD.exists():
        pytest.skip(f"{JOURNALD} is missing (Debian package systemd)")
    try:
        importlib.import_module("systemd.journal")
    except ImportError:
        pytest.skip("python3-systemd is not installed (make setup links it into .venv)")
    namespace = f"kioskt{uuid.uuid4().hex[:8]}"
    runtime = Path(f"/run/systemd/journal.{namespace}")
    machine_id = Path("/etc/machine-id").read_text().strip()
    folders = [
        Path(f"/var/log/journal/{machine_id}.{namespace}"),
        Path(f"/run/log/journal/{machine_id}.{namespace}"),
    ]
    created_var = not Path("/var/log/journal").exists()
    daemon = subprocess.Popen([str(JOURNALD), namespace], stderr=subprocess.PIPE)
    try:
        wait_until(
            lambda: (runtime / "socket").exists() or daemon.poll() is not None, 10, "journald"
        )
        if daemon.poll() is not None:
            pytest.skip(f"namespaced journald does not run here: {daemon.stderr.read()[:200]!r}")  # type: ignore[union-attr]
        yield runtime / "socket", folders[0]
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
        shutil.rmtree(runtime, ignore_errors=True)
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        if created_var:
            shutil.rmtree("/var/log/journal", ignore_errors=True)


def _send_native(sock_path: Path, fields: dict[str, str]) -> None:
    datagram = "".join(f"{key}={value}\n" for key, value in fields.items()).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(datagram, str(sock_path))


def test_a_real_journal_gives_nothing_a_foreign_process_wrote(
    real_journald: tuple[Path, Path],
) -> None:
    """Lines a process outside the appliance's units writes, even claiming to be one of them
    (``UNIT=``, ``SYSLOG_IDENTIFIER=``, ``_SYSTEMD_UNIT=``, ``LOGGER=kiosk``), never come back:
    the reader matches ``_SYSTEMD_UNIT``, which journald sets from the writer's cgroup."""
    sock_path, folder = real_journald
    marker = uuid.uuid4().hex.translate(str.maketrans("0123456789", "ghijklmnop"))
    for unit in ("kiosk-ui.service", "kiosk-agent.service"):
        _send_native(
            sock_path,
            {
                "MESSAGE": f"INFO kiosk.ui.x: {RESIDENT_TYPED} {RESIDENT_URL} {marker}",
                "PRIORITY": "6",
                "UNIT": unit,
                "_SYSTEMD_UNIT": unit,
                "SYSLOG_IDENTIFIER": "kiosk-agent",
                "LOGGER": "kiosk.agent.mqtt.connection",
            },
        )
    journal: Any = importlib.import_module("systemd.journal")

    def written() -> bool:
        if not folder.exists():
            return False
        reader = journal.Reader(path=str(folder))
        try:
            reader.add_match(UNIT="kiosk-ui.service")
            return any(marker in str(entry.get("MESSAGE", "")) for entry in reader)
        finally:
            reader.close()

    wait_until(written, 10, "journald to store the lines")
    lines, _left_out = collect_logs(SystemdJournal(str(folder)), LOG_LINES_MAX)
    assert lines == []
    # The same reader does read those entries when told to match the field the writer set
    # (only a test does that): the project's lines, redacted; so the empty answer above is
    # the filter's doing, not a reader that reads nothing.
    _send_native(
        sock_path,
        {
            "MESSAGE": f"content from {RESIDENT_URL} ok {marker}",
            "UNIT": "kiosk-agent.service",
            "LOGGER": "kiosk.agent.content",
            "PRIORITY": "4",
        },
    )
    _send_native(sock_path, {"MESSAGE": f"js: {RESIDENT_TYPED}", "UNIT": "kiosk-ui.service"})

    def read_by_unit() -> list[LogLine]:
        return collect_logs(SystemdJournal(str(folder), match_field="UNIT"), LOG_LINES_MAX)[0]

    wait_until(lambda: len(read_by_unit()) == 3, 10, "journald to store the last lines")
    texts = [line.text for line in read_by_unit()]
    assert texts[-1] == f"content from {REDACTED} ok {marker}"
    assert read_by_unit()[-1].priority == 4
    assert_nothing_of_a_resident("\n".join(texts[-1:]))
    assert all(RESIDENT_TYPED not in text for text in texts[2:])


def test_no_journal_folder_is_journal_unavailable_or_empty(tmp_path: Path) -> None:
    try:
        entries = SystemdJournal(str(tmp_path)).last_entries(["kiosk-ui.service"], 5)
    except JournalUnavailable:
        return
    assert entries == []
