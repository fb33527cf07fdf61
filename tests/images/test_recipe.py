"""The terminal image's mkosi recipe (images/) keeps the promises of docs/image.md.

Fast: the recipe files are read and checked, nothing is built.
"""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path

import pytest

from tests.images import vm

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
        "xwayland",  # cage exits without it
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
    # All six: tty1 too (Debian enables getty@tty1; kiosk-technician.service replaces it).
    assert set(loop.group(1).split()) >= {"1", "2", "3", "4", "5", "6"}
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


def _make_recipe(target: str) -> str:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe is not None, target
    return recipe.group(1)


def _make_variable(name: str) -> str:
    makefile = (ROOT / "Makefile").read_text()
    found = re.search(rf"^{name} :?= (.*)$", makefile, re.M)
    assert found is not None, name
    return found.group(1)


def test_make_image_target() -> None:
    makefile = (ROOT / "Makefile").read_text()
    phony = " ".join(re.findall(r"^\.PHONY:((?:.*\\\n)*.*)$", makefile, re.M)).replace("\\", " ")
    for target in ("image", "image-tree", "test-image"):
        assert target in phony.split(), target
    assert "mkosi" in _make_variable("IMAGE_APT").split()
    assert "apt-get install -y -qq $$missing" in _make_recipe("image-apt")
    wheels = _make_recipe("image-wheels")
    assert "pip wheel" in wheels
    assert "images/mkosi.wheels" in wheels
    assert _make_variable("MKOSI").startswith("cd images && mkosi ")
    body = _make_recipe("image")
    assert "$(MKOSI) build" in body
    # mkosi 14 writes into mkosi.output/<distribution>~<release>/.
    out = _make_variable("IMAGE_OUT")
    assert out == "images/mkosi.output/{}~{}".format(
        _get("Distribution", "Distribution"), _get("Distribution", "Release")
    )
    assert "$(IMAGE_OUT)/" + _get("Output", "Output") in body


def test_directory_build_is_the_same_recipe() -> None:
    """`make image-tree` overrides the output only: same mkosi.conf, scripts and extra tree."""
    body = _make_recipe("image-tree")
    command = re.search(r"\$\(MKOSI\) (.*?) build", body.replace("\\\n", " "), re.S)
    assert command is not None
    options = command.group(1).split()
    assert options[:4] == ["--format", "directory", "--bootable", "no"]
    allowed = {"--workspace-dir", "$(IMAGE_WORKSPACE)", "--output", "bornes-terminal.tree"}
    assert set(options[4:]) <= allowed
    assert not any(name.startswith("mkosi.") for name in options)
    # The initrd the boot test needs comes from the tree itself, as mkosi's disk build does.
    assert "dracut" in body
    assert "--no-hostonly" in body


def test_slow_tests_are_not_in_the_default_run() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    addopts = re.search(r"^addopts = (.*)$", pyproject, re.M)
    assert addopts is not None
    assert "-m 'not slow'" in addopts.group(1)
    assert re.search(r'^\s+"slow: ', pyproject, re.M)
    assert "-m slow" in _make_recipe("test-image")
    assert "qemu-system-x86" in _make_variable("IMAGE_TEST_APT").split()


def test_dracut_is_the_initramfs_generator_of_both_builds() -> None:
    # mkosi adds dracut to a bootable build only; naming it keeps initramfs-tools out of the
    # directory build too.
    assert "dracut" in _get("Content", "Packages").split()


def test_system_state_is_on_the_state_partition() -> None:
    fstab = _fstab()
    # logind (linger) and timesyncd (clock) have StateDirectory= under /var/lib/systemd.
    assert fstab["/var/lib/systemd"][0] == "/var/lib/kiosk/systemd"
    assert fstab["/var/log"][2] == "tmpfs"  # wtmp, lastlog; the journal is bound on it
    repart = _ini(EXTRA / "usr/lib/repart.d/50-kiosk-state.conf", "Partition")
    made = {name.strip("/") for name in repart["MakeDirectories"].split()}
    for point, fields in fstab.items():
        if fields[0].startswith("/var/lib/kiosk/"):
            assert fields[0].removeprefix("/var/lib/kiosk/") in made, point


def test_dhcp_lease_does_not_follow_the_transient_machine_id() -> None:
    network = _ini(EXTRA / "etc/systemd/network/80-wired.network", "DHCPv4")
    assert network["ClientIdentifier"] == "mac"


