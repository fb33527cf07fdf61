"""What each side may import of the others: knowledge that crosses a package line sits in one place.

- ``fleet/`` and ``provisioning/`` import of ``kiosk`` only the contract (``kiosk.contract.*``:
  what crosses between the terminal's programs and the fleet), the shared translations
  (``kiosk.i18n``) and the shared command-line support (``kiosk.cli.*``): issue 18 asks for one
  command-line style for the four programs (``kiosk``, ``kiosk-agent``, ``fleet``,
  ``kiosk-provision``), with one ``die(message, hint)``, one top-level handler and French help, so
  that support is shared on purpose. Terminal-side code the fleet needs to run (the demo's
  simulated residents, for instance) is started as a program, never imported.
- The kiosk UI (``kiosk.ui``) never imports the agent (``kiosk.agent``), nor the agent the UI:
  they speak over the local socket (``kiosk.contract.local``).

Every import counts, wherever it is: at module level, inside a function, under
``if TYPE_CHECKING:``, relative, and ``importlib.import_module(...)`` or ``__import__(...)`` with a
literal name. A program started as ``python -m kiosk...`` (a string in a subprocess call) is not
an import and is not reported. ``bench/`` and ``tests/`` are not bound: they may import anything.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: What ``fleet`` and ``provisioning`` may import of ``kiosk``.
SHARED_WITH_THE_FLEET = ("kiosk.contract", "kiosk.i18n", "kiosk.cli")


def within(name: str, package: str) -> bool:
    """Whether the dotted ``name`` is ``package`` or something inside it."""
    return name == package or name.startswith(package + ".")


def kiosk_but_shared(name: str) -> bool:
    return within(name, "kiosk") and not any(within(name, ok) for ok in SHARED_WITH_THE_FLEET)


@dataclass(frozen=True)
class Rule:
    """The packages (directories under the root) bound by ``forbids``, and why."""

    directories: tuple[str, ...]
    forbids: Callable[[str], bool]
    why: str


RULES = {
    "fleet-and-provisioning": Rule(
        ("fleet", "provisioning"),
        kiosk_but_shared,
        "fleet and provisioning import of kiosk only kiosk.contract, kiosk.i18n and kiosk.cli",
    ),
    "ui": Rule(
        ("kiosk/ui",),
        lambda name: within(name, "kiosk.agent"),
        "the kiosk UI does not import the agent (they speak over kiosk.contract.local)",
    ),
    "agent": Rule(
        ("kiosk/agent",),
        lambda name: within(name, "kiosk.ui"),
        "the agent does not import the kiosk UI (it may run it as a program)",
    ),
}


@dataclass(frozen=True)
class Imported:
    """One name a module imports, where, and the statement as written."""

    line: int
    name: str
    statement: str


def _package_of(module: str, is_package: bool) -> str:
    return module if is_package else module.rpartition(".")[0]


def _resolve(name: str, level: int, package: str) -> str:
    """The absolute name of ``name`` imported ``level`` dots up from ``package``."""
    if level == 0:
        return name
    parts = package.split(".") if package else []
    base = parts[: len(parts) - (level - 1)] if level > 1 else parts
    return ".".join([*base, name] if name else base)


def _literal_import(node: ast.Call) -> str | None:
    """The literal module of ``importlib.import_module("x")``, ``import_module("x")`` or
    ``__import__("x")``; None for any other call."""
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if called not in {"import_module", "__import__"} or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def imports_of(source: str, module: str, is_package: bool = False) -> Iterator[Imported]:
    """Every module ``source`` (the module ``module``) imports, anywhere in it.

    ``from a.b import c`` imports ``a.b.c`` (a submodule or a name of ``a.b``): both are judged
    by the full name, so ``from kiosk import agent`` is ``kiosk.agent``.
    """
    package = _package_of(module, is_package)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Imported(node.lineno, alias.name, f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module or "", node.level, package)
            names = ", ".join(alias.name for alias in node.names)
            statement = f"from {'.' * node.level}{node.module or ''} import {names}"
            for alias in node.names:
                full = base if alias.name == "*" else f"{base}.{alias.name}"
                yield Imported(node.lineno, full, statement)
        elif isinstance(node, ast.Call) and (literal := _literal_import(node)) is not None:
            level = len(literal) - len(literal.lstrip("."))
            name = _resolve(literal.lstrip("."), level, package)
            yield Imported(node.lineno, name, ast.unparse(node))


def forbidden_imports(source: str, module: str, path: str, rule: Rule) -> list[str]:
    """``path:line: statement`` for each import statement of ``source`` that ``rule`` forbids
    (once, however many of its names are forbidden)."""
    is_package = path.endswith("__init__.py")
    found = (
        f"{path}:{it.line}: {it.statement}"
        for it in imports_of(source, module, is_package)
        if rule.forbids(it.name)
    )
    return list(dict.fromkeys(found))


def modules_under(directory: str) -> Iterator[tuple[Path, str]]:
    """Each ``.py`` file under ``directory`` and its module name."""
    for path in sorted((ROOT / directory).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield path, ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("rule_name", sorted(RULES))
def test_no_package_imports_what_it_must_not(rule_name: str) -> None:
    rule = RULES[rule_name]
    checked = 0
    problems: list[str] = []
    for directory in rule.directories:
        for path, module in modules_under(directory):
            checked += 1
            source = path.read_text(encoding="utf-8")
            problems += forbidden_imports(source, module, str(path.relative_to(ROOT)), rule)
    assert checked > 0, f"no module found under {rule.directories}"
    assert not problems, rule.why + ":\n" + "\n".join(problems)


CULPRIT = """
import importlib
import subprocess
import sys
from typing import TYPE_CHECKING

import kiosk.contract.mqtt
from kiosk import cli, i18n
from kiosk.contract.local import Heartbeat

if TYPE_CHECKING:
    from kiosk.agent.config import AgentSettings


def later() -> None:
    from kiosk import __version__
    import kiosk.agentlink
    from ..ui import home
    importlib.import_module("kiosk.agent.sensors")
    subprocess.run([sys.executable, "-m", "kiosk.agent", "--help"])
    subprocess.run(["python", "-m", "kiosk.ui.main"])
"""


def test_the_checker_reports_each_forbidden_import_with_its_place() -> None:
    fleet = RULES["fleet-and-provisioning"]
    found = forbidden_imports(CULPRIT, "fleet.culprit", "fleet/culprit.py", fleet)
    assert found == [
        "fleet/culprit.py:12: from kiosk.agent.config import AgentSettings",
        "fleet/culprit.py:16: from kiosk import __version__",
        "fleet/culprit.py:17: import kiosk.agentlink",
        "fleet/culprit.py:19: importlib.import_module('kiosk.agent.sensors')",
    ]


def test_the_checker_resolves_relative_imports_and_sees_the_ui_importing_the_agent() -> None:
    ui = RULES["ui"]
    source = "from ..agent import settings\nfrom . import home\nfrom kiosk import agentlink\n"
    found = forbidden_imports(source, "kiosk.ui.backlight", "kiosk/ui/backlight.py", ui)
    assert found == ["kiosk/ui/backlight.py:1: from ..agent import settings"]
    agent = RULES["agent"]
    found = forbidden_imports(CULPRIT, "kiosk.agent.culprit", "kiosk/agent/culprit.py", agent)
    assert found == ["kiosk/agent/culprit.py:18: from ..ui import home"]
