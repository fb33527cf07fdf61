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
    body = message.as_json()
    return {key: value for key, value in json.loads(json.dumps(body)).items() if value is not None}


def same_json(left: Any, right: Any) -> bool:
    return bool(wire_form(left) == wire_form(right))
