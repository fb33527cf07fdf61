"""The shared command-line style for the two daemons (``kiosk-agent``, ``kiosk``): argparse.

argparse rather than Typer there: the agent runs for months and the UI must start fast, and
Typer with its click would stay loaded only to read a few options. :class:`Parser` overrides
argparse's public ``format_usage``, ``format_help`` and ``error`` (none of its private names):
the help is :func:`kiosk.cli.render_help`'s, a refusal :func:`kiosk.cli.die`'s.
"""

from __future__ import annotations

import argparse
import re
from typing import Any, Final, NoReturn

from kiosk.cli import (
    DEBUG_OPTION,
    EXIT_USAGE,
    N_,
    Entry,
    HelpPage,
    _,
    die,
    help_hint,
    render_help,
    say,
    usage_line,
    words,
)

#: argparse's own messages (Python 3.11 to 3.13), in the order they are tried; each group is
#: kept as typed (an option's name, a value).
ARGPARSE_MESSAGES: Final = (
    (
        re.compile(r"the following arguments are required: (?P<names>.+)"),
        N_("the following arguments are required: {names}"),
    ),
    (re.compile(r"unrecognized arguments: (?P<names>.+)"), N_("unknown arguments: {names}")),
    (re.compile(r"argument (?P<name>\S+): expected one argument"), N_("{name} needs a value.")),
    (
        re.compile(
            r"argument (?P<name>\S+): invalid choice: (?P<value>.+?) \(choose from "
            r"(?P<choices>.+)\)"
        ),
        N_("{name} cannot be {value}: choose among {choices}."),
    ),
    (
        re.compile(r"argument (?P<name>\S+): invalid (?P<type>\S+) value: (?P<value>.+)"),
        N_("{name} cannot be {value}."),
    ),
    (
        re.compile(r"argument (?P<name>\S+): ignored explicit argument (?P<value>.+)"),
        N_("{name} takes no value (not {value})."),
    ),
    (
        re.compile(r"argument (?P<name>\S+): not allowed with argument (?P<other>.+)"),
        N_("{name} cannot be given with {other}."),
    ),
    (
        re.compile(r"ambiguous option: (?P<name>\S+) could match (?P<names>.+)"),
        N_("{name} could be {names}: type it in full."),
    ),
)


def translate_argparse(message: str) -> str:
    """argparse's refusal ``message`` in the shared words (as written if it is a new one)."""
    for pattern, text in ARGPARSE_MESSAGES:
        found = pattern.fullmatch(message)
        if found:
            return words(text).format(**found.groupdict())
    return message


class Parser(argparse.ArgumentParser):
    """An argparse parser that speaks like the other programs: help by :func:`render_help`,
    refusals by :func:`die` (:data:`EXIT_USAGE`), ``-h, --help`` and ``--debug`` declared.

    Declare options with :meth:`add_argument` on the parser itself (not in groups): the help
    lists them in that order.
    """

    def __init__(
        self,
        prog: str,
        description: str,
        epilog: str = "",
        *,
        epilog_is_prose: bool = False,
        usage: str | None = None,
    ) -> None:
        super().__init__(prog=prog, description=description, add_help=False, allow_abbrev=False)
        self._declared: list[argparse.Action] = []
        self._epilog_text = epilog
        self._epilog_is_prose = epilog_is_prose
        self._usage_text = usage or f"{prog} [OPTIONS]"
        self._own = [
            self.add_argument("-h", "--help", action="help", help=_("Show this help and exit.")),
            self.add_argument(
                DEBUG_OPTION,
                action="store_true",
                help=_("Show an unexpected error's details here (for a developer)."),
            ),
        ]

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self._declared.append(action)
        return action

    def _entry(self, action: argparse.Action) -> Entry | None:
        if action.help == argparse.SUPPRESS:
            return None
        names = ", ".join(action.option_strings) or str(action.metavar or action.dest)
        if action.option_strings and action.nargs != 0:
            names += f" {action.metavar or action.dest.upper()}"
        return Entry(names, action.help or "")

    def help_page(self) -> HelpPage:
        # The program's options first, then --help and --debug, as the Typer tools list them.
        actions = [a for a in self._declared if a not in self._own] + self._own
        entries = [entry for a in actions if (entry := self._entry(a))]
        return HelpPage(
            usage=self._usage_text,
            description=self.description or "",
            sections=[(_("Options"), entries)],
            epilog=self._epilog_text,
            epilog_is_prose=self._epilog_is_prose,
        )

    def format_usage(self) -> str:
        return usage_line(self._usage_text) + "\n"

    def format_help(self) -> str:
        return render_help(self.help_page())

    def error(self, message: str) -> NoReturn:
        say(self.format_usage().rstrip("\n"))
        die(translate_argparse(message), help_hint(self.prog), code=EXIT_USAGE)
