"""The fleet's settings: documented from their declaration, every one of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from fleet.core.config import FleetSettings, settings_markdown
from fleet.enrolment import EnrolmentSettings
from kiosk.contract.settings_doc import settings_rows, settings_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "fleet-settings.md"


def test_the_page_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == settings_markdown(), (
        "docs/fleet-settings.md is stale: run "
        "`python -m fleet.core.config > docs/fleet-settings.md`"
    )


@pytest.mark.parametrize("model", [FleetSettings, EnrolmentSettings])
def test_every_setting_is_on_the_page_with_its_bounds(model: type[BaseModel]) -> None:
    text = settings_markdown()
    prefix = "FLEET_" if model is FleetSettings else "FLEET_ENROLMENT_"
    for name, field in model.model_fields.items():
        assert f"`{prefix}{name.upper()}`" in text, name
        assert field.description, f"{name} has no description"
    rows = {row.key: row for row in settings_rows(FleetSettings)}
    assert rows["observatory_min_sessions"].kind == "integer, 5 to 1000"
    assert rows["ingest_batch_wait_s"].kind == "number, more than 0, at most 5.0"
    assert rows["broker_password"].kind == "secret text or none"


class _Section(BaseModel):
    port: int = Field(default=1883, ge=1, le=65535, description="The port.")


class _Nested(BaseModel):
    mqtt: _Section = _Section()
    name: str = Field(default="", description="A name | with a bar.")


def test_nested_sections_flatten_and_cells_are_escaped() -> None:
    lines = settings_table(_Nested)
    assert lines[2] == "| `mqtt.port` | integer, 1 to 65535 | `1883` | The port. |"
    assert lines[3] == "| `name` | text | empty | A name \\| with a bar. |"


def test_a_setting_without_a_description_is_refused() -> None:
    class Bare(BaseModel):
        undocumented: int = 3

    with pytest.raises(ValueError, match="undocumented"):
        settings_table(Bare)
