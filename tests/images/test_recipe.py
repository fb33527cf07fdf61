"""The terminal image's mkosi recipe (images/) keeps the promises of docs/image.md.

Fast: the recipe files are read and checked, nothing is built.
"""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "images"
EXTRA = IMAGES / "mkosi.extra"
SYSTEMD = ROOT / "systemd"


def _mkosi_conf() -> configparser.RawConfigParser:
    # Read the way mkosi 14 reads it (configparser, "=" only, "#" comments), strict: a key given
    # twice would be an error there too.
    config = configparser.RawConfigParser(delimiters="=", inline_comment_prefixes=("#",))
    config.optionxform = str  # type: ignore[assignment,method-assign]
    config.read_string((IMAGES / "mkosi.conf").read_text())
    return config


def _get(section: str, key: str) -> str:
    return _mkosi_conf().get(section, key).strip()


def _script(name: str) -> str:
    return (IMAGES / name).read_text()


def _ini(path: Path, section: str) -> dict[str, str]:
    config = configparser.RawConfigParser(delimiters="=", strict=False)
    config.optionxform = str  # type: ignore[assignment,method-assign]
    config.read_string(path.read_text())
    return dict(config.items(section))


def test_debian_bookworm() -> None:
    assert _get("Distribution", "Distribution") == "debian"
    assert _get("Distribution", "Release") == "bookworm"


@pytest.mark.parametrize(
    "package",
    [
        "cage",
        "python3",
        "python3-venv",
        "speech-dispatcher",
        "speech-dispatcher-espeak-ng",
        "espeak-ng-data",  # carries the French voice
        "fonts-noto-core",
        "libpulse0",
        "systemd",
        "polkitd",  # the agent's reboot / restart rule
    ],
)
def test_required_package_listed(package: str) -> None:
    assert package in _get("Content", "Packages").split()


@pytest.mark.parametrize("package", ["chromium", "mosquitto-clients", "mosquitto"])
def test_unneeded_package_absent(package: str) -> None:
    assert package not in _get("Content", "Packages").split()


def test_output_is_a_bootable_read_only_disk() -> None:
    assert _get("Output", "Format") == "gpt_ext4"
    assert _get("Output", "Bootable") == "yes"
    assert _get("Output", "ReadOnly") == "yes"
    assert "ro" in _get("Output", "KernelCommandLine").split()
    assert "sysrq_always_enabled=0" in _get("Output", "KernelCommandLine").split()


def test_sources_are_the_repository() -> None:
    assert (IMAGES / _get("Content", "BuildSources")).resolve() == ROOT


@pytest.mark.parametrize("name", ["mkosi.prepare", "mkosi.postinst"])
def test_scripts_executable_and_strict(name: str) -> None:
    path = IMAGES / name
    assert os.access(path, os.X_OK), f"{name} must be executable or mkosi 14 ignores it"
    text = path.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert "set -eu" in text


def _installed_from_systemd() -> dict[str, str]:
    """Repository file (relative to systemd/) -> destination in the image, from mkosi.prepare."""
    pairs = re.findall(r'"\$SRC/systemd/(\S+)" (\S+)', _script("mkosi.prepare"))
    return dict(pairs)


def test_terminal_units_installed_from_the_repository() -> None:
    installed = _installed_from_systemd()
    assert installed == {
        "kiosk-agent.service": "/usr/lib/systemd/system/kiosk-agent.service",
        "kiosk-ui.service": "/usr/lib/systemd/system/kiosk-ui.service",
        "sysusers.d/kiosk.conf": "/usr/lib/sysusers.d/kiosk.conf",
        "tmpfiles.d/kiosk.conf": "/usr/lib/tmpfiles.d/kiosk.conf",
        "kiosk.preset": "/usr/lib/systemd/system-preset/50-kiosk.preset",
        "kiosk-agent.polkit.rules": "/etc/polkit-1/rules.d/50-kiosk-agent.rules",
    }
    for source in installed:
        assert (SYSTEMD / source).is_file(), source


def test_units_not_duplicated_in_the_extra_tree() -> None:
    names = {path.name for path in SYSTEMD.rglob("*") if path.is_file()} - {"README.md"}
    copies = [path for path in EXTRA.rglob("*") if path.is_file() and path.name in names]
    assert copies == []


def test_project_installed_in_a_venv_from_the_wheelhouse() -> None:
    prepare = _script("mkosi.prepare")
    assert "python3 -m venv /opt/kiosk" in prepare
    assert '--no-index --no-cache-dir --find-links "$WHEELS" "bornes[kiosk,agent]"' in prepare
    assert 'WHEELS="$SRC/images/mkosi.wheels"' in prepare
    # Every program the terminal's units start is linked into /usr/bin.
    for unit in ("kiosk-agent.service", "kiosk-ui.service"):
        for program in re.findall(r"/usr/bin/(kiosk[\w-]*)", (SYSTEMD / unit).read_text()):
            assert re.search(rf"for script in [^;]*\b{program}\b", prepare), program


