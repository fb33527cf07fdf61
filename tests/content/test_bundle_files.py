"""A bundle holds only regular files with a single name: a symbolic link, a hard link (say to
``/etc/passwd``, which would be public under ``/content`` once published), a pipe, a socket or
a device is refused by the check, and by the manifest if swapped in after the check."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.content.check import check_bundle
from fleet.content.cli import app
from kiosk.contract.manifest import UnsafeFile, build_manifest, file_problem
from tests.content.helpers import make_bundle
from tests.content.test_cli import ENV


def _symlink(path: Path) -> None:
    os.symlink("/etc/passwd", path)


def _hard_link(path: Path) -> None:
    # A hard link to a file outside the bundle (a file of our own: /etc is on another
    # file system in some containers, where a hard link cannot be made).
    outside = path.parent.parent / "outside-secret.txt"
    outside.write_text("root:x:0:0")
    os.link(outside, path)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()


def _device(path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # like /dev/null


MAKERS: dict[str, tuple[Callable[[Path], None], str]] = {
    "symlink": (_symlink, "est un lien symbolique"),
    "hard-link": (_hard_link, "est un lien physique"),
    "fifo": (_fifo, "n'est pas un fichier ordinaire"),
    "socket": (_socket, "n'est pas un fichier ordinaire"),
    "device": (_device, "n'est pas un fichier ordinaire"),
}


@pytest.mark.parametrize("kind", list(MAKERS))
def test_the_check_refuses_each_kind_of_entry_that_is_not_a_single_regular_file(
    tmp_path: Path, kind: str
) -> None:
    bundle = make_bundle(tmp_path / "b", "2025.12.1")
    make, said = MAKERS[kind]
    make(bundle / "page.html")

    report = check_bundle(bundle)

    assert not report.ok
    assert any(problem.startswith("page.html") and said in problem for problem in report.problems)


@pytest.mark.parametrize("kind", list(MAKERS))
def test_the_manifest_refuses_them_too_when_swapped_in_after_the_check(
    tmp_path: Path, kind: str
) -> None:
    bundle = make_bundle(tmp_path / "b", "2025.12.1")
    assert check_bundle(bundle).ok
    make, _said = MAKERS[kind]
    make(bundle / "late.html")

    with pytest.raises((UnsafeFile, OSError)):
        build_manifest(bundle, "2025.12.1")


def test_publish_refuses_a_hard_link_and_signs_nothing(tmp_path: Path) -> None:
    runner = CliRunner()
    places = ["--repo", str(tmp_path / "repo"), "--keys", str(tmp_path / "keys")]
    assert runner.invoke(app, [*places, "keys", "init"], env=ENV).exit_code == 0
    bundle = make_bundle(tmp_path / "b", "2025.12.1")
    _hard_link(bundle / "passwd.html")

    result = runner.invoke(app, [*places, "publish", str(bundle)], env=ENV)

    assert result.exit_code == 1
    assert "lien physique" in " ".join(result.output.split())
    published = list((tmp_path / "repo").rglob("*"))
    assert not any(path.is_file() and b"root:x" in path.read_bytes() for path in published)


def test_a_regular_file_with_one_name_is_fine(tmp_path: Path) -> None:
    single = tmp_path / "one.html"
    single.write_text("<p>ok</p>")
    assert file_problem(single.lstat()) is None
    os.link(single, tmp_path / "two.html")
    assert file_problem(single.lstat()) == "a hard link (2 names for one file)"