def test_no_package_maintenance_timers() -> None:
    postinst = _script("mkosi.postinst")
    assert re.search(r"^systemctl mask apt-daily\.timer apt-daily-upgrade\.timer", postinst, re.M)


def test_technician_console_only_until_enrolled() -> None:
    from kiosk.contract.paths import AGENT_CONFIG

    units = EXTRA / "usr/lib/systemd/system"
    technician = units / "kiosk-technician.service"
    unit = _ini(technician, "Unit")
    service = _ini(technician, "Service")
    ui = _ini(units / "kiosk-ui.service.d/50-enrolled.conf", "Unit")
    assert unit["ConditionPathExists"] == f"!{AGENT_CONFIG}"
    # Checked again before every restart: after the enrolment it stops for good.
    assert service["ExecCondition"] == f"/usr/bin/test ! -e {AGENT_CONFIG}"
    assert ui["ConditionPathExists"] == str(AGENT_CONFIG)
    # The file the agent unit reads is the one the conditions name.
    agent = _ini(SYSTEMD / "kiosk-agent.service", "Service")
    assert f"--config {AGENT_CONFIG}" in agent["ExecStart"]
    assert "--autologin root tty1" in service["ExecStart"]
    assert service["TTYPath"] == "/dev/tty1"
    # No Conflicts= with kiosk-ui: systemd would drop one of the two start jobs at boot.
    assert "Conflicts=kiosk-ui" not in technician.read_text()
    # Same tty as cage, whose TTYVHangup= ends the console when the kiosk takes over.
    assert _ini(SYSTEMD / "kiosk-ui.service", "Service")["TTYVHangup"] == "yes"
    postinst = _script("mkosi.postinst")
    assert re.search(r"^systemctl enable kiosk-technician\.service$", postinst, re.M)
    assert _ini(technician, "Install")["WantedBy"] == "multi-user.target"


needs_disk_tools = pytest.mark.skipif(
    bool(vm.tools_missing(("mkfs.ext4", "sfdisk", "debugfs", "dd", "du"))),
    reason="needs e2fsprogs (mkfs.ext4, debugfs) and fdisk (sfdisk)",
)


@needs_disk_tools
def test_boot_disk_is_made_without_mounting(tmp_path: Path) -> None:
    """tests/images/vm.py's disk: the layout the slow test boots, checked on a tiny tree."""
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/hostname").write_text("borne\n")
    root = tmp_path / "root.ext4"
    size = vm.ext4_image(tree, root, "root", 8 * vm.MIB)
    disk = tmp_path / "disk.raw"
    vm.gpt_disk(
        disk,
        [
            vm.Partition(vm.ROOT_LABEL, vm.GPT_ROOT_X86_64, root, size, read_only=True),
            vm.Partition(vm.STATE_LABEL, vm.GPT_LINUX_GENERIC, None, 4 * vm.MIB),
        ],
        free_bytes=2 * vm.MIB,
    )
    first, second = vm.read_partitions(disk)
    assert (first["name"], first["type"], first.get("attrs")) == (
        vm.ROOT_LABEL,
        vm.GPT_ROOT_X86_64,
        f"GUID:{vm.GPT_READ_ONLY_BIT}",
    )
    assert (second["name"], second["type"], second.get("attrs")) == (
        vm.STATE_LABEL,
        vm.GPT_LINUX_GENERIC,
        None,
    )
    assert int(first["start"]) * vm.SECTOR == vm.MIB
    with disk.open("rb") as handle:
        handle.seek(vm.MIB)
        assert handle.read(size) == root.read_bytes()
    assert disk.stat().st_size == vm.MIB + size + 4 * vm.MIB + 2 * vm.MIB + vm.MIB


@needs_disk_tools
@pytest.mark.skipif(os.geteuid() != 0, reason="gives a file to another user: root only")
def test_enrolled_state_belongs_to_the_agent(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\nkiosk-agent:x:993:993::/:/x\n")
    repart = tree / "usr/lib/repart.d"
    repart.mkdir(parents=True)
    (repart / "50-kiosk-state.conf").write_text(
        (EXTRA / "usr/lib/repart.d/50-kiosk-state.conf").read_text()
    )
    state = vm.enrolled_state(tmp_path / "state", tree, 'terminal_id = "bdx-test-a"\n')
    config = state / "etc/agent.toml"
    assert (config.stat().st_uid, config.stat().st_mode & 0o777) == (993, 0o600)
    assert {path.name for path in state.iterdir()} == {"agent", "etc", "journal", "systemd"}
