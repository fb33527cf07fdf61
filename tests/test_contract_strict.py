"""The strict wire contract: what no honest terminal sends is refused with its reason, and
nothing but :class:`ContractError` ever comes out of ``decode`` (hypothesis)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.contract.mqtt import (
    DECODE_REASONS,
    FLEET_USERNAME,
    INT64_MAX,
    MAX_JSON_DEPTH,
    Channel,
    ContractError,
    Event,
    Health,
    decode,
    is_valid_terminal_id,
)
from tests.malformed import MALFORMED


@pytest.mark.parametrize(
    ("channel", "payload", "reason"),
    [
        pytest.param(channel, payload, reason, id=name)
        for name, channel, payload, reason in MALFORMED
    ],
)
def test_each_malformed_payload_is_refused_with_its_reason(
    channel: Channel, payload: bytes, reason: str
) -> None:
    with pytest.raises(ContractError) as caught:
        decode(channel, payload)
    assert caught.value.reason == reason


def test_honest_payloads_still_decode_whatever_their_offset_or_escapes() -> None:
    body = {
        "v": 1,
        "seq": INT64_MAX,
        "sent_at": "2025-11-25T10:00:00+01:00",
        "kind": "session_ended",
        "data": {"tile": "caf", "emoji": "\ud83d\ude00", "n": -(2**63), "ok": True, "x": 1.5},
    }
    # ensure_ascii: every non-ASCII character travels as a \u escape, surrogate pairs too.
    event = decode(Channel.EVENT, json.dumps(body, ensure_ascii=True).encode())
    assert isinstance(event, Event)
    assert event.sent_at == datetime(2025, 11, 25, 9, 0, tzinfo=UTC)
    assert event.sent_at.tzinfo is UTC  # read back in UTC, whatever offset was sent
    assert event.data["emoji"] == "😀"
    assert event.seq == INT64_MAX


def test_nesting_up_to_the_limit_is_parsed_one_more_is_too_deep() -> None:
    def event_with(levels: int) -> bytes:
        # The object itself is one level; the list inside it adds ``levels - 1``.
        inner = "[" * (levels - 1) + "]" * (levels - 1)
        return (
            '{"v": 1, "seq": 1, "sent_at": "2025-11-25T09:00:00Z", "kind": "x", '
            f'"extra": {inner}}}'
        ).encode()

    with pytest.raises(ContractError) as at_limit:
        decode(Channel.EVENT, event_with(MAX_JSON_DEPTH))
    assert at_limit.value.reason == "invalid"  # parsed, then refused by the model
    with pytest.raises(ContractError) as beyond:
        decode(Channel.EVENT, event_with(MAX_JSON_DEPTH + 1))
    assert beyond.value.reason == "too_deep"


def test_a_wrong_clock_is_not_refused_by_the_contract() -> None:
    """A terminal whose clock says 1970 or 2090 is still heard (the fleet stores it with its
    own time and shows the clock problem)."""
    for when in (datetime(1970, 1, 1, tzinfo=UTC), datetime(2090, 1, 1, tzinfo=UTC)):
        health = Health(
            seq=1,
            sent_at=when,
            uptime_s=1,
            cpu_percent=1,
            memory_percent=1,
            memory_total_bytes=1,
        )
        assert decode(Channel.HEALTH, health.to_bytes()) == health


def test_the_fleet_names_are_not_terminal_ids() -> None:
    assert not is_valid_terminal_id(FLEET_USERNAME)
    assert not is_valid_terminal_id(f"{FLEET_USERNAME}-ingest-2")
    assert is_valid_terminal_id("fleetwood-01")  # only "fleet" and "fleet-..." are reserved


_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12))]
        ),
    ).map(lambda d: d.isoformat())
)
_json_value = st.recursive(
    _json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)
_health_keys = sorted(Health.model_fields)


def _near_health(values: dict[str, object]) -> bytes:
    """Health-shaped objects with random values: the shape most likely to get far."""
    return json.dumps({"v": 1, **values}, allow_nan=True).encode()


@settings(max_examples=300, deadline=None)
@given(
    channel=st.sampled_from(list(Channel)),
    payload=st.one_of(
        st.binary(max_size=200),
        _json_value.map(lambda v: json.dumps(v, allow_nan=True).encode()),
        st.dictionaries(st.sampled_from(_health_keys), _json_value, max_size=10).map(_near_health),
    ),
)
def test_decode_raises_nothing_but_contract_errors(channel: Channel, payload: bytes) -> None:
    try:
        message = decode(channel, payload)
    except ContractError as error:
        reason = error.reason
        assert reason in (*DECODE_REASONS, "bad_topic")
        return
    # What is accepted can be sent again: it encodes and decodes to itself.
    assert decode(channel, message.to_bytes()) == message
