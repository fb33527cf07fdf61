"""The help pages' counts in the contract and on the local socket: strict, bounded, counts only."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from kiosk.contract.local import LocalProtocolError, SessionEnded, decode_ui_message, encode
from kiosk.contract.mqtt import MAX_HELP_COUNT, HelpUsage


@pytest.mark.parametrize("value", ["5", True, 1.0, -1, MAX_HELP_COUNT + 1, None])
def test_a_count_is_a_small_whole_number_and_nothing_else(value: object) -> None:
    with pytest.raises(ValidationError):
        HelpUsage.model_validate({"places_shown": value})


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError):
        HelpUsage.model_validate({"place_id": 3})


def test_moving_inside_the_guide_is_not_a_new_opening() -> None:
    usage = HelpUsage().counted("guide").counted("place", "guide").counted("guide", "place")
    assert usage == HelpUsage(guide_opened=1, places_shown=1)
    assert usage.counted("guide", "number").guide_opened == 2
    assert usage.counted(None) == usage
    full = HelpUsage(numbers_shown=MAX_HELP_COUNT)
    assert full.counted("number").numbers_shown == MAX_HELP_COUNT


def test_session_ended_carries_the_counts_on_the_local_socket() -> None:
    message = SessionEnded(
        session_id="abcdefgh12", duration_s=3.0, reason="button", help=HelpUsage(guide_opened=1)
    )
    assert decode_ui_message(encode(message)) == message
    raw = json.loads(encode(message))
    raw["help"]["numbers_shown"] = "2"
    with pytest.raises(LocalProtocolError):
        decode_ui_message(json.dumps(raw).encode())
    # An older UI sends no counts: none.
    del raw["help"]
    decoded = decode_ui_message(json.dumps(raw).encode())
    assert isinstance(decoded, SessionEnded)
    assert decoded.help == HelpUsage()
