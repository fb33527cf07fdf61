"""The layout of ``fleet/api/routes/``: each module there is a router, and none leans on another.

What two pages share (labels, a form's check, a section of a page) lives beside the routes in
``fleet/api/``, so that a route module can be read, moved or removed alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROUTES = Path(__file__).resolve().parents[2] / "fleet" / "api" / "routes"
PACKAGE = "fleet.api.routes"
MODULES = sorted(path for path in ROUTES.glob("*.py") if path.name != "__init__.py")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text("utf-8"), filename=str(path))


def route_imports(tree: ast.Module) -> list[str]:
    """The route modules (or the routes package) that ``tree`` imports, anywhere in it."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level > 0 or module == PACKAGE or module.startswith(PACKAGE + "."):
                found.append("." * node.level + module)
        elif isinstance(node, ast.Import):
            found.extend(
                alias.name
                for alias in node.names
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + ".")
            )
    return found


def defines_router(tree: ast.Module) -> bool:
    """Whether the module binds ``router`` at its top level to an ``APIRouter(...)``."""
    for node in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        if not isinstance(value, ast.Call):
            continue
        called = value.func
        name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
        if name == "APIRouter" and any(
            isinstance(target, ast.Name) and target.id == "router" for target in targets
        ):
            return True
    return False


def test_there_are_route_modules() -> None:
    assert len(MODULES) > 10


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_a_route_module_imports_no_other_route_module(path: Path) -> None:
    assert route_imports(_tree(path)) == [], (
        f"{path.name} imports from another route module: move what they share to fleet/api/"
    )


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_a_route_module_defines_a_router(path: Path) -> None:
    assert defines_router(_tree(path)), (
        f"{path.name} defines no router: code that serves no route belongs in fleet/api/"
    )


def test_the_checks_catch_what_they_are_for() -> None:
    """The two checks above, on code that breaks them (so that they cannot pass vacuously)."""
    leaning = ast.parse(
        "from fleet.api.routes.alerts import alert_words\n"
        "from fleet.api.routes import placement\n"
        "from . import users\n"
        "import fleet.api.routes.auth\n"
    )
    assert route_imports(leaning) == [
        "fleet.api.routes.alerts",
        "fleet.api.routes",
        ".",
        "fleet.api.routes.auth",
    ]
    assert not defines_router(ast.parse("def live_context() -> None: ...\n"))
    assert defines_router(ast.parse("router = APIRouter(tags=['x'])\n"))
    assert defines_router(ast.parse("router: APIRouter = fastapi.APIRouter()\n"))
