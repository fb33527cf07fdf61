"""Fleet commands: at most once, never expired, arguments checked, privacy refusals, acks."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fleet import commands as fleet_commands
from kiosk.agent.actions import ActionError, SystemdActions
from kiosk.agent.commands import AckResult, CommandProcessor, CommandRecord, CommandStore
from kiosk.agent.uilink import UiLinkServer
from kiosk.agentlink import AgentLink
from kiosk.contract.local import AgentMessage, Settings, WipeNow
from kiosk.contract.mqtt import (
    COMMAND_CLOCK_SKEW_S,
    COMMAND_MAX_VALIDITY_S,
    Command,
    CommandName,
    LogLine,
    Reason,
    Scalar,
)
from kiosk.contract.settings import InvalidSettings, parse_brightness_schedule, validate_settings
from tests.helpers import wait_until

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
Ack = tuple[str, AckResult, str | None]


class FakeActions:
    """A recording stand-in for the terminal (the collaborator, not the unit under test)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.settings: list[dict[str, Scalar]] = []
        self.open_session = False
        self.wipe_ok = True
        self.fail_with: str | None = None

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.fail_with is not None:
            raise ActionError(self.fail_with)

    def reboot(self) -> None:
        self._call("reboot")

    def restart_ui(self) -> None:
        self._call("restart_ui")

    def wipe_session(self, command_id: str) -> bool:
        self._call(f"wipe_session:{command_id}")
        return self.wipe_ok

    def session_open(self) -> bool:
        return self.open_session

    def take_screenshot(self, command_id: str) -> bytes:
        self._call(f"take_screenshot:{command_id}")
        return b"\x89PNG\r\n\x1a\n-a-picture"

    def read_logs(self, lines: int) -> list[LogLine]:
        self._call(f"read_logs:{lines}")
        return []

    def apply_settings(self, settings: dict[str, Scalar]) -> None:
        self._call("apply_settings")
        self.settings.append(settings)

    def refresh_content(self) -> None:
        self._call("refresh_content")


def command(
    name: CommandName,
    args: dict[str, Scalar] | None = None,
    command_id: str = "cmd-00000001",
    expires_in: timedelta = timedelta(hours=1),
) -> Command:
    return Command(
        id=command_id,
        name=name,
        args=args or {},
        issued_at=NOW - timedelta(minutes=1),
        expires_at=NOW + expires_in,
    )


def inline(job: Callable[[], None]) -> None:
    job()


class Terminal:
    """A processor over a store in ``state_dir``, with the acks it sent."""

    def __init__(self, state_dir: Path, boot_id: str = "boot-1") -> None:
        self.actions = FakeActions()
        self.acks: list[Ack] = []
        self.store = CommandStore(state_dir / "commands.json", clock=lambda: NOW)
        self.processor = CommandProcessor(
            self.actions,
            self.ack,
            self.store,
            terminal_id="bdx-test-a",
            boot_id=boot_id,
            clock=lambda: NOW,
            run_in_background=inline,
        )

    def ack(self, command_id: str, result: AckResult, reason: str | None) -> None:
        self.acks.append((command_id, result, reason))


@pytest.fixture
def terminal(tmp_path: Path) -> Terminal:
    return Terminal(tmp_path)


def test_set_settings_is_applied_and_done(terminal: Terminal) -> None:
    terminal.processor.on_command(
        command("set_settings", {"idle_timeout_s": 120, "brightness_schedule": "07:00-22:00=100"})
    )
    assert terminal.actions.settings == [
        {"idle_timeout_s": 120, "brightness_schedule": "07:00-22:00=100"}
    ]
    assert terminal.acks == [("cmd-00000001", "done", None)]


def test_a_duplicate_is_answered_without_running_again(terminal: Terminal) -> None:
    terminal.processor.on_command(command("set_settings", {"health_interval_s": 60}))
    terminal.processor.on_command(command("set_settings", {"health_interval_s": 60}))
    assert terminal.actions.calls == ["apply_settings"]
    assert terminal.acks == [("cmd-00000001", "done", None)] * 2


def test_seen_ids_survive_a_restart_of_the_agent(tmp_path: Path) -> None:
    Terminal(tmp_path).processor.on_command(command("restart_ui"))
    again = Terminal(tmp_path)
    again.processor.on_command(command("restart_ui"))
    assert again.actions.calls == []
    assert again.acks == [("cmd-00000001", "done", None)]


def test_an_expired_command_is_refused(terminal: Terminal) -> None:
    terminal.processor.on_command(command("restart_ui", expires_in=timedelta(seconds=0)))
    assert terminal.actions.calls == []
    assert terminal.acks == [("cmd-00000001", "refused", "expired")]


