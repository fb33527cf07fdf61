"""One command-line style for the four programs: ``fleet``, ``kiosk-provision``, ``kiosk-agent``
and ``kiosk``.

Every program, whatever parses its arguments, speaks the same way:

- help laid out by :func:`render_help` (``Utilisation : ...``, sections ``Arguments``,
  ``Options``, ``Commandes``), every word of it in the program's language, French by default;
- a refusal goes through :func:`die`: ``Erreur : <what went wrong>``, then ``Que faire : <what
  to do>``, then the exit code (:data:`EXIT_REFUSED`, :data:`EXIT_USAGE` or the program's own);
- an unexpected exception goes through :func:`unexpected_errors`: one line that says where the
  details were written (never a traceback on the technician's screen unless ``--debug``), exit
  code :data:`EXIT_BUG`.

The words no program writes itself ("Utilisation", "Options", "[obligatoire]", a usage error)
are this package's ``cli`` catalog (``kiosk/locale/<lang>/LC_MESSAGES/cli.po``). No library's
private name is touched: the two daemons parse with :mod:`kiosk.cli.argparse_app` (argparse,
whose public ``format_help``, ``format_usage`` and ``error`` it overrides), the two tools with
:mod:`kiosk.cli.typer_app` (Typer's public ``cls=`` classes and ``main``).

This module imports nothing heavy: the agent (months of uptime) and the UI (start-up time) use
it. Typer's part is :mod:`kiosk.cli.typer_app`, imported by the tools alone.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NoReturn, ParamSpec, TypeVar

from kiosk.i18n import DEFAULT_LANGUAGE, translator

LOCALE_DIR: Final = Path(__file__).resolve().parent.parent / "locale"
DOMAIN: Final = "cli"

#: Exit codes, the same in the four programs (each documents its own beside these).
EXIT_OK: Final = 0
#: The program refused (a code already used, a user who exists): nothing was changed.
EXIT_REFUSED: Final = 1
#: The command line or the configuration must be fixed.
EXIT_USAGE: Final = 2
#: An unexpected error, a bug: the details are in the file the message names (sysexits'
#: EX_SOFTWARE).
EXIT_BUG: Final = 70
#: Interrupted with Ctrl-C (128 + SIGINT, as a shell says).
EXIT_INTERRUPTED: Final = 130

DEBUG_OPTION: Final = "--debug"
#: The help is wrapped to the terminal, at most this wide.
MAX_WIDTH: Final = 100
NAMES_COLUMN: Final = 28


def _identity(message: str) -> str:
    return message


@dataclass
class _Speaking:
    language: str = DEFAULT_LANGUAGE
    gettext: Callable[[str], str] = _identity


_speaking = _Speaking()


def N_(message: str) -> str:
    """Mark ``message`` for the catalog; it is translated where it is shown."""
    return message


def speak(language: str) -> None:
    """Say the shared words (:func:`die`'s, the help's) in ``language`` from now on.

    Process-wide, like the program's own language: each program calls it once it knows which
    language it speaks, before it parses its arguments.
    """
    _speaking.language = language
    _speaking.gettext = translator(LOCALE_DIR, DOMAIN, language)


def _(message: str) -> str:
    """``message`` (one of this package's) in the language given to :func:`speak`."""
    return _speaking.gettext(message)


#: The shared words, for the adapters (:mod:`kiosk.cli.typer_app`).
words = _


def language() -> str:
    return _speaking.language


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def explain(message: str, hint: str | None = None) -> None:
    """Say what went wrong (``message``, in the program's language) and what to do (``hint``)
    on standard error, as :func:`die` does, for a caller that returns its exit code itself."""
    say(_("Error: {message}").format(message=message))
    if hint:
        say(_("What to do: {hint}").format(hint=hint))


def die(message: str, hint: str | None = None, code: int = EXIT_REFUSED) -> NoReturn:
    """Refuse: :func:`explain` what went wrong and what to do, then exit with ``code``.

    The exit is a :class:`SystemExit`, so that ``with`` blocks close on the way out and a test
    runner sees the code.
    """
    explain(message, hint)
    raise SystemExit(code)


def wants_debug(argv: Sequence[str]) -> bool:
    """Whether the command line asks for tracebacks (read before parsing, like ``--lang``)."""
    return DEBUG_OPTION in argv


def write_details(program: str, error: BaseException) -> Path | None:
    """Write ``error``'s traceback to a file of its own (readable by its owner alone); its path,
    or None if no file could be written."""
    import tempfile  # only when something went wrong: the daemons start without it
    import traceback
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    text = "".join(traceback.format_exception(error))
    # Under systemd the daemons' /tmp is private (PrivateTmp=yes): their state directory, which
    # systemd names in $STATE_DIRECTORY, is where a technician can find the file.
    state = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    folder = state if state and Path(state).is_dir() else None
    try:
        handle, name = tempfile.mkstemp(prefix=f"{program}-{stamp}-", suffix=".txt", dir=folder)
        with os.fdopen(handle, "w", encoding="utf-8") as details:
            details.write(text)
    except OSError:
        return None
    return Path(name)


def report_unexpected(program: str, error: BaseException, debug: bool) -> NoReturn:
    """One line for the technician, the details in a file (or here, with ``--debug``)."""
    kind = type(error).__name__
    if debug:
        import traceback

        traceback.print_exception(error, file=sys.stderr)
        say(
            _("{program}: unexpected error ({kind}), shown above.").format(
                program=program, kind=kind
            )
        )
        raise SystemExit(EXIT_BUG)
    path = write_details(program, error)
    if path is None:
        say(
            _(
                "{program}: unexpected error ({kind}). Run the command again with --debug to "
                "see its details."
            ).format(program=program, kind=kind)
        )
    else:
        say(
            _(
                "{program}: unexpected error ({kind}). Its details are in {path}: send that "
                "file with your report (or run the command again with --debug)."
            ).format(program=program, kind=kind, path=path)
        )
    raise SystemExit(EXIT_BUG)


def handle_unexpected(program: str, error: BaseException, debug: bool) -> NoReturn:
    """Ctrl-C becomes one word and :data:`EXIT_INTERRUPTED`; anything else nobody expected one
    line (:func:`report_unexpected`) and :data:`EXIT_BUG`."""
    if isinstance(error, KeyboardInterrupt):
        say(_("Interrupted."))
        raise SystemExit(EXIT_INTERRUPTED) from None
    report_unexpected(program, error, debug)


@contextlib.contextmanager
def unexpected_errors(program: str, debug: bool = False) -> Iterator[None]:
    """The top-level handler, around a block (see :func:`handle_unexpected`)."""
    try:
        yield
    except (KeyboardInterrupt, Exception) as error:  # noqa: BLE001 (the top-level handler)
        handle_unexpected(program, error, debug)


Params = ParamSpec("Params")
Result = TypeVar("Result")


def guarded(program: str) -> Callable[[Callable[Params, Result]], Callable[Params, Result]]:
    """Run a program's ``main(argv=None)`` under :func:`unexpected_errors` (``--debug`` read
    from ``argv``, else from the process's command line)."""

    def decorate(main: Callable[Params, Result]) -> Callable[Params, Result]:
        @functools.wraps(main)
        def run(*args: Params.args, **kwargs: Params.kwargs) -> Result:
            given = args[0] if args else kwargs.get("argv")
            argv = list(given) if isinstance(given, list | tuple) else sys.argv[1:]
            try:
                return main(*args, **kwargs)
            except (KeyboardInterrupt, Exception) as error:  # noqa: BLE001 (top-level handler)
                handle_unexpected(program, error, wants_debug(argv))

        return run

    return decorate


# -- Help --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One line of a help section: what to type (``-c, --config FICHIER``) and what it does."""

    names: str
    help: str = ""


@dataclass(frozen=True)
class HelpPage:
    """A program's (or a sub-command's) help, in its language, before it is laid out."""

    usage: str
    description: str = ""
    #: (title, entries): "Arguments", "Options", "Commands"; empty sections are left out.
    sections: Sequence[tuple[str, Sequence[Entry]]] = ()
    #: Printed after the sections as it is written (an example file keeps its lines).
    epilog: str = ""
    #: The epilog is prose to wrap (rather than text to keep as written).
    epilog_is_prose: bool = False


def help_width() -> int:
    return max(40, min(MAX_WIDTH, shutil.get_terminal_size().columns - 2))


def _paragraphs(text: str, width: int, indent: str = "  ") -> list[str]:
    import textwrap

    out = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        out.append(
            textwrap.fill(
                " ".join(paragraph.split()),
                width,
                initial_indent=indent,
                subsequent_indent=indent,
            )
        )
    return out


def usage_line(usage: str) -> str:
    return _("Usage: ") + usage


def render_help(page: HelpPage, width: int | None = None) -> str:
    """The help as the four programs print it."""
    import textwrap

    width = width or help_width()
    blocks = [usage_line(page.usage)]
    if page.description:
        blocks.append("\n\n".join(_paragraphs(page.description, width)))
    for title, entries in page.sections:
        if not entries:
            continue
        column = min(NAMES_COLUMN, max(len(entry.names) for entry in entries))
        lines = [_("{title}:").format(title=title)]
        for entry in entries:
            indent = " " * (2 + column + 2)
            wrapped = textwrap.wrap(" ".join(entry.help.split()), max(20, width - len(indent)))
            text = ("\n" + indent).join(wrapped)
            if len(entry.names) <= column:
                lines.append(f"  {entry.names.ljust(column)}  {text}".rstrip())
            else:
                lines.append(f"  {entry.names}")
                if text:
                    lines.append(indent + text)
        blocks.append("\n".join(lines))
    if page.epilog:
        if page.epilog_is_prose:
            blocks.append("\n\n".join(_paragraphs(page.epilog, width)))
        else:
            blocks.append(page.epilog.rstrip("\n"))
    return "\n\n".join(blocks) + "\n"


def default_note(value: object) -> str:
    return _("[default: {value}]").format(value=value)


def required_note() -> str:
    return _("[required]")


def envvar_note(name: str) -> str:
    return _("[env var: {name}]").format(name=name)


def help_hint(command: str) -> str:
    return _("Run '{command} --help' to see what it takes.").format(command=command)
