"""The shared command-line style for the Typer tools (``fleet``, ``kiosk-provision``).

:class:`App` is a ``typer.Typer`` whose group and commands (Typer's public ``cls=`` hook, the
classes its documentation shows subclassed) lay their help out with :func:`kiosk.cli.render_help`
and whose ``main`` is the top-level handler: a usage error is said in the tool's language through
:func:`kiosk.cli.die` (:data:`kiosk.cli.EXIT_USAGE`), an unexpected exception by
:func:`kiosk.cli.report_unexpected`. Typer runs in its non-standalone mode for that (its public
``main(standalone_mode=False)``), so none of its own English is printed: not its help panels,
not "Usage:", not "Try ... for help.".

The tool's own texts are translated where they are shown: ``translate`` is given to the
:class:`App` (``kiosk-provision`` declares its commands once, with English ``N_()`` texts, and
builds an :class:`App` per language); a tool whose texts are already in its language at import
(``fleet``) gives none.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePath
from typing import Any, ClassVar, Final, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup
from typer.models import CommandFunctionType

from kiosk.cli import (
    DEBUG_OPTION,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    N_,
    Entry,
    HelpPage,
    _,
    default_note,
    die,
    envvar_note,
    help_hint,
    render_help,
    required_note,
    say,
    speak,
    unexpected_errors,
    usage_line,
    wants_debug,
)
from kiosk.i18n import DEFAULT_LANGUAGE

Translate = Callable[[str], str]

#: The metavar of an option's value, by the Python type it is declared with.
TYPE_METAVARS: Final[dict[object, str]] = {
    str: N_("TEXT"),
    float: N_("NUMBER"),
    int: N_("INTEGER"),
    Path: N_("PATH"),
}
#: What an option takes when its type says nothing more (a Typer release may describe its
#: types otherwise: the help stays in French).
VALUE: Final = N_("VALUE")

#: Typer's usage errors (from its copy of Click), their words in the catalog; each group is
#: kept as typed. tests/test_cli_style.py runs each of them against the installed Typer.
USAGE_MESSAGES: Final = (
    (
        re.compile(r"No such command '(?P<name>.*)'\. Did you mean (?P<matches>.+)\?"),
        N_("No such command '{name}'. Did you mean {matches}?"),
    ),
    (re.compile(r"No such command '(?P<name>.*)'\."), N_("No such command '{name}'.")),
    (re.compile(r"Missing command\."), N_("Missing command.")),
    (
        re.compile(r"Got unexpected extra arguments? ?\(?s?\)? \((?P<names>.*)\)"),
        N_("Unexpected arguments: {names}."),
    ),
    (re.compile(r"Option '(?P<name>.+)' requires an argument\."), N_("{name} needs a value.")),
    (
        re.compile(r"Option '(?P<name>.+)' requires (?P<count>\d+) arguments\."),
        N_("{name} needs {count} values."),
    ),
    (re.compile(r"Option '(?P<name>.+)' does not take a value\."), N_("{name} takes no value.")),
)


def _identity(message: str) -> str:
    return message


def _tool_translate(ctx: typer.Context) -> Translate:
    root = ctx.find_root().command
    return root.speech.translate if isinstance(root, Group) else _identity


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    head, dot, _rest = text.partition(". ")
    return head + "." if dot else text


def _shown_default(value: Any) -> str | None:
    if value is None or callable(value) or value == () or value == []:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, PurePath | str | int | float):
        return str(value)
    return None


def _declared_type(param: Any) -> tuple[object, Sequence[object]]:
    """The Python type a parameter was declared with, and its choices (if it has some)."""
    described = getattr(param, "type_descriptor", None)
    annotation = getattr(described, "annotation", None)
    choices = getattr(described, "choices", None) or ()
    return annotation, choices


def _value_metavar(param: Any) -> str:
    if param.metavar:
        return str(param.metavar)
    annotation, choices = _declared_type(param)
    if choices:
        return "[" + "|".join(str(getattr(c, "value", c)) for c in choices) + "]"
    return _(TYPE_METAVARS.get(annotation, VALUE))


def _argument_metavar(param: Any) -> str:
    metavar = str(param.metavar or (param.name or "").upper())
    if param.nargs == -1:
        metavar += "..."
    return metavar if param.required else f"[{metavar}]"


def _option_names(param: Any) -> str:
    names = ", ".join(param.opts)
    if param.secondary_opts:
        names += " / " + ", ".join(param.secondary_opts)
    if not param.is_flag and not getattr(param, "count", False):
        names += " " + _value_metavar(param)
    return names


def _notes(param: Any) -> list[str]:
    notes = []
    envvar = param.envvar if isinstance(param.envvar, str) else None
    if envvar and getattr(param, "show_envvar", False):
        notes.append(envvar_note(envvar))
    shown = _shown_default(param.default)
    if (
        shown is not None
        and param.show_default is not False
        and not getattr(param, "is_flag", False)
        and not param.required
    ):
        notes.append(default_note(shown))
    if param.required:
        notes.append(required_note())
    return notes


def _with_notes(text: str, notes: list[str]) -> str:
    return " ".join([text, *notes]).strip()


def help_page(command: Any, ctx: typer.Context) -> HelpPage:
    """``command``'s help, every text in the tool's language."""
    tool_translate = _tool_translate(ctx)

    def translate(text: str) -> str:
        return tool_translate(text) if text else ""

    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    arguments = [p for p in params if p.param_type_name == "argument"]
    options = [p for p in params if p.param_type_name == "option"]
    pieces = ["[OPTIONS]", *(_argument_metavar(p) for p in arguments)]
    if isinstance(command, TyperGroup):
        pieces.append(_("COMMAND [ARGS]..."))
    argument_entries = [
        Entry(_argument_metavar(p).strip("[]"), _with_notes(translate(p.help or ""), _notes(p)))
        for p in arguments
    ]
    option_entries = []
    for option in options:
        if option.name == "help":
            text = _("Show this help and exit.")
        else:
            text = _with_notes(translate(option.help or ""), _notes(option))
        option_entries.append(Entry(_option_names(option), text))
    if ctx.parent is None:
        option_entries.append(
            Entry(DEBUG_OPTION, _("Show an unexpected error's details here (for a developer)."))
        )
    command_entries = []
    if isinstance(command, TyperGroup):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                short = sub.short_help or sub.help or ""
                command_entries.append(Entry(name, _first_sentence(translate(short))))
    return HelpPage(
        usage=f"{ctx.command_path} " + " ".join(pieces),
        description=translate(command.help or ""),
        sections=[
            (_("Arguments"), argument_entries),
            (_("Options"), option_entries),
            (_("Commands"), command_entries),
        ],
        epilog=translate(command.epilog or ""),
        epilog_is_prose=True,
    )


def usage_message(error: Any) -> str:
    """A usage error of Typer's in the shared words."""
    kind = type(error).__name__
    param = getattr(error, "param", None)
    if kind == "NoSuchOption":
        message = _("No such option: {name}").format(name=error.option_name)
        if error.possibilities:
            names = ", ".join(sorted(error.possibilities))
            message += " " + _("(did you mean {names}?)").format(names=names)
        return message
    if param is not None:
        if param.param_type_name == "option":
            name = " / ".join(repr(opt) for opt in param.opts)
        else:
            name = repr(param.metavar or (param.name or "").upper())
        if kind == "MissingParameter":
            if param.param_type_name == "option":
                return _("Missing option {name}.").format(name=name)
            return _("Missing argument {name}.").format(name=name)
        annotation, choices = _declared_type(param)
        if annotation in TYPE_METAVARS or choices:
            expected = _value_metavar(param)
            low, high = getattr(param, "min", None), getattr(param, "max", None)
            if low is not None and high is not None:
                expected = _("{kind} from {min} to {max}").format(kind=expected, min=low, max=high)
            return _("Invalid value for {name}: {kind} expected.").format(name=name, kind=expected)
        return _("Invalid value for {name}: {message}").format(name=name, message=error.message)
    message = str(getattr(error, "message", error))
    for pattern, text in USAGE_MESSAGES:
        found = pattern.fullmatch(message)
        if found:
            return _(text).format(**found.groupdict())
    return message


