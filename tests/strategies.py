"""Hypothesis strategies for every payload a terminal may send that the contract accepts.

Built from the contract's own bounds (lengths, ranges, patterns, timestamps from 1970 to 9999
with any offset), so that a property test covers whatever a terminal could make the fleet
store, honest or not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from kiosk.contract.mqtt import (
    EARLIEST_TIME,
    INT64_MAX,
    INT64_MIN,
    LATEST_TIME,
    CommandAck,
    Event,
    Health,
    Reason,
    Status,
)

#: Any character a string on the wire may hold: no NUL, no lone surrogate.
_characters = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


def text(max_size: int = 200, min_size: int = 0) -> st.SearchStrategy[str]:
    return st.text(_characters, min_size=min_size, max_size=max_size)


def _zone(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


zones = st.one_of(
    st.just(UTC),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(_zone),
)


def timestamps(near: datetime | None = None) -> st.SearchStrategy[datetime]:
    """Any accepted timestamp, and (more often) ones near ``near``: the honest ones."""
    anywhere = st.datetimes(
        min_value=EARLIEST_TIME.replace(tzinfo=None) + timedelta(days=1),
        max_value=LATEST_TIME.replace(tzinfo=None) - timedelta(days=1),
        timezones=zones,
    )
    if near is None:
        return anywhere
    around = st.floats(min_value=-9 * 86400, max_value=3600).map(
        lambda offset: near + timedelta(seconds=offset)
    )
    return st.one_of(around, anywhere)


seqs = st.integers(min_value=0, max_value=INT64_MAX)
counts = st.integers(min_value=0, max_value=INT64_MAX)
percents = st.floats(min_value=0, max_value=100)
non_negative = st.floats(min_value=0, max_value=1e12)
celsius = st.floats(min_value=-273.15, max_value=10_000)
short_text = text(200)
names = st.from_regex(r"\A[a-z][a-z0-9_.]{0,63}\Z")
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=INT64_MIN, max_value=INT64_MAX),
    st.floats(allow_nan=False, allow_infinity=False),
    text(200).filter(lambda value: "://" not in value),
)
free_form = st.dictionaries(st.from_regex(r"\A[a-z][a-z0-9_]{0,39}\Z"), scalars, max_size=32)


def health(near: datetime | None = None) -> st.SearchStrategy[Health]:
    disk = st.fixed_dictionaries(
        {"mount": short_text, "total_bytes": counts, "used_percent": percents}
    )
    interface = st.fixed_dictionaries(
        {"name": short_text, "up": st.booleans(), "bytes_sent": counts, "bytes_recv": counts}
    )
    ui = st.fixed_dictionaries(
        {"alive": st.booleans()},
        optional={
            "heartbeat_age_s": st.none() | non_negative,
            "session_open": st.booleans(),
            "sessions_total": counts,
            "last_wipe_ok": st.none() | st.booleans(),
            "last_wipe_at": st.none() | timestamps(near),
        },
    )
    enclosure = st.fixed_dictionaries(
        {},
        optional={
            "door_open": st.none() | st.booleans(),
            "temperature_c": st.none() | celsius,
            "humidity_percent": st.none() | percents,
            "backlight_percent": st.none() | percents,
        },
    )
    fields: dict[str, st.SearchStrategy[Any]] = {
        "seq": seqs,
        "sent_at": timestamps(near),
        "uptime_s": non_negative,
        "cpu_percent": percents,
        "memory_percent": percents,
        "memory_total_bytes": counts,
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "load_1m": st.none() | non_negative,
        "disks": st.lists(disk, max_size=16),
        "temperatures_c": st.dictionaries(short_text, celsius, max_size=32),
        "net": st.lists(interface, max_size=16),
        "clock_offset_ms": st.none() | st.floats(min_value=-1e13, max_value=1e13),
        "clock_synced": st.none() | st.booleans(),
        "ui": st.none() | ui,
        "enclosure": st.none() | enclosure,
        "dropped_samples": counts,
    }
    return st.fixed_dictionaries(fields, optional=optional).map(Health.model_validate)


def status(near: datetime | None = None) -> st.SearchStrategy[Status]:
    return st.fixed_dictionaries(
        {
            "state": st.sampled_from(["online", "offline", "lost"]),
            "boot_id": short_text,
            "birth_seq": seqs,
            "sent_at": timestamps(near),
            "keepalive_s": st.integers(min_value=1, max_value=3600),
            "versions": st.dictionaries(names, short_text, max_size=16),
        }
    ).map(Status.model_validate)


def event(near: datetime | None = None) -> st.SearchStrategy[Event]:
    kinds = st.one_of(
        names,
        st.sampled_from(["session_ended", "content_update", "wipe_done", "ui_crash", "door"]),
    )
    return st.fixed_dictionaries(
        {"seq": seqs, "sent_at": timestamps(near), "kind": kinds, "data": free_form}
    ).map(Event.model_validate)


def command_ack(command_id: str, near: datetime | None = None) -> st.SearchStrategy[CommandAck]:
    reasons = st.none() | st.sampled_from([reason.value for reason in Reason]) | short_text
    return st.fixed_dictionaries(
        {
            "id": st.just(command_id),
            "result": st.sampled_from(["accepted", "done", "failed", "refused"]),
            "reason": reasons,
            "seq": seqs,
            "sent_at": timestamps(near),
        }
    ).map(CommandAck.model_validate)
