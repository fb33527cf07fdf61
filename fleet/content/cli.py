"""``fleet content``: check a bundle, create the signing keys, publish a signed version.

Registered by the fleet's CLI as a sub-command (``app.add_typer(content_app, name="content")``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.console import Console
from rich.text import Text

from fleet.content.check import check_bundle
from fleet.content.i18n import gettext_for
from fleet.content.keys import (
    ONLINE_KEY,
    ROOT_KEY,
    TARGETS_KEY,
    KeyFileError,
    load_signer,
    new_signer,
    save_signer,
)
from fleet.content.repository import ContentRepository, RepositoryError
from kiosk.cli import EXIT_REFUSED, die
from kiosk.cli.typer_app import App
from kiosk.contract.catalog import CATALOG_FILE
from kiosk.contract.manifest import UnsafeFile, build_manifest
from kiosk.contract.places import PlacesFile
from kiosk.contract.tuf import CryptoSigner

LANGUAGE: Final = os.environ.get("FLEET_DEFAULT_LANGUAGE", "fr")
_ = gettext_for(LANGUAGE)

ROOT_PASSPHRASE_ENV: Final = "FLEET_CONTENT_ROOT_PASSPHRASE"
TARGETS_PASSPHRASE_ENV: Final = "FLEET_CONTENT_TARGETS_PASSPHRASE"
__all__ = ["EXIT_REFUSED", "app", "die"]

app = App(
    language=LANGUAGE,
    help=_("Content bundles: check them, sign them and publish them to the terminals."),
    no_args_is_help=True,
)
keys_app = App(language=LANGUAGE, help=_("Manage the signing keys of the content repository."))
app.add_typer(keys_app, name="keys")
places_app = App(
    language=LANGUAGE,
    help=_("The help-places guide: import places in the national format into a bundle."),
    no_args_is_help=True,
)
app.add_typer(places_app, name="places")

out = Console(highlight=False)


@dataclass(frozen=True)
class Places:
    repo_dir: Path
    keys_dir: Path


@app.callback()
def options(
    ctx: typer.Context,
    repo: Annotated[
        Path,
        typer.Option(envvar="FLEET_CONTENT_REPO", help=_("Folder of the published repository.")),
    ] = Path("content-repo"),
    keys: Annotated[
        Path,
        typer.Option(envvar="FLEET_CONTENT_KEYS", help=_("Folder of the signing keys.")),
    ] = Path("content-keys"),
) -> None:
    ctx.obj = Places(repo, keys)


def _passphrase(variable: str, label: str, confirm: bool) -> str:
    given = os.environ.get(variable)
    if given:
        return given
    typed: str = typer.prompt(label, hide_input=True, confirmation_prompt=confirm)
    return typed


def _signer(path: Path, passphrase: str | None) -> CryptoSigner:
    try:
        return load_signer(path, passphrase)
    except KeyFileError as error:
        die(str(error), hint=_("Check the key folder (--keys) and the passphrase."))


@app.command(help=_("Check a content bundle and explain every problem found."))
def check(
    bundle_dir: Annotated[Path, typer.Argument(help=_("The bundle folder."))],
) -> None:
    report = check_bundle(bundle_dir, LANGUAGE)
    for problem in report.problems:
        out.print(Text("✗ " + problem, style="red"))
    if not report.ok or report.catalog is None:
        die(
            _("the bundle %(path)s has %(count)d problem(s); terminals would refuse it.")
            % {"path": bundle_dir, "count": len(report.problems)}
        )
    out.print(
        Text(
            _("The bundle %(version)s is valid: %(files)d files, %(size)d bytes.")
            % {
                "version": report.catalog.version,
                "files": report.file_count,
                "size": report.total_bytes,
            },
            style="green",
        )
    )


@keys_app.command("init", help=_("Create the root, targets and online keys and the repository."))
def keys_init(ctx: typer.Context) -> None:
    places = ctx.ensure_object(Places)
    if any((places.keys_dir / name).exists() for name in (ROOT_KEY, TARGETS_KEY, ONLINE_KEY)):
        die(_("keys already exist in %(path)s; nothing was changed.") % {"path": places.keys_dir})
    root_passphrase = _passphrase(ROOT_PASSPHRASE_ENV, _("Passphrase of the root key"), True)
    targets_passphrase = _passphrase(
        TARGETS_PASSPHRASE_ENV, _("Passphrase of the targets key"), True
    )
    root, targets, online = new_signer(), new_signer(), new_signer()
    repository = ContentRepository(places.repo_dir)
    try:
        repository.initialize([root], targets, online)
    except RepositoryError as error:
        die(str(error))
    save_signer(root, places.keys_dir / ROOT_KEY, root_passphrase)
    save_signer(targets, places.keys_dir / TARGETS_KEY, targets_passphrase)
    save_signer(online, places.keys_dir / ONLINE_KEY, None)
    out.print(
        Text(
            _(
                "Repository created. Ship %(root)s in the terminal image as the trusted root,"
                " and move %(key)s offline."
            )
            % {"root": repository.metadata_dir / "1.root.json", "key": places.keys_dir / ROOT_KEY}
        )
    )


@app.command(help=_("Check a bundle, then sign and publish it as a new content version."))
def publish(
    ctx: typer.Context,
    bundle_dir: Annotated[Path, typer.Argument(help=_("The bundle folder."))],
) -> None:
    places = ctx.ensure_object(Places)
    report = check_bundle(bundle_dir, LANGUAGE)
    for problem in report.problems:
        out.print(Text("✗ " + problem, style="red"))
    if not report.ok or report.catalog is None:
        die(_("the bundle is not valid; nothing was published."))
    version = report.catalog.version
    passphrase = _passphrase(TARGETS_PASSPHRASE_ENV, _("Passphrase of the targets key"), False)
    targets = _signer(places.keys_dir / TARGETS_KEY, passphrase)
    online = _signer(places.keys_dir / ONLINE_KEY, None)
    try:
        result = ContentRepository(places.repo_dir).publish(
            bundle_dir, build_manifest(bundle_dir, version), targets, online
        )
    except RepositoryError as error:
        die(str(error))
    except (UnsafeFile, OSError) as error:
        # A file swapped for a link (or a pipe) since the check: nothing from outside is signed.
        die(_("%(error)s: nothing was published.") % {"error": error})
    out.print(
        Text(
            _(
                "Version %(version)s published: %(new)d new files, %(reused)d unchanged"
                " (targets metadata version %(meta)d)."
            )
            % {
                "version": result.version,
                "new": result.new_files,
                "reused": result.reused_files,
                "meta": result.targets_version,
            },
            style="green",
        )
    )


@app.command(help=_("Re-sign the snapshot and timestamp (run daily: they expire)."))
def timestamp(ctx: typer.Context) -> None:
    places = ctx.ensure_object(Places)
    online = _signer(places.keys_dir / ONLINE_KEY, None)
    try:
        ContentRepository(places.repo_dir).refresh_online_roles(online)
    except RepositoryError as error:
        die(str(error))
    out.print(Text(_("Snapshot and timestamp signed again.")))


@places_app.command(
    "import",
    help=_(
        "Check a CSV of places in La MedNum's national format (standard-mediation-num), line by"
        " line, and write the valid places into the bundle's places.json."
    ),
)
def places_import(
    csv_file: Annotated[Path, typer.Argument(help=_("The CSV file (UTF-8, ',' between columns)."))],
    bundle: Annotated[
        Path,
        typer.Option(
            envvar="FLEET_CONTENT_BUNDLE", help=_("The bundle folder that receives places.json.")
        ),
    ] = Path("."),
    source: Annotated[
        str | None,
        typer.Option(help=_("Who published the data, shown on the terminal (default: the file).")),
    ] = None,
    keep_valid: Annotated[
        bool,
        typer.Option(
            "--keep-valid", help=_("Import the valid lines even when others are refused.")
        ),
    ] = False,
) -> None:
    # Imported here: frictionless is needed by this command only, not by `fleet serve`.
    from fleet.content.places import validate_csv, write_places

    if not (bundle / CATALOG_FILE).is_file():
        die(
            _("%(path)s is not a content bundle (no catalog.json); nothing was written.")
            % {"path": bundle},
            hint=_("Give the bundle folder with --bundle."),
        )
    report = validate_csv(csv_file, LANGUAGE)
    for problem in report.problems:
        out.print(Text("✗ " + problem, style="red"))
    for column in report.ignored_columns:
        out.print(
            Text(_("Column « %(column)s » is not in the format: ignored.") % {"column": column})
        )
    if report.unusable or (report.problems and not keep_valid) or not report.places:
        die(
            _("%(path)s: %(count)d problem(s) on %(lines)d line(s); nothing was written.")
            % {"path": csv_file, "count": len(report.problems), "lines": len(report.bad_lines)},
            hint=_("Correct the file, or pass --keep-valid to import only the valid lines.")
            if not report.unusable and report.places
            else None,
        )
    guide = PlacesFile(
        source=source or csv_file.name,
        imported_at=date.today(),
        places=tuple(report.places),
    )
    target = write_places(bundle, guide)
    out.print(
        Text(
            _(
                "%(count)d place(s) written to %(path)s (%(refused)d line(s) left out). Publish"
                " the bundle to send them to the terminals: fleet content publish %(bundle)s"
            )
            % {
                "count": len(report.places),
                "path": target,
                "refused": len(report.bad_lines),
                "bundle": bundle,
            },
            style="green",
        )
    )
