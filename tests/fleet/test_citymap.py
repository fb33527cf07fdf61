"""The plan of the metropole: projection and the SVG drawn from terminals."""

from __future__ import annotations

from xml.etree import ElementTree

from fleet import citymap

SVG = "{http://www.w3.org/2000/svg}"


def terminal(
    terminal_id: str, state: str, lat: float | None, lon: float | None
) -> citymap.PlacedTerminal:
    return citymap.PlacedTerminal(terminal_id, state, state, "Mairie", "Bègles", lat, lon)


def test_projection_puts_north_up_and_west_left() -> None:
    west_x, _y = citymap.project(44.85, citymap.WEST)
    east_x, _y = citymap.project(44.85, citymap.EAST)
    _x, north_y = citymap.project(citymap.NORTH, -0.6)
    _x, south_y = citymap.project(citymap.SOUTH, -0.6)
    assert west_x == citymap.MARGIN
    assert east_x == citymap.WIDTH - citymap.MARGIN
    assert north_y == citymap.MARGIN
    assert south_y == round(citymap.height() - citymap.MARGIN, 1)


def test_points_outside_the_box_are_clamped_to_its_edge() -> None:
    assert citymap.project(50.0, 3.0) == citymap.project(citymap.NORTH, citymap.EAST)
    assert not citymap.in_box(44.8, 0.55)
    assert citymap.in_box(44.8, -0.55)


def test_the_plan_is_valid_svg_with_a_titled_link_per_placed_terminal() -> None:
    svg = citymap.render_plan(
        [
            terminal("bdx-001", "online", 44.80, -0.55),
            terminal("bdx-002", "lost", 44.84, -0.58),
            terminal("bdx-003", "online", None, None),
        ],
        "Plan",
        "2 placed",
    )

    root = ElementTree.fromstring(svg)
    assert root.find(f"{SVG}title") is not None
    assert root.find(f"{SVG}desc") is not None
    links = root.findall(f"{SVG}a")
    assert [link.get("id") for link in links] == ["plan-bdx-001", "plan-bdx-002"]
    lost = links[1]
    assert lost.get("href") == "/terminals/bdx-002"
    assert lost.get("data-state") == "lost"
    title = lost.find(f"{SVG}title")
    assert title is not None
    assert title.text == "bdx-002 · Mairie · Bègles · lost"
    dot = lost.find(f"{SVG}circle")
    assert dot is not None
    assert dot.get("fill") == citymap.STATE_COLOURS["lost"]
    # The communes are named: in the shipped outlines' file, or on the plain plan without it.
    assert "Bordeaux" in (citymap.communes_svg() or svg)


def test_names_are_escaped() -> None:
    svg = citymap.render_plan([terminal("bdx-<x>", "online", 44.8, -0.55)], "a & b", "<desc>")
    ElementTree.fromstring(svg)
    assert "<x>" not in svg
