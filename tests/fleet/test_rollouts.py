"""The rollout engine on real databases: canary, waves, thresholds, pause, abort, rollback."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import count

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet import rollouts
from fleet.commands import BrokerUnavailable
from fleet.ingest.handler import handle_message
from fleet.models import AuditEntry, Rollout, RolloutTarget, Terminal
from kiosk.contract.mqtt import Channel, Desired, Event, decode, topic_for

from .conftest import later, status_payload

TERMINALS = [f"bdx-{n:03d}" for n in range(1, 8)]
_seq = count(1)


@dataclass
class FakeBroker:
    """Records retained publications; ``down`` makes it refuse like an unreachable broker."""

    down: bool = False
    sent: list[tuple[str, Desired]] = field(default_factory=list)

    def publish_retained(self, topic: str, payload: bytes, qos: int) -> None:
        if self.down:
            raise BrokerUnavailable("broker down (test)")
        assert qos == 1
        message = decode(Channel.DESIRED, payload)
        assert isinstance(message, Desired)
        self.sent.append((topic, message))

    def versions(self) -> dict[str, str | None]:
        return {topic.split("/")[2]: m.content_version for topic, m in self.sent}


def report(
    session: Session, terminal_id: str, version: str, state: str, reason: str | None = None
) -> None:
    seq = next(_seq)
    data: dict[str, str | int | None] = {
        "version": version,
        "state": state,
        "bytes_downloaded": 10,
        "files_downloaded": 1,
        "files_reused": 0,
    }
    if reason is not None:
        data["reason"] = reason
    event = Event(seq=seq, sent_at=later(seq), kind="content_update", data=data)
    handle_message(session, topic_for(terminal_id, Channel.EVENT), event.to_bytes(), later(seq))


def fleet_of(session: Session, ids: list[str] = TERMINALS, version: str | None = "v1") -> None:
    for terminal_id in ids:
        handle_message(session, topic_for(terminal_id, Channel.STATUS), status_payload(), later(0))
        if version is not None:
            report(session, terminal_id, version, "applied")


def targets(session: Session, rollout_id: int) -> dict[str, tuple[int, str, str | None]]:
    session.expire_all()
    rows = session.scalars(select(RolloutTarget).where(RolloutTarget.rollout_id == rollout_id))
    return {t.terminal_id: (t.wave, t.state, t.reason) for t in rows}


def state_of(session: Session, rollout_id: int) -> str:
    session.expire_all()
    rollout = session.get(Rollout, rollout_id)
    assert rollout is not None
    return rollout.state


def plan(**overrides: object) -> rollouts.Plan:
    values: dict[str, object] = {
        "version": "v2",
        "canary_terminals": ("bdx-001",),
        "wave_size": 3,
        "success_threshold_percent": 100,
        "error_threshold_percent": 50,
    }
    values.update(overrides)
    return rollouts.Plan(**values)  # type: ignore[arg-type]


def at(seconds: float) -> datetime:
    return later(1000 + seconds)


def test_canary_first_then_waves_only_after_the_success_threshold(db_session: Session) -> None:
    fleet_of(db_session)
    broker = FakeBroker()
    rollout = rollouts.create_rollout(db_session, plan(), "ops", at(0))
    assert rollout.previous_version == "v1"
    waves = targets(db_session, rollout.id)
    assert waves["bdx-001"][0] == 0
    assert sorted(w for w, _s, _r in waves.values()) == [0, 1, 1, 1, 2, 2, 2]

    assert rollouts.run_pass(db_session, broker, at(10)).published == 1
    assert broker.versions() == {"bdx-001": "v2"}
    assert targets(db_session, rollout.id)["bdx-001"][1] == "pending"
    assert db_session.get(Terminal, "bdx-001").desired_content_version == "v2"  # type: ignore[union-attr]
    # Nothing new while the canary has not applied.
    assert rollouts.run_pass(db_session, broker, at(20)).published == 0

    for state in ("pending", "downloading", "verified", "staged"):
        report(db_session, "bdx-001", "v2", state)
        assert targets(db_session, rollout.id)["bdx-001"][1] == state
    assert rollouts.run_pass(db_session, broker, at(30)).published == 0
    report(db_session, "bdx-001", "v2", "applied")
    assert db_session.get(Terminal, "bdx-001").content_version == "v2"  # type: ignore[union-attr]

    first_wave = {t for t, (w, _s, _r) in targets(db_session, rollout.id).items() if w == 1}
    assert rollouts.run_pass(db_session, broker, at(40)).published == 3
    assert set(broker.versions()) == {"bdx-001"} | first_wave
    # Two of three applied is under 100 %: the second wave waits.
    a, b, c = sorted(first_wave)
    report(db_session, a, "v2", "applied")
    report(db_session, b, "v2", "applied")
    assert rollouts.run_pass(db_session, broker, at(50)).published == 0
    report(db_session, c, "v2", "applied")
    assert rollouts.run_pass(db_session, broker, at(60)).published == 3
    for terminal_id, (wave, _state, _reason) in targets(db_session, rollout.id).items():
        if wave == 2:
            report(db_session, terminal_id, "v2", "applied")
    assert state_of(db_session, rollout.id) == "completed"
    actions = db_session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["rollout_created", "rollout_completed"]


def test_the_error_threshold_halts_with_a_reason(db_session: Session) -> None:
    fleet_of(db_session)
    broker = FakeBroker()
    rollout = rollouts.create_rollout(
        db_session, plan(canary_terminals=("bdx-001", "bdx-002")), "ops", at(0)
    )
    rollouts.run_pass(db_session, broker, at(10))
    report(db_session, "bdx-002", "v2", "failed", "signature not trusted (wrong key)")
    assert state_of(db_session, rollout.id) == "halted"
    db_session.expire_all()
    halted = db_session.get(Rollout, rollout.id)
    assert halted is not None
    assert "1 of 2 terminals failed" in (halted.reason or "")
    assert targets(db_session, rollout.id)["bdx-002"][1:] == (
        "failed",
        "signature not trusted (wrong key)",
    )
    report(db_session, "bdx-001", "v2", "applied")
    assert rollouts.run_pass(db_session, broker, at(20)).published == 0
    assert set(broker.versions()) == {"bdx-001", "bdx-002"}
    with pytest.raises(rollouts.RolloutError):
        rollouts.create_rollout(db_session, plan(version="v3"), "ops", at(30))


def test_pause_and_resume(db_session: Session) -> None:
    fleet_of(db_session)
    broker = FakeBroker()
    rollout = rollouts.create_rollout(db_session, plan(), "ops", at(0))
    rollouts.pause(db_session, rollout.id, "ops", at(1))
    assert rollouts.run_pass(db_session, broker, at(10)).published == 0
    with pytest.raises(rollouts.RolloutError):
        rollouts.pause(db_session, rollout.id, "ops", at(11))
    rollouts.resume(db_session, rollout.id, "ops", at(12))
    assert rollouts.run_pass(db_session, broker, at(20)).published == 1
    actions = db_session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["rollout_created", "rollout_paused", "rollout_resumed"]


def test_a_wish_is_kept_while_the_broker_is_down(db_session: Session) -> None:
    fleet_of(db_session)
    broker = FakeBroker(down=True)
    rollout = rollouts.create_rollout(db_session, plan(), "ops", at(0))
    result = rollouts.run_pass(db_session, broker, at(10))
    assert (result.published, result.broker_down) == (0, True)
    assert targets(db_session, rollout.id)["bdx-001"][1] == "waiting"
    broker.down = False
    assert rollouts.run_pass(db_session, broker, at(20)).published == 1
    assert targets(db_session, rollout.id)["bdx-001"][1] == "pending"


def test_abort_stops_further_waves_and_keeps_updated_terminals(db_session: Session) -> None:
    fleet_of(db_session)
    broker = FakeBroker()
    rollout = rollouts.create_rollout(db_session, plan(), "ops", at(0))
    rollouts.run_pass(db_session, broker, at(10))
    report(db_session, "bdx-001", "v2", "applied")
    rollouts.abort(db_session, rollout.id, "ops", "wrong opening hours", at(20))
    assert rollouts.run_pass(db_session, broker, at(30)).published == 0
    assert broker.versions() == {"bdx-001": "v2"}
    db_session.expire_all()
    canary = db_session.get(Terminal, "bdx-001")
    assert canary is not None
    assert canary.content_version == "v2"
    assert state_of(db_session, rollout.id) == "aborted"
    # Over: a new rollout may start.
    rollouts.create_rollout(db_session, plan(version="v3"), "ops", at(40))


def test_rollback_publishes_the_previous_version_to_those_that_got_the_new_one(
    db_session: Session,
) -> None:
    fleet_of(db_session)
    broker = FakeBroker()
    rollout = rollouts.create_rollout(db_session, plan(), "ops", at(0))
    rollouts.run_pass(db_session, broker, at(10))
    report(db_session, "bdx-001", "v2", "applied")
    rollouts.run_pass(db_session, broker, at(20))
    sent_new = set(broker.versions())
    assert len(sent_new) == 4
    broker.sent.clear()

    rollouts.rollback(db_session, rollout.id, "ops", broker, "bad tile", at(30))

    assert broker.versions() == dict.fromkeys(sent_new, "v1")
    assert state_of(db_session, rollout.id) == "rolled_back"
    after = targets(db_session, rollout.id)
    # The canary had applied v2 and goes back; the others, never switched, still run v1.
    assert {t for t, (_w, s, _r) in after.items() if s == "pending"} == {"bdx-001"}
    assert after["bdx-001"][2] == rollouts.ROLLBACK_SENT
    assert {t for t, (_w, s, _r) in after.items() if s == "applied"} == sent_new - {"bdx-001"}
    report(db_session, "bdx-001", "v1", "applied")
    assert targets(db_session, rollout.id)["bdx-001"][1] == "applied"
    db_session.expire_all()
    canary = db_session.get(Terminal, "bdx-001")
    assert canary is not None
    assert (canary.content_version, canary.desired_content_version) == ("v1", "v1")
    untouched = db_session.get(Terminal, "bdx-007")
    assert untouched is not None
    assert untouched.desired_content_version in (None, "v1")
    entry = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "rollout_rolled_back")
    ).one()
    assert "4 terminal(s) back to v1" in (entry.detail or "")


def test_rollback_held_by_a_down_broker_goes_out_at_the_next_pass(db_session: Session) -> None:
    fleet_of(db_session)
    broker = FakeBroker()
    rollout = rollouts.create_rollout(db_session, plan(), "ops", at(0))
    rollouts.run_pass(db_session, broker, at(10))
    broker.down = True
    rollouts.rollback(db_session, rollout.id, "ops", broker, now=at(20))
    assert targets(db_session, rollout.id)["bdx-001"][1:] == ("waiting", rollouts.ROLLBACK_WAITING)
    broker.down = False
    broker.sent.clear()
    assert rollouts.run_pass(db_session, broker, at(30)).published == 1
    assert broker.versions() == {"bdx-001": "v1"}


def test_percentage_canary_and_refusals(db_session: Session) -> None:
    fleet_of(db_session)
    with pytest.raises(rollouts.RolloutError, match="unknown"):
        rollouts.create_rollout(db_session, plan(canary_terminals=("bdx-999",)), "ops", at(0))
    with pytest.raises(rollouts.RolloutError):
        rollouts.create_rollout(db_session, plan(success_threshold_percent=0), "ops", at(0))
    rollout = rollouts.create_rollout(
        db_session, plan(canary_terminals=(), canary_percent=30), "ops", at(0)
    )
    canary = [t for t, (w, _s, _r) in targets(db_session, rollout.id).items() if w == 0]
    assert len(canary) == 3  # 30 % of 7, rounded up
    with pytest.raises(rollouts.RolloutError, match="is running"):
        rollouts.create_rollout(db_session, plan(version="v3"), "ops", at(1))


def test_a_terminal_already_on_the_version_counts_as_applied(db_session: Session) -> None:
    fleet_of(db_session, ["bdx-001", "bdx-002"])
    report(db_session, "bdx-001", "v2", "applied")
    broker = FakeBroker()
    rollout = rollouts.create_rollout(db_session, plan(wave_size=5), "ops", at(0))
    rollouts.run_pass(db_session, broker, at(10))
    assert targets(db_session, rollout.id)["bdx-001"][1] == "applied"
    assert broker.versions() == {"bdx-001": "v2", "bdx-002": "v2"}