def test_a_command_expiring_before_its_issue_is_refused(terminal: Terminal) -> None:
    terminal.processor.on_command(command("restart_ui", expires_in=timedelta(minutes=-2)))
    assert terminal.acks[0][1] == "refused"
    assert terminal.actions.calls == []


def test_a_command_issued_a_year_ahead_is_refused(terminal: Terminal) -> None:
    """Found from outside: an agent ran a command whose issued_at was a year in the future."""
    year_ahead = Command(
        id="cmd-00000001",
        name="restart_ui",
        issued_at=NOW + timedelta(days=365),
        expires_at=NOW + timedelta(days=365, minutes=5),
    )
    terminal.processor.on_command(year_ahead)
    assert terminal.actions.calls == []
    assert terminal.acks == [("cmd-00000001", "refused", Reason.ISSUED_IN_FUTURE)]


def test_a_command_issued_within_the_clock_skew_runs(terminal: Terminal) -> None:
    ahead = timedelta(seconds=COMMAND_CLOCK_SKEW_S - 1)
    terminal.processor.on_command(
        Command(
            id="cmd-00000001",
            name="restart_ui",
            issued_at=NOW + ahead,
            expires_at=NOW + ahead + timedelta(minutes=5),
        )
    )
    assert terminal.actions.calls == ["restart_ui"]
    assert terminal.acks[-1] == ("cmd-00000001", "done", None)


def test_a_command_valid_longer_than_the_fleet_allows_is_refused(terminal: Terminal) -> None:
    too_long = timedelta(seconds=COMMAND_MAX_VALIDITY_S + 1)
    terminal.processor.on_command(
        Command(id="cmd-00000001", name="restart_ui", issued_at=NOW, expires_at=NOW + too_long)
    )
    assert terminal.actions.calls == []
    assert terminal.acks == [("cmd-00000001", "refused", Reason.VALIDITY_TOO_LONG)]


def test_the_fleet_never_issues_what_the_terminal_refuses() -> None:
    assert fleet_commands.MAX_TTL_S <= COMMAND_MAX_VALIDITY_S


