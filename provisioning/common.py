"""What every ``kiosk-provision`` command shares: the tool in its language, its exit codes, the
options most commands take, and the way it runs ``systemctl``.

The commands are plain functions declared once, with their texts in English (``N_``): the
:class:`kiosk.cli.typer_app.App` that :func:`provisioning.cli.build_app` makes for a language
translates them where they are shown, and hands each command its :class:`Tool` (``ctx.obj``).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.console import Console

from kiosk.cli import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, N_
from kiosk.i18n import DEFAULT_LANGUAGE, translator

LOCALE_DIR: Final = Path(__file__).parent / "locale"
DOMAIN: Final = "provisioning"
SERVICES: Final = ("kiosk-agent.service", "kiosk-ui.service")
#: Exit codes: done; refused or failed (see what to do); the command line must be fixed.
#: (``check`` has its own: 0 all pass, 1 some warn, 2 some fail; 70 is an unexpected error.)
EXIT_FAILED: Final = EXIT_REFUSED

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "Tool", "run_command", "tool"]

#: Runs a command (systemctl); tests inject their own.
Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def run_command(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=False)


@dataclass(frozen=True)
class Tool:
    """The tool as one command sees it: its language, its ``_()``, what runs ``systemctl``."""

    language: str = DEFAULT_LANGUAGE
    runner: Runner = run_command
    out: Console = field(default_factory=lambda: Console(highlight=False))
    err: Console = field(default_factory=lambda: Console(stderr=True, highlight=False))

    def _(self, message: str) -> str:
        return translator(LOCALE_DIR, DOMAIN, self.language)(message)


def tool(ctx: typer.Context) -> Tool:
    found = ctx.find_object(Tool)
    return found if found is not None else Tool()


EtcDir = Annotated[
    Path, typer.Option("--etc-dir", help=N_("Configuration directory of the terminal."))
]
NoSystemctl = Annotated[
    bool, typer.Option("--no-systemctl", help=N_("Do not touch the services (tests, images)."))
]
FleetCa = Annotated[
    Path | None, typer.Option("--ca", help=N_("CA certificate of the fleet (HTTPS)."))
]
