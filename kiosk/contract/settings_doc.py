"""A settings table in Markdown, generated from a pydantic model's own declaration.

The kiosk, the agent and the fleet each declare their settings once, as a pydantic model whose
fields carry a description (``Field(description=...)`` or an attribute docstring), a default and
their bounds. Their reference pages under ``docs/`` are generated from that declaration by
:func:`settings_table`, and a test per program compares the page with a fresh rendering, so a
setting cannot be added, renamed or re-bounded without its documentation following. Nested
models (the agent's ``[mqtt]``, ``[health]``... sections) become ``section.key`` rows.

Only pydantic's public API is used: ``model_fields`` and ``model_json_schema()``. A program whose
settings are not a pydantic model (the agent, which keeps pydantic out of its memory) builds its
own :class:`SettingRow` list and renders it with :func:`rows_table`.

It sits in the contract package because every side renders its page with it, the fleet too,
which imports nothing else of the kiosk (``tests/test_boundaries.py``). The agent imports it
only to write its page: it loads pydantic, which the agent keeps out of its memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, SecretStr

_KINDS: Final = {
    "integer": "integer",
    "number": "number",
    "string": "text",
    "boolean": "true or false",
    "array": "list",
    "object": "table",
}


@dataclass(frozen=True, slots=True)
class SettingRow:
    """One documented setting: its dotted key and the table's cells."""

    key: str
    kind: str
    default: str
    description: str


def _kind(schema: dict[str, Any], definitions: dict[str, Any]) -> str:
    """The type in words, with its bounds: ``integer, 1 to 65535``, ``text or none``..."""
    if "$ref" in schema:
        schema = definitions[schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema:
        options = [option for option in schema["anyOf"] if option.get("type") != "null"]
        optional = len(options) < len(schema["anyOf"])
        text = " or ".join(_kind(option, definitions) for option in options)
        return f"{text} or none" if optional else text
    if "enum" in schema:
        return "one of " + ", ".join(f"`{value}`" for value in schema["enum"])
    kind = _KINDS.get(str(schema.get("type", "")), str(schema.get("type", "")))
    if schema.get("format") == "path":
        kind = "path"
    elif schema.get("format") == "password":
        kind = "secret text"
    if kind == "list" and "items" in schema:
        kind = f"list of {_kind(schema['items'], definitions)}s"
    return kind + bounds_text(schema)


def bounds_text(schema: dict[str, Any]) -> str:
    """``, 1 to 65535``, ``, more than 0, at most 720``, ``, at least 5``..."""
    low, above = schema.get("minimum", schema.get("minLength")), schema.get("exclusiveMinimum")
    high, below = schema.get("maximum", schema.get("maxLength")), schema.get("exclusiveMaximum")
    parts: list[str] = []
    if low is not None and high is not None:
        parts.append(f"{low} to {high}")
    else:
        if low is not None:
            parts.append(f"at least {low}")
        if above is not None:
            parts.append(f"more than {above}")
        if high is not None:
            parts.append(f"at most {high}")
        if below is not None:
            parts.append(f"less than {below}")
    if "pattern" in schema:
        parts.append(f"matching `{schema['pattern']}`")
    return "".join(f", {part}" for part in parts)


def default_text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, SecretStr):
        return "(secret)"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (str, Path)):
        return f'`"{value}"`' if str(value) else "empty"
    if isinstance(value, (tuple, list)):
        return "`[" + ", ".join(f'"{item}"' for item in value) + "]`"
    return f"`{value}`"


def _rows(model: type[BaseModel], prefix: str, defaults: dict[str, str]) -> Iterator[SettingRow]:
    schema = model.model_json_schema()
    properties, definitions = schema["properties"], schema.get("$defs", {})
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _rows(annotation, f"{key}.", defaults)
            continue
        description = " ".join((field.description or "").split())
        if not description:
            raise ValueError(f"setting {key} of {model.__name__} has no description")
        default = defaults.get(key) or default_text(field.get_default(call_default_factory=True))
        yield SettingRow(key, _kind(properties[name], definitions), default, description)


def settings_rows(
    model: type[BaseModel], defaults: dict[str, str] | None = None
) -> list[SettingRow]:
    """Every setting of ``model`` (nested sections flattened), in declaration order.

    ``defaults`` replaces the rendered default of a key whose real default depends on where the
    program runs (a path found at start-up, for instance). A field without a description is an
    error: the page would have a hole.
    """
    return list(_rows(model, "", defaults or {}))


def settings_table(
    model: type[BaseModel],
    key_header: str = "setting",
    key_text: Callable[[str], str] = lambda key: f"`{key}`",
    defaults: dict[str, str] | None = None,
) -> list[str]:
    """The Markdown table's lines for ``model``: key, type and bounds, default, description."""
    return rows_table(settings_rows(model, defaults), key_header, key_text)


def rows_table(
    rows: Iterable[SettingRow],
    key_header: str = "setting",
    key_text: Callable[[str], str] = lambda key: f"`{key}`",
) -> list[str]:
    """The Markdown table's lines for ``rows`` (a program whose settings are not a pydantic
    model, the agent's, builds its rows from its own declarations)."""
    lines = [f"| {key_header} | type | default | description |", "|---|---|---|---|"]
    for row in rows:
        if not row.description:
            raise ValueError(f"setting {row.key} has no description")
        cells = (key_text(row.key), row.kind, row.default, row.description)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return lines
