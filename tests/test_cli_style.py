"""The four programs speak one way (kiosk/cli): help entirely in French (English on request), a
refusal as "Erreur : ..." then "Que faire : ..." with its documented exit code, an unexpected
error as one line that names the file with its details."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Annotated

import pytest
import typer
import typer.main
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from kiosk import cli
from kiosk.cli import EXIT_BUG, EXIT_USAGE
from kiosk.cli.argparse_app import Parser
from kiosk.cli.typer_app import App
from tests.fleet.english import ENGLISH_WORDS, WORD, without_names

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
#: Every catalog a program's help or refusals draw on.
CATALOGS = (
    ROOT / "kiosk" / "locale" / "fr" / "LC_MESSAGES" / "cli.po",
    ROOT / "provisioning" / "locale" / "fr" / "LC_MESSAGES" / "provisioning.po",
    ROOT / "kiosk" / "agent" / "locale" / "fr" / "LC_MESSAGES" / "agent.po",
    ROOT / "kiosk" / "ui" / "locale" / "fr" / "LC_MESSAGES" / "kiosk.po",
    ROOT / "fleet" / "locale" / "fr" / "LC_MESSAGES" / "fleet.po",
)
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdfr]|%%|\{[^{}]*\}")
#: What a help shows as it is typed: options, paths, file names, quoted commands, and the
#: values the agent's log level takes.
TYPED = re.compile(
    r"--?[\w-]+|/[\w./<>-]+|\b[\w-]+\.(?:toml|json|png|pem)\b|«[^»]*»|\b[a-z0-9]+(?:_[a-z0-9]+)+\b"
)
VALUES = ("debug", "info", "warning", "error", "fr", "en", "https")


@cache
def catalog_runs() -> tuple[str, ...]:
    """The literal runs (several words between placeholders) of every English message whose
    French differs: none may be left in a French help."""
    runs: set[str] = set()
    for path in CATALOGS:
        with path.open("rb") as handle:
            catalog = read_po(handle, locale="fr")
        for message in catalog:
            if not message.id or not message.string or isinstance(message.id, tuple):
                continue
            french = str(message.string)
            for run in PLACEHOLDER.split(str(message.id)):
                run = " ".join(run.split()).strip(" .,:;()«»-—'")
                if len(run) >= 12 and " " in run and run not in french:
                    runs.add(run)
    return tuple(sorted(runs, key=len, reverse=True))


def english_left(text: str, allowed: tuple[str, ...] = ()) -> list[str]:
    text = " ".join(text.split())
    found = [run for run in catalog_runs() if run in text]
    text = without_names(TYPED.sub(" ", text), allowed)
    found += sorted(
        {w for w in WORD.findall(text) if w.lower() in ENGLISH_WORDS and w not in VALUES}
    )
    return found


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "COLUMNS": "200",
        "NO_COLOR": "1",
        "QT_QPA_PLATFORM": "offscreen",
        **(env or {}),
    }
    for name in ("KIOSK_LANG", "FLEET_DEFAULT_LANGUAGE"):
        if name not in (env or {}):
            environment.pop(name, None)
    return subprocess.run(
        [str(BIN / argv[0]), *argv[1:]],
        capture_output=True,
        text=True,
        env=environment,
        timeout=90,
        check=False,
    )


def commands_of(help_text: str) -> tuple[str, ...]:
    """The sub-command names a help lists (typed as they are)."""
    _head, _title, section = help_text.partition("Commandes :")
    return tuple(line.split()[0] for line in section.splitlines() if line.startswith("  "))


HELPS = [
    ("fleet", "--help"),
    ("fleet", "terminals", "locate", "--help"),
    ("fleet", "content", "--help"),
    ("kiosk-provision", "--help"),
    ("kiosk-provision", "enroll", "--help"),
    ("kiosk-agent", "--help"),
    pytest.param(("kiosk", "--help"), marks=pytest.mark.qt),
]


@pytest.mark.parametrize("argv", HELPS, ids=lambda argv: " ".join(argv))
def test_every_help_is_french_through_and_through(argv: tuple[str, ...]) -> None:
    done = run(*argv)
    assert done.returncode == 0, done.stderr
    shown = done.stdout
    assert shown.startswith(f"Utilisation : {argv[0]}"), shown
    assert "Options :" in shown
    assert "Afficher cette aide et quitter." in shown
    # The agent's example of a configuration file is TOML, typed as it is.
    read = shown.partition("Exemple de fichier de configuration")[0]
    typed = (*argv, *commands_of(shown), "FLEET_")
    assert english_left(read, typed) == [], shown


def _sub_commands(group: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in sorted((getattr(group, "commands", None) or {}).items()):
        found += _sub_commands(command, (*path, name))
    return found


@pytest.mark.parametrize("program", ["fleet", "kiosk-provision"])
def test_and_so_is_every_sub_command_s(program: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from fleet.cli import app as fleet
    from provisioning.cli import build_app

    monkeypatch.setenv("COLUMNS", "200")
    app = fleet if program == "fleet" else build_app("fr")
    paths = _sub_commands(typer.main.get_command(app))
    assert len(paths) > 5
    for path in paths:
        shown = CliRunner().invoke(app, [*path, "--help"], prog_name=program).output
        assert shown.startswith(f"Utilisation : {program}"), shown
        typed = (program, *path, *commands_of(shown), "FLEET_")
        assert english_left(shown, typed) == [], shown


def test_and_english_when_asked() -> None:
    provision = run("kiosk-provision", "--lang", "en", "enroll", "--help").stdout
    assert provision.startswith("Usage: kiosk-provision enroll [OPTIONS]")
    assert "Show this help and exit." in provision
    assert "[required]" in provision
    assert "Utilisation" not in provision
    agent = run("kiosk-agent", "--help", "--lang", "en").stdout
    assert agent.startswith("Usage: kiosk-agent")
    assert "Options:" in agent
    fleet = run("fleet", "--help", env={"FLEET_DEFAULT_LANGUAGE": "en"}).stdout
    assert "Commands:" in fleet


@pytest.mark.parametrize(
    ("argv", "code", "message", "hint"),
    [
        # The program's own refusal, through die(message, hint, code).
        (
            ("kiosk-provision", "check", "--broker", "nohost"),
            EXIT_USAGE,
            "Erreur : --broker doit être de la forme hôte:port.",
            "Que faire : Donnez le nom et le port du broker",
        ),
        # Typer's usage errors, said again in the shared words.
        (
            ("fleet", "terminals", "locate", "bdx-001", "--lat", "nord", "--lon", "-0.5"),
            EXIT_USAGE,
            "Erreur : Valeur invalide pour '--lat' : NOMBRE attendu.",
            "Que faire : Lancez « fleet terminals locate --help »",
        ),
        (
            ("kiosk-provision", "enroll", "--fleet", "https://parc.example"),
            EXIT_USAGE,
            "Erreur : Option manquante : '--code'.",
            "Que faire : Lancez « kiosk-provision enroll --help »",
        ),
        (
            ("fleet", "nope"),
            EXIT_USAGE,
            "Erreur : Commande inconnue : 'nope'.",
            "Que faire : Lancez « fleet --help »",
        ),
        # argparse's, likewise.
        (
            ("kiosk-agent", "--log-level", "loud"),
            EXIT_USAGE,
            "Erreur : --log-level ne peut pas valoir 'loud' : choisissez parmi",
            "Que faire : Lancez « kiosk-agent --help »",
        ),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else "",
)
def test_a_bad_input_is_refused_with_what_to_do_and_its_exit_code(
    argv: tuple[str, ...], code: int, message: str, hint: str
) -> None:
    done = run(*argv)
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert hint in done.stderr
    assert "Traceback" not in done.stderr
    assert english_left(done.stderr, (*argv, "nohost")) == [], done.stderr


def test_and_in_english_when_asked() -> None:
    done = run("kiosk-provision", "--lang", "en", "enroll", "--fleet", "https://parc.example")
    assert done.returncode == EXIT_USAGE
    assert "Error: Missing option '--code'." in done.stderr
    assert "What to do: Run 'kiosk-provision enroll --help' to see what it takes." in done.stderr


# -- The words of the installed Typer and Python, each said again --------------------------------


def _toy() -> App:
    app = App(help="A toy.")

    @app.command()
    def locate(
        terminal_id: Annotated[str, typer.Argument(help="Which.")],
        latitude: Annotated[float, typer.Option("--lat", help="Where.")],
        ingests: Annotated[int, typer.Option("--ingests", min=1, max=4)] = 1,
    ) -> None:
        pass

    @app.command()
    def crash() -> None:
        raise RuntimeError("something nobody expected")

    return app


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["nope"], "Commande inconnue : 'nope'."),
        (["locat"], "Commande inconnue : 'locat'. Vouliez-vous dire 'locate' ?"),
        (["locate", "--lat", "1"], "Argument manquant : 'TERMINAL_ID'."),
        (["locate", "x"], "Option manquante : '--lat'."),
        (["locate", "x", "--lat"], "--lat demande une valeur."),
        (["locate", "x", "--lat", "1", "y"], "Arguments en trop : y."),
        (["locate", "x", "--lat", "1", "--long"], "Option inconnue : --long"),
        (["locate", "x", "--lat", "a"], "Valeur invalide pour '--lat' : NOMBRE attendu."),
        (["locate", "x", "--lat", "1", "--ingests", "9"], "ENTIER de 1 à 4 attendu."),
    ],
)
def test_typer_s_usage_errors_are_all_said_in_french(argv: list[str], expected: str) -> None:
    result = CliRunner().invoke(_toy(), argv)
    assert result.exit_code == EXIT_USAGE
    assert expected in result.output
    for english in ("Missing", "No such", "Got unexpected", "requires", "Invalid", "Try "):
        assert english not in result.output


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], "ces arguments sont obligatoires : FILE"),
        (["a", "b"], "arguments inconnus : b"),
        (["a", "--level"], "--level demande une valeur."),
        (["a", "--level", "x"], "--level ne peut pas valoir 'x' : choisissez parmi '1', '2'."),
        (["a", "--count", "x"], "--count ne peut pas valoir 'x'."),
    ],
)
def test_argparse_s_usage_errors_are_all_said_in_french(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.speak("fr")
    parser = Parser("toy", "A toy.")
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--level", choices=["1", "2"])
    parser.add_argument("--count", type=int)
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(argv)
    assert exited.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert expected in err
    assert err.startswith("Utilisation : toy [OPTIONS]\nErreur : ")


# -- The top-level handler --------------------------------------------------------------------


def test_an_unexpected_error_is_one_line_naming_its_details(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    result = CliRunner().invoke(_toy(), ["crash"], prog_name="toy")
    assert result.exit_code == EXIT_BUG
    assert "Traceback" not in result.output
    [details] = tmp_path.glob("toy-*.txt")
    line = result.output.strip()
    assert line.startswith("toy : erreur inattendue (RuntimeError).")
    assert str(details) in line
    assert "\n" not in line
    assert "something nobody expected" in details.read_text()
    shown = CliRunner().invoke(_toy(), ["crash", "--debug"], prog_name="toy")
    assert shown.exit_code == EXIT_BUG
    assert "Traceback" in shown.output
    assert "RuntimeError: something nobody expected" in shown.output


def test_the_daemons_handler_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under systemd, in the state directory it names (their /tmp is private)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "nowhere"))
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    cli.speak("fr")

    @cli.guarded("toy")
    def main(argv: list[str] | None = None) -> int:
        raise KeyError("x")

    with pytest.raises(SystemExit) as exited:
        main([])
    assert exited.value.code == EXIT_BUG
    assert len(list(tmp_path.glob("toy-*.txt"))) == 1


def test_the_shared_part_loads_nothing_heavy() -> None:
    """The agent and the UI import kiosk.cli: Typer, click and rich stay out of them."""
    probe = "import kiosk.cli.argparse_app, json, sys; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = {name.partition(".")[0] for name in json.loads(done.stdout)}
    assert not loaded & {"typer", "click", "rich", "tempfile", "traceback"}