def _is_click_error(error: BaseException) -> bool:
    """Typer's own errors (its copy of Click's ``ClickException``), known by their interface."""
    return isinstance(getattr(error, "exit_code", None), int) and callable(
        getattr(error, "format_message", None)
    )


def show_click_error(error: Exception) -> NoReturn:
    ctx = getattr(error, "ctx", None)
    code = int(getattr(error, "exit_code", EXIT_USAGE))
    if type(error).__name__ == "NoArgsIsHelpError":
        print(error.format_message())  # type: ignore[attr-defined]
        raise SystemExit(code)
    if ctx is None:
        die(usage_message(error), code=code)
    say(ctx.get_usage())
    die(usage_message(error), help_hint(ctx.command_path), code=code)


@dataclass(frozen=True)
class Speech:
    """The language a tool speaks, and what translates its own texts into it."""

    language: str = DEFAULT_LANGUAGE
    translate: Translate = _identity


class _SharedHelp:
    """Click's public ``format_usage`` and ``format_help``, in the shared layout."""

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        formatter.write(usage_line(help_page(self, ctx).usage) + "\n")

    def format_help(self, ctx: Any, formatter: Any) -> None:
        formatter.write(render_help(help_page(self, ctx)))


class Command(_SharedHelp, TyperCommand):
    """A sub-command laid out in the shared style."""


class Group(_SharedHelp, TyperGroup):
    """A tool (or one of its command groups), with the top-level handler in :meth:`main`.

    :class:`App` makes a subclass per tool that sets :attr:`speech`.
    """

    speech: ClassVar[Speech] = Speech()

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        speak(self.speech.language)
        if not standalone_mode:
            return super().main(
                args, prog_name, complete_var, standalone_mode, windows_expand_args, **extra
            )
        argv = list(sys.argv[1:] if args is None else args)
        debug = wants_debug(argv)
        argv = [arg for arg in argv if arg != DEBUG_OPTION]
        program = prog_name or self.name or "kiosk"
        with unexpected_errors(program, debug):
            try:
                result = super().main(
                    argv, prog_name, complete_var, False, windows_expand_args, **extra
                )
            except typer.Abort:
                say(_("Aborted."))
                raise SystemExit(EXIT_REFUSED) from None
            except Exception as error:
                if not _is_click_error(error):
                    raise
                show_click_error(error)
        raise SystemExit(result if isinstance(result, int) else EXIT_OK)


class App(typer.Typer):
    """A ``typer.Typer`` in the shared style (see the module's documentation)."""

    def __init__(
        self,
        *,
        language: str = DEFAULT_LANGUAGE,
        translate: Translate = _identity,
        **kwargs: Any,
    ) -> None:
        group = type("Group", (Group,), {"speech": Speech(language, translate)})
        kwargs.setdefault("cls", group)
        kwargs.setdefault("add_completion", False)
        kwargs.setdefault("rich_markup_mode", None)
        kwargs.setdefault("pretty_exceptions_enable", False)
        super().__init__(**kwargs)

    def command(
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        return super().command(name, cls=cls or Command, **kwargs)