@pytest.mark.parametrize(
    ("args", "reason_part"),
    [
        ({"volume": 3}, "unknown setting 'volume'"),
        ({"idle_timeout_s": 10}, "between 30 and 1800"),
        ({"idle_timeout_s": True}, "whole number"),
        ({"health_interval_s": 4000}, "between 10 and 3600"),
        ({"health_interval_s": "60"}, "whole number"),
        ({"brightness_schedule": "morning=100"}, "must look like"),
        ({"brightness_schedule": "07:00-22:00=150"}, "percent"),
        ({"brightness_schedule": "25:00-22:00=50"}, "not a valid time"),
        ({"brightness_schedule": "07:00-22:00=100,21:00-08:00=30"}, "overlaps"),
        ({}, "no settings given"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(
    terminal: Terminal, args: dict[str, Scalar], reason_part: str
) -> None:
    terminal.processor.on_command(command("set_settings", args))
    assert terminal.actions.calls == []
    [(_, result, reason)] = terminal.acks
    assert result == "refused"
    assert reason is not None
    assert reason_part in reason


def test_brightness_schedule_wraps_midnight() -> None:
    periods = parse_brightness_schedule("07:00-22:00=100,22:00-07:00=30")
    assert [(p.start_min, p.end_min, p.percent) for p in periods] == [
        (420, 1320, 100),
        (1320, 420, 30),
    ]
    assert validate_settings({"health_interval_s": 60.0}) == {"health_interval_s": 60}
    with pytest.raises(InvalidSettings):
        parse_brightness_schedule("07:00-07:00=10")


def test_screenshot_is_refused_while_a_session_is_open(terminal: Terminal) -> None:
    terminal.actions.open_session = True
    terminal.processor.on_command(command("screenshot"))
    assert terminal.acks == [("cmd-00000001", "refused", Reason.SCREEN_IN_USE)]
    assert terminal.actions.calls == []


def test_screenshot_without_a_session_asks_the_screen(terminal: Terminal) -> None:
    terminal.processor.on_command(command("screenshot"))
    assert terminal.actions.calls == ["take_screenshot:cmd-00000001"]
    # Without an output callback the processor still settles it.
    assert terminal.acks == [("cmd-00000001", "accepted", None), ("cmd-00000001", "done", None)]


def test_refresh_content_is_accepted_then_done(terminal: Terminal) -> None:
    terminal.processor.on_command(command("refresh_content"))
    assert terminal.actions.calls == ["refresh_content"]
    assert terminal.acks == [("cmd-00000001", "accepted", None), ("cmd-00000001", "done", None)]


def test_refresh_content_takes_no_arguments(terminal: Terminal) -> None:
    terminal.processor.on_command(command("refresh_content", args={"version": "x"}))
    assert terminal.acks == [("cmd-00000001", "refused", "refresh_content takes no arguments")]
    assert terminal.actions.calls == []


def test_reboot_is_accepted_then_done_after_the_next_boot(tmp_path: Path) -> None:
    before = Terminal(tmp_path, boot_id="boot-1")
    before.processor.on_command(command("reboot"))
    assert before.actions.calls == ["reboot"]
    assert before.acks == [("cmd-00000001", "accepted", None)]
    # A redelivery before the machine went down does not reboot twice.
    before.processor.on_command(command("reboot"))
    before.processor.finish_interrupted()
    assert before.actions.calls == ["reboot"]
    assert before.acks[1:] == [("cmd-00000001", "accepted", None)]

    after = Terminal(tmp_path, boot_id="boot-2")
    after.processor.finish_interrupted()
    assert after.acks == [("cmd-00000001", "done", "the terminal rebooted")]
    after.processor.on_command(command("reboot"))
    assert after.actions.calls == []
    assert after.acks[-1] == ("cmd-00000001", "done", "the terminal rebooted")


def test_an_interrupted_wipe_is_reported_failed_after_a_restart(tmp_path: Path) -> None:
    store = CommandStore(tmp_path / "commands.json", clock=lambda: NOW)
    store.put(
        CommandRecord(
            id="cmd-00000009",
            name="wipe_session",
            result="accepted",
            reason=None,
            seen_at=NOW,
            expires_at=NOW + timedelta(hours=1),
            boot_id="boot-1",
        )
    )
    after = Terminal(tmp_path, boot_id="boot-2")
    after.processor.finish_interrupted()
    assert after.acks == [("cmd-00000009", "failed", "interrupted by a restart of the terminal")]


def test_restart_ui_waits_for_the_resident_unless_forced(terminal: Terminal) -> None:
    terminal.actions.open_session = True
    terminal.processor.on_command(command("restart_ui"))
    terminal.processor.on_command(command("restart_ui", {"force": True}, "cmd-00000002"))
    terminal.processor.on_command(command("restart_ui", {"forse": True}, "cmd-00000003"))
    assert terminal.actions.calls == ["restart_ui"]
    assert terminal.acks[0][1:] == (
        "refused",
        "a resident session is open; send force=true to interrupt it",
    )
    assert terminal.acks[1:3] == [
        ("cmd-00000002", "accepted", None),
        ("cmd-00000002", "done", None),
    ]
    assert terminal.acks[3][:2] == ("cmd-00000003", "refused")


def test_a_failing_action_is_acknowledged_failed(terminal: Terminal) -> None:
    terminal.actions.fail_with = "systemctl restart kiosk-ui.service failed: exit 1"
    terminal.processor.on_command(command("restart_ui"))
    assert terminal.acks == [
        ("cmd-00000001", "accepted", None),
        ("cmd-00000001", "failed", "systemctl restart kiosk-ui.service failed: exit 1"),
    ]


def test_wipe_session_done_or_failed(terminal: Terminal) -> None:
    terminal.processor.on_command(command("wipe_session"))
    terminal.actions.wipe_ok = False
    terminal.processor.on_command(command("wipe_session", command_id="cmd-00000002"))
    terminal.processor.on_command(command("wipe_session", {"all": 1}, "cmd-00000003"))
    assert terminal.actions.calls == ["wipe_session:cmd-00000001", "wipe_session:cmd-00000002"]
    assert terminal.acks == [
        ("cmd-00000001", "accepted", None),
        ("cmd-00000001", "done", None),
        ("cmd-00000002", "accepted", None),
        ("cmd-00000002", "failed", "the kiosk UI did not confirm a clean wipe"),
        ("cmd-00000003", "refused", "wipe_session takes no arguments"),
    ]


def test_a_command_that_cannot_be_recorded_is_not_run(tmp_path: Path) -> None:
    terminal = Terminal(tmp_path)
    (tmp_path / "commands.json.partial").mkdir()  # the atomic write cannot happen
    terminal.processor.on_command(command("restart_ui"))
    assert terminal.actions.calls == []
    assert terminal.acks == [("cmd-00000001", "refused", "the terminal cannot record commands")]


def test_long_actions_run_in_the_background_by_default(tmp_path: Path) -> None:
    actions = FakeActions()
    acks: list[Ack] = []
    processor = CommandProcessor(
        actions,
        lambda *ack: acks.append(ack),
        CommandStore(None),
        terminal_id="bdx-test-a",
        boot_id="boot-1",
        clock=lambda: NOW,
    )
    try:
        processor.on_command(command("restart_ui"))
        wait_until(lambda: len(acks) == 2, 5, "the background action to finish")
    finally:
        processor.close()
    assert acks == [("cmd-00000001", "accepted", None), ("cmd-00000001", "done", None)]


def test_the_store_forgets_old_expired_ids_and_keeps_the_newest(tmp_path: Path) -> None:
    now = [NOW]
    store = CommandStore(tmp_path / "commands.json", max_entries=3, clock=lambda: now[0])

    def record(number: int, seen_at: datetime, expires_at: datetime) -> CommandRecord:
        return CommandRecord(
            f"cmd-{number:08d}", "reboot", "done", None, seen_at, expires_at, "boot-1"
        )

    store.put(record(1, NOW - timedelta(days=8), NOW - timedelta(days=8)))
    store.put(record(2, NOW - timedelta(days=8), NOW + timedelta(days=1)))  # not expired yet
    assert {r.id for r in store.records()} == {"cmd-00000002"}
    for number in range(3, 7):
        store.put(record(number, NOW + timedelta(seconds=number), NOW + timedelta(hours=1)))
    reloaded = CommandStore(tmp_path / "commands.json", max_entries=3, clock=lambda: now[0])
    assert {r.id for r in reloaded.records()} == {"cmd-00000004", "cmd-00000005", "cmd-00000006"}


def test_an_unreadable_store_is_moved_aside(tmp_path: Path) -> None:
    (tmp_path / "commands.json").write_text("{not json", encoding="utf-8")
    store = CommandStore(tmp_path / "commands.json")
    assert store.records() == []
    assert (tmp_path / "commands.json.unreadable").exists()


# --------------------------------------------------------------------------------------------
# SystemdActions: systemctl is the boundary (recorded); the UI link is real.


def test_systemd_actions_run_systemctl(tmp_path: Path) -> None:
    ran: list[list[str]] = []
    actions = SystemdActions(tmp_path, None, run=ran.append)
    actions.reboot()
    actions.restart_ui()
    assert ran == [["reboot"], ["restart", "kiosk-ui.service"]]
    assert actions.session_open() is False
    with pytest.raises(ActionError, match="not connected"):
        actions.take_screenshot("cmd-00000001")
    with pytest.raises(ActionError, match="not connected"):
        actions.wipe_session("cmd-00000001")


def test_systemd_actions_save_merge_and_forward_settings(tmp_path: Path) -> None:
    applied: list[dict[str, Scalar]] = []
    received: list[AgentMessage] = []
    with (
        UiLinkServer(tmp_path / "agent.sock") as server,
        AgentLink(tmp_path / "agent.sock", ui_version="0.1.0", on_message=received.append) as ui,
    ):
        wait_until(lambda: server.connections == 1 and ui.connected, 5, "the UI to connect")
        actions = SystemdActions(tmp_path / "state", server, on_settings=applied.append)
        actions.apply_settings({"idle_timeout_s": 90})
        actions.apply_settings({"health_interval_s": 30})
        wait_until(lambda: len(received) == 2, 5, "the settings to reach the UI")
    expected = {"idle_timeout_s": 90, "health_interval_s": 30}
    saved = json.loads((tmp_path / "state" / "settings.json").read_text(encoding="utf-8"))
    assert saved == expected
    assert applied[-1] == expected
    assert received[-1] == Settings(settings=expected)


def test_systemd_actions_wipe_through_the_ui_link(tmp_path: Path) -> None:
    holder: list[AgentLink] = []

    def answer(message: AgentMessage) -> None:
        if isinstance(message, WipeNow):
            holder[0].wipe_result(ok=message.command_id == "cmd-00000001", checks_failed=[])

    with (
        UiLinkServer(tmp_path / "agent.sock") as server,
        AgentLink(tmp_path / "agent.sock", ui_version="0.1.0", on_message=answer) as ui,
    ):
        holder.append(ui)
        wait_until(lambda: server.connections == 1 and ui.connected, 5, "the UI to connect")
        actions = SystemdActions(tmp_path, server, wipe_timeout_s=5)
        assert actions.wipe_session("cmd-00000001") is True
        assert actions.wipe_session("cmd-00000002") is False
        assert server.ui_state().last_wipe_ok is False
