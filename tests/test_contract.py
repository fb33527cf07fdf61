"""The wire contract: topics, round trips, and everything it must refuse."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import get_args

import pytest

from kiosk.contract import mqtt as contract
from kiosk.contract.mqtt import (
    MAX_PAYLOAD_BYTES,
    Channel,
    Command,
    CommandAck,
    ContractError,
    Desired,
    Disk,
    Event,
    Health,
    Message,
    Status,
    decode,
    decode_message,
    parse_topic,
    shared_subscription,
    subscription_for,
    topic_for,
    utc_now,
)

NOW = utc_now()

SAMPLES: dict[Channel, Message] = {
    Channel.STATUS: Status(
        state="online",
        boot_id="b1",
        birth_seq=3,
        sent_at=NOW,
        keepalive_s=30,
        versions={"agent": "0.1.0"},
    ),
    Channel.HEALTH: Health(
        seq=7,
        sent_at=NOW,
        uptime_s=12.5,
        cpu_percent=3.5,
        load_1m=0.2,
        memory_percent=41.0,
        memory_total_bytes=8 << 30,
        disks=[Disk(mount="/", total_bytes=1 << 34, used_percent=50)],
        temperatures_c={"cpu": 48.0},
    ),
    Channel.EVENT: Event(seq=8, sent_at=NOW, kind="session_ended", data={"tile": "caf", "s": 93}),
    Channel.CMD: Command(
        id="cmd-0001-abcd", name="reboot", issued_at=NOW, expires_at=NOW + timedelta(minutes=5)
    ),
    Channel.CMD_ACK: CommandAck(id="cmd-0001-abcd", result="done", seq=9, sent_at=NOW),
    Channel.DESIRED: Desired(content_version="2026.11.1", settings={"idle_s": 120}, sent_at=NOW),
}


@pytest.mark.parametrize("channel", list(Channel))
def test_every_channel_round_trips(channel: Channel) -> None:
    message = SAMPLES[channel]
    assert decode(channel, message.to_bytes()) == message


def test_topics_are_built_and_parsed_in_one_place() -> None:
    topic = topic_for("bdx-001", Channel.CMD_ACK)
    assert topic == "kiosk/v1/bdx-001/cmd/ack"
    address = parse_topic(topic)
    assert (address.terminal_id, address.channel) == ("bdx-001", Channel.CMD_ACK)
    assert address.topic == topic
    assert subscription_for(Channel.HEALTH) == "kiosk/v1/+/health"
    assert subscription_for(None, "bdx-001") == "kiosk/v1/bdx-001/#"
    assert shared_subscription("fleet", "kiosk/v1/+/health") == "$share/fleet/kiosk/v1/+/health"


@pytest.mark.parametrize(
    "terminal_id",
    ["ab", "x" * 41, "BDX-001", "bdx_001", "bdx/001", "bdx+", "#", "", "fleet", "bdx 001"],
)
def test_bad_terminal_ids_are_refused(terminal_id: str) -> None:
    with pytest.raises(ContractError) as caught:
        topic_for(terminal_id, Channel.STATUS)
    assert caught.value.reason == "bad_terminal_id"


@pytest.mark.parametrize("terminal_id", ["bdx", "bdx-001", "a" * 40, "0-9"])
def test_good_terminal_ids_are_accepted(terminal_id: str) -> None:
    assert parse_topic(f"kiosk/v1/{terminal_id}/health").terminal_id == terminal_id


@pytest.mark.parametrize(
    "topic",
    [
        "kiosk/v2/bdx-001/health",
        "kiosk/v1/bdx-001/heal",
        "kiosk/v1/bdx-001",
        "other/bdx-001/x",
        "kiosk/v1/bdx-001/health/extra",
        "kiosk/v1/BDX/health",
    ],
)
def test_mis_addressed_topics_are_refused(topic: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_topic(topic)
    assert caught.value.reason in {"bad_topic", "bad_terminal_id"}


def _health_dict() -> dict[str, object]:
    loaded: dict[str, object] = json.loads(SAMPLES[Channel.HEALTH].to_bytes())
    return loaded


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "bad_json"),
        (b"\xff\xfe", "bad_encoding"),
        (b"[1, 2]", "bad_json"),
        (json.dumps({**_health_dict(), "v": 2}).encode(), "unknown_version"),
        (
            json.dumps({k: v for k, v in _health_dict().items() if k != "v"}).encode(),
            "unknown_version",
        ),
        (json.dumps({**_health_dict(), "cpu_percent": "lots"}).encode(), "invalid"),
        (json.dumps({**_health_dict(), "cpu_percent": 250}).encode(), "invalid"),
        (json.dumps({**_health_dict(), "seq": -1}).encode(), "invalid"),
        (json.dumps({**_health_dict(), "sent_at": "2026-11-25T10:00:00"}).encode(), "invalid"),
        (json.dumps({**_health_dict(), "surprise": 1}).encode(), "invalid"),
        (b" " * (MAX_PAYLOAD_BYTES + 1), "oversized"),
    ],
)
def test_bad_payloads_are_refused_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(ContractError) as caught:
        decode(Channel.HEALTH, payload)
    assert caught.value.reason == reason


def test_a_payload_of_exactly_the_limit_is_not_refused_for_size() -> None:
    body = SAMPLES[Channel.HEALTH].to_bytes()
    padded = body + b" " * (MAX_PAYLOAD_BYTES - len(body))
    assert len(padded) == MAX_PAYLOAD_BYTES
    assert decode(Channel.HEALTH, padded) == SAMPLES[Channel.HEALTH]


def test_a_payload_sent_on_the_wrong_channel_is_invalid() -> None:
    with pytest.raises(ContractError) as caught:
        decode(Channel.STATUS, SAMPLES[Channel.HEALTH].to_bytes())
    assert caught.value.reason == "invalid"


@pytest.mark.parametrize(
    "data",
    [
        {"page": "https://www.caf.fr/allocataires/mon-compte"},
        {"typed": "x" * 201},
        {"Bad-Key": 1},
        {"nested": {"a": 1}},
    ],
)
def test_events_cannot_carry_personal_data(data: dict[str, object]) -> None:
    raw = {**json.loads(SAMPLES[Channel.EVENT].to_bytes()), "data": data}
    with pytest.raises(ContractError) as caught:
        decode(Channel.EVENT, json.dumps(raw).encode())
    assert caught.value.reason == "invalid"


def test_messages_are_frozen() -> None:
    with pytest.raises(ValueError, match="frozen"):
        SAMPLES[Channel.STATUS].state = "lost"  # type: ignore[attr-defined,misc]


def test_commands_know_when_they_expire() -> None:
    command = SAMPLES[Channel.CMD]
    assert isinstance(command, Command)
    assert not command.expired(NOW)
    assert command.expired(NOW + timedelta(minutes=5))


def test_decode_message_parses_topic_and_payload_together() -> None:
    address, message = decode_message("kiosk/v1/bdx-001/status", SAMPLES[Channel.STATUS].to_bytes())
    assert address.terminal_id == "bdx-001"
    assert message == SAMPLES[Channel.STATUS]


def test_protocol_doc_is_up_to_date() -> None:
    doc = Path(__file__).parent.parent / "docs" / "protocol.md"
    assert doc.read_text() == contract.protocol_markdown(), (
        "docs/protocol.md is stale: run `make protocol`"
    )


def test_the_state_fields_list_every_member_of_their_enum() -> None:
    """``Status.state`` and ``CommandAck.result`` are literals of the enums' members (the strict
    decoding takes the wire's strings for them), and name every member."""
    assert get_args(contract.Status.model_fields["state"].annotation) == tuple(contract.Presence)
    assert get_args(contract.CommandAck.model_fields["result"].annotation) == tuple(
        contract.AckResult
    )
    raw = b'{"v": 1, "state": "lost", "boot_id": "b", "sent_at": "2026-12-04T09:00:00+00:00",'
    status = contract.decode(Channel.STATUS, raw + b' "keepalive_s": 30}')
    assert isinstance(status, contract.Status)
    assert status.state is contract.Presence.LOST
