"""Reconnection delays: exponential, capped, and spread by full jitter."""

from __future__ import annotations

import random

from kiosk.agent.mqtt.connection import (
    RECONNECT_MAX_DELAY_S,
    RECONNECT_MIN_DELAY_S,
    reconnect_delay,
)


def test_delays_stay_within_bounds() -> None:
    rng = random.Random(42)
    for attempt in range(40):
        cap = min(RECONNECT_MAX_DELAY_S, 2.0**attempt)
        delays = [reconnect_delay(attempt, rng) for _ in range(200)]
        assert all(RECONNECT_MIN_DELAY_S <= d <= cap for d in delays), attempt


def test_delays_are_jittered_across_the_whole_range() -> None:
    rng = random.Random(7)
    delays = [reconnect_delay(10, rng) for _ in range(2000)]
    # Full jitter: spread from the minimum to the cap, not bunched near the cap.
    assert min(delays) < 5
    assert max(delays) > 55
    assert 25 < sum(delays) / len(delays) < 36


def test_first_attempt_is_quick() -> None:
    assert reconnect_delay(0) == RECONNECT_MIN_DELAY_S
