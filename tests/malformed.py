"""Payloads no honest terminal sends, each with the reason the contract must refuse it for.

Shared by the contract's own tests and the ingest's (which must count each one, on both
databases). Every case here was once stored by the fleet, or crashed it.
"""

from __future__ import annotations

import json
from typing import Any

from kiosk.contract.mqtt import Channel

_HEALTH: dict[str, Any] = {
    "v": 1,
    "seq": 7,
    "sent_at": "2025-11-25T09:00:00Z",
    "uptime_s": 100.0,
    "cpu_percent": 12.5,
    "memory_percent": 40.0,
    "memory_total_bytes": 1024,
}


def _health(**changes: Any) -> bytes:
    return json.dumps({**_HEALTH, **changes}).encode()


def _event(value: object, encoding: str = "ascii") -> bytes:
    """An event whose data holds ``value``: escaped (``\\uXXXX``) in ASCII, else raw."""
    body = {"v": 1, "seq": 1, "sent_at": "2025-11-25T09:00:00Z", "kind": "x", "data": {"a": value}}
    return json.dumps(body, ensure_ascii=encoding == "ascii").encode(encoding)


def _raw_health(fragment: str) -> bytes:
    """A health report with ``fragment`` (raw JSON text) added as the last member."""
    body = json.dumps(_HEALTH)
    return (body[:-1] + ", " + fragment + "}").encode()


#: (case id, channel, payload, reason)
MALFORMED: list[tuple[str, Channel, bytes, str]] = [
    ("infinity", Channel.HEALTH, _raw_health('"load_1m": Infinity'), "not_finite"),
    ("nan", Channel.HEALTH, _raw_health('"clock_offset_ms": NaN'), "not_finite"),
    ("huge-float", Channel.HEALTH, _raw_health('"clock_offset_ms": 1e400'), "not_finite"),
    ("v-float", Channel.HEALTH, _health(v=1.0), "unknown_version"),
    ("v-true", Channel.HEALTH, _health(v=True), "unknown_version"),
    ("seq-string", Channel.HEALTH, _health(seq="5"), "invalid"),
    ("seq-float", Channel.HEALTH, _health(seq=5.0), "invalid"),
    ("seq-2^63", Channel.HEALTH, _health(seq=2**63), "out_of_range"),
    ("int-past-2^63", Channel.HEALTH, _health(memory_total_bytes=2**64), "out_of_range"),
    ("sent-at-number", Channel.HEALTH, _health(sent_at=123), "invalid"),
    ("sent-at-digits", Channel.HEALTH, _health(sent_at="1700000000"), "invalid"),
    ("sent-at-year-1", Channel.HEALTH, _health(sent_at="0001-01-01T00:00:00+01:00"), "invalid"),
    ("sent-at-no-zone", Channel.HEALTH, _health(sent_at="2025-11-25T09:00:00"), "invalid"),
    (
        "bool-as-int",
        Channel.EVENT,
        json.dumps({"v": 1, "seq": 1, "sent_at": "2025-11-25T09:00:00Z", "kind": "x", "data": {}})
        .replace('"seq": 1', '"seq": true')
        .encode(),
        "invalid",
    ),
    (
        "duplicate-nested-key",
        Channel.HEALTH,
        _raw_health('"temperatures_c": {"cpu": 40.0, "cpu": 99.0}'),
        "duplicate_key",
    ),
    ("duplicate-v", Channel.HEALTH, b'{"v": 2, ' + _health()[1:], "duplicate_key"),
    ("bom", Channel.HEALTH, b"\xef\xbb\xbf" + _health(), "bad_encoding"),
    ("utf-16", Channel.HEALTH, _health().decode().encode("utf-16"), "bad_encoding"),
    ("utf-16-le", Channel.HEALTH, _health().decode().encode("utf-16-le"), "bad_encoding"),
    ("latin-1", Channel.EVENT, _event("é", "latin-1"), "bad_encoding"),
    ("nul-in-string", Channel.EVENT, _event("a\0b"), "bad_string"),
    (
        "nul-in-key",
        Channel.HEALTH,
        _raw_health('"temperatures_c": {"cpu\\u0000": 40.0}'),
        "bad_string",
    ),
    ("lone-surrogate", Channel.EVENT, _event("\ud800"), "bad_string"),
    ("deep-nesting", Channel.HEALTH, b"[" * 30_000 + b"]" * 30_000, "too_deep"),
    (
        "deep-object",
        Channel.HEALTH,
        _raw_health('"x": ' + '{"a": ' * 20 + "1" + "}" * 20),
        "too_deep",
    ),
    ("not-an-object", Channel.HEALTH, b"[1, 2]", "bad_json"),
    ("truncated", Channel.HEALTH, _health()[:-5], "bad_json"),
]
