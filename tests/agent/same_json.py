"""The agent's plain payloads and the contract's pydantic models, compared as the wire sees them."""

from __future__ import annotations

import json
from typing import Any


def wire_form(message: Any) -> Any:
    """The JSON a message stands for (``None`` fields left out, as both sides send them)."""
    if hasattr(message, "to_bytes"):
        return json.loads(message.to_bytes())
    if hasattr(message, "model_dump_json"):
        return json.loads(message.model_dump_json(exclude_none=True))
    return _without_none(json.loads(json.dumps(message.as_json())))


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_none(item) for item in value]
    return value


def same_json(left: Any, right: Any) -> bool:
    return bool(wire_form(left) == wire_form(right))