def test_users_and_units_enabled() -> None:
    postinst = _script("mkosi.postinst")
    assert re.search(r"^systemd-sysusers$", postinst, re.M)
    assert "systemctl preset kiosk-agent.service kiosk-ui.service" in postinst
    assert "systemctl set-default graphical.target" in postinst
    preset = (SYSTEMD / "kiosk.preset").read_text().split("\n")
    assert "enable kiosk-agent.service" in preset
    assert "enable kiosk-ui.service" in preset


def test_kiosk_ui_is_the_autologin() -> None:
    unit = _ini(SYSTEMD / "kiosk-ui.service", "Service")
    assert unit["User"] == "kiosk"
    assert unit["TTYPath"] == "/dev/tty1"
    assert unit["PAMName"] == "login"
    # cage without -s: no VT switching from the kiosk.
    assert unit["ExecStart"].startswith("/usr/bin/cage ")
    assert " -s" not in unit["ExecStart"].split("--")[0]
    assert _ini(SYSTEMD / "kiosk-ui.service", "Install")["WantedBy"] == "graphical.target"


def test_journald_limits() -> None:
    journal = _ini(EXTRA / "etc/systemd/journald.conf.d/50-kiosk.conf", "Journal")
    assert journal["SystemMaxUse"] == "64M"
    assert journal["RuntimeMaxUse"] == "16M"
    assert "SystemMaxFileSize" in journal
    assert journal["ForwardToConsole"] == "no"


def test_no_console_escape() -> None:
    postinst = _script("mkosi.postinst")
    loop = re.search(
        r"for n in ([\d ]+); do\n\s+systemctl mask \"getty@tty\$n\.service\"", postinst
    )
    assert loop is not None
    assert set(loop.group(1).split()) >= {"2", "3", "4", "5", "6"}
    assert "systemctl mask ctrl-alt-del.target" in postinst
    sysctl = (EXTRA / "etc/sysctl.d/50-kiosk.conf").read_text()
    assert re.search(r"^kernel\.sysrq\s*=\s*0$", sysctl, re.M)
    logind = _ini(EXTRA / "etc/systemd/logind.conf.d/50-kiosk.conf", "Login")
    assert logind["NAutoVTs"] == "0"
    assert logind["ReserveVT"] == "0"


def _fstab() -> dict[str, list[str]]:
    entries = {}
    for line in (EXTRA / "etc/fstab").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            fields = line.split()
            entries[fields[1]] = fields
    return entries


def test_read_only_root_with_writable_state() -> None:
    fstab = _fstab()
    assert "/" not in fstab or "ro" in fstab["/"][3].split(",")
    state = fstab["/var/lib/kiosk"]
    assert state[0] == "PARTLABEL=kiosk-state"
    assert "rw" in state[3].split(",")
    # The enrolment writes /etc/kiosk; the journal persists: both on the state partition.
    assert fstab["/etc/kiosk"][0] == "/var/lib/kiosk/etc"
    assert fstab["/var/log/journal"][0] == "/var/lib/kiosk/journal"
    assert fstab["/tmp"][2] == "tmpfs"
    repart = _ini(EXTRA / "usr/lib/repart.d/50-kiosk-state.conf", "Partition")
    assert repart["Label"] == "kiosk-state"
    assert repart["Format"] == "ext4"
    assert set(repart["MakeDirectories"].split()) >= {"/etc", "/journal"}
    # Every mount point exists in the image (nothing can create it on a read-only root).
    mkdir = re.search(r"^mkdir -p (.+)$", _script("mkosi.postinst"), re.M)
    assert mkdir is not None
    for point in fstab:
        assert point in {"/", "/tmp", "/var/tmp"} or point in mkdir.group(1).split(), point


def test_speech_dispatcher_speaks_french() -> None:
    postinst = _script("mkosi.postinst")
    assert "DefaultModule espeak-ng" in postinst
    assert 'DefaultLanguage "fr"' in postinst


def test_make_image_target() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^\.PHONY:.*\bimage\b", makefile, re.M)
    recipe = re.search(r"^image:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe is not None
    body = recipe.group(1)
    assert "apt-get install -y -qq mkosi" in body
    assert "pip wheel" in body
    assert "images/mkosi.wheels" in body
    assert "cd images && mkosi" in body
    assert "mkosi.output/" + _get("Output", "Output") in body
