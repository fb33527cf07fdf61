"""The terminal image, built for real from images/ and booted in QEMU (slow: `make test-image`).

The build is `make image-tree`: the recipe's packages, mkosi.prepare, mkosi.extra and
mkosi.postinst run by mkosi 14 into a directory (this kind of machine cannot mount the vfat ESP
of the disk build), plus the initrd dracut makes from it. The disk (tests/images/vm.py) is made
without mounting anything and booted with the recipe's kernel command line under TCG.

``KIOSK_IMAGE_TREE=<dir>`` boots an existing tree (its initrd beside it) instead of building.
The figures (build, disk, boot to "online") go to images/mkosi.output/figures.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.contract.mqtt import (
    FLEET_USERNAME,
    Channel,
    Command,
    CommandAck,
    Health,
    Status,
    utc_now,
)
from tests.agent.fleet_listener import Received, fleet_listener
from tests.conftest import TestBroker
from tests.images import vm

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "images/mkosi.output/debian~bookworm"
FIGURES = ROOT / "images/mkosi.output/figures.json"
TERMINAL = "bdx-test-a"
#: Under TCG on two cores: about 45 s to "online" here; the margin is for slower machines.
BOOT_TIMEOUT_S = 900.0
SHUTDOWN_TIMEOUT_S = 300.0
BUILD_TOOLS = ("mkosi", "debootstrap", "systemd-nspawn")
BOOT_TOOLS = (
    "qemu-system-x86_64",
    "mkfs.ext4",
    "sfdisk",
    "debugfs",
    "dumpe2fs",
    "dd",
    "du",
    "mosquitto",
)
#: Added to the recipe's command line: where the root is (the disk build's unified kernel finds
#: it through systemd-boot), the console on the serial port, and the journal on it too.
TEST_COMMAND_LINE = (
    f"root=PARTLABEL={vm.ROOT_LABEL}",
    "console=ttyS0",
    "systemd.show_status=1",
    "systemd.journald.forward_to_console=1",
    # QEMU's virtio GPU has no 3D here: with Mesa's kms_swrast, cage's GLES2 renderer crashes
    # (SIGSEGV at every start, seen). wlroots' software renderer instead, for the test only.
    "systemd.setenv=WLR_RENDERER=pixman",
)


@dataclass
class Image:
    tree: Path
    kernel: Path
    initrd: Path
    figures: dict[str, float | int | str] = field(default_factory=dict)

    def record(self, **figures: float | int | str) -> None:
        self.figures.update(figures)
        FIGURES.parent.mkdir(parents=True, exist_ok=True)
        FIGURES.write_text(json.dumps(self.figures, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def image() -> Image:
    missing = vm.tools_missing(BOOT_TOOLS)
    if missing:
        pytest.skip(f"missing {', '.join(missing)} (`make test-image` installs them)")
    given = os.environ.get("KIOSK_IMAGE_TREE")
    if given:
        tree = Path(given).resolve()
        built = Image(tree, vm.kernel_of(tree), tree.parent / "bornes-terminal.initrd")
        built.record(tree=str(tree))
    else:
        missing = vm.tools_missing(BUILD_TOOLS)
        if missing:
            pytest.skip(f"missing {', '.join(missing)} (`make test-image` installs them)")
        if os.geteuid() != 0:
            pytest.skip("mkosi builds as root only")
        started = time.monotonic()
        subprocess.run(["make", "-C", str(ROOT), "image-tree"], check=True)
        tree = OUTPUT / "bornes-terminal.tree"
        built = Image(tree, vm.kernel_of(tree), OUTPUT / "bornes-terminal.initrd")
        built.record(build_s=round(time.monotonic() - started, 1))
    assert built.initrd.is_file(), f"no initrd beside the tree: {built.initrd}"
    built.record(
        tree_bytes=vm.tree_bytes(built.tree),
        initrd_bytes=built.initrd.stat().st_size,
        kernel=built.kernel.name,
    )
    return built


def _command_line() -> list[str]:
    return [*vm.recipe_command_line(ROOT / "images/mkosi.conf"), *TEST_COMMAND_LINE]


def _agent_toml(broker: TestBroker) -> str:
    # What kiosk-provision enroll writes, with the broker of the test (the host is 10.0.2.2 for
    # QEMU's user network) and the real backends: psutil, systemd actions, no furniture.
    return (
        f'terminal_id = "{TERMINAL}"\n'
        'state_dir = "/var/lib/kiosk/agent"\n'
        "[mqtt]\n"
        'host = "10.0.2.2"\n'
        f"port = {broker.port}\n"
        f'password = "{broker.password(TERMINAL)}"\n'
        "keepalive_s = 30\n"
        "[health]\n"
        "interval_s = 10\n"
    )


def _sha256(path: Path, offset: int, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        handle.seek(offset)
        left = size
        while left:
            chunk = handle.read(min(left, 8 * vm.MIB))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def _extract(disk: Path, partition: dict[str, str], out: Path) -> Path:
    start, size = int(partition["start"]) * vm.SECTOR, int(partition["size"]) * vm.SECTOR
    with disk.open("rb") as source, out.open("wb") as target:
        source.seek(start)
        left = size
        while left:
            chunk = source.read(min(left, 8 * vm.MIB))
            target.write(chunk)
            left -= len(chunk)
    return out


def _superblock_changes(before: Path, after: Path) -> set[str]:
    """The names of the superblock fields (``dumpe2fs -h``) that differ."""

    def fields(filesystem: Path) -> dict[str, str]:
        out = subprocess.run(
            ["dumpe2fs", "-h", str(filesystem)], check=True, capture_output=True, text=True
        ).stdout
        return dict(
            (name.strip(), value.strip())
            for name, _, value in (line.partition(":") for line in out.splitlines())
            if value
        )

    old, new = fields(before), fields(after)
    return {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}


def _debugfs(filesystem: Path, request: str) -> str:
    return subprocess.run(
        ["debugfs", "-R", request, str(filesystem)], check=True, capture_output=True, text=True
    ).stdout


def _status(state: str) -> Callable[[Received], bool]:
    def matches(received: Received) -> bool:
        return (
            received.address.channel is Channel.STATUS
            and isinstance(received.message, Status)
            and received.message.state == state
        )

    return matches


@pytest.fixture
def workdir(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Path]:
    # The disk is sparse but a few GB: removed as soon as the test is over. The console is kept
    # and the screen beside the build (images/mkosi.output/<test>.serial.log, .screen.ppm).
    path = Path(tmp_path_factory.mktemp("boot", numbered=True))
    yield path
    for name in ("serial.log", "screen.ppm"):
        if (path / name).exists():
            shutil.copyfile(path / name, FIGURES.parent / f"{request.node.name}.{name}")
    for big in path.glob("*.ext4"):
        big.unlink()
    for big in path.glob("*.raw"):
        big.unlink()


def _health(received: Received) -> bool:
    return isinstance(received.message, Health)


def _ui_alive(received: Received) -> bool:
    message = received.message
    return isinstance(message, Health) and message.ui is not None and message.ui.alive


def _ack(result: str) -> Callable[[Received], bool]:
    def matches(received: Received) -> bool:
        return isinstance(received.message, CommandAck) and received.message.result == result

    return matches


def _send_reboot(broker: TestBroker) -> None:
    now = utc_now()
    command = Command(
        id="cmd-image-reboot-1",
        name="reboot",
        issued_at=now,
        expires_at=now + timedelta(minutes=10),
    )
    broker.send_command(TERMINAL, command)


def _failed_units(console: str) -> list[str]:
    # The journal's lines (forwarded to the console), not the status lines: those are cut.
    return sorted(set(re.findall(r"systemd\[1\]: Failed to start (.+)", console)))


def test_enrolled_terminal_boots_read_only_and_its_agent_comes_online(
    image: Image, broker: TestBroker, workdir: Path
) -> None:
    """The enrolled terminal's second life: state partition present, agent configured.

    Proves, on the built image: systemd starts kiosk-agent under its full sandbox on the
    read-only root and it reaches READY (Type=notify: "Started" is printed only then); its
    birth reaches a real Mosquitto; health carries real psutil figures and the clock; a fleet
    reboot passes polkit (the agent has no privileges), the clean stop says "offline"; the
    journal and the agent's state were written to the state partition; on the root partition,
    only fsck's stamp in the superblock changed.
    """
    started = time.monotonic()
    state = vm.enrolled_state(workdir / "state", image.tree, _agent_toml(broker))
    root_size = vm.ext4_image(image.tree, workdir / "root.ext4", "root")
    state_size = vm.ext4_image(state, workdir / "state.ext4", vm.STATE_LABEL, 512 * vm.MIB)
    disk = workdir / "disk.raw"
    vm.gpt_disk(
        disk,
        [
            vm.Partition(vm.ROOT_LABEL, vm.GPT_ROOT_X86_64, workdir / "root.ext4", root_size, True),
            vm.Partition(vm.STATE_LABEL, vm.GPT_LINUX_GENERIC, workdir / "state.ext4", state_size),
        ],
    )
    root_part, state_part = vm.read_partitions(disk)
    root_hash = _sha256(workdir / "root.ext4", 4096, root_size - 4096)  # all but the superblock
    image.record(disk_s=round(time.monotonic() - started, 1), root_fs_bytes=root_size)

    fleet_password = broker.password(FLEET_USERNAME)
    with (
        fleet_listener(broker.host, broker.port, fleet_password, TERMINAL) as listener,
        vm.booted(image.kernel, image.initrd, disk, _command_line(), workdir) as machine,
    ):
        birth = listener.expect(_status("online"), timeout_s=BOOT_TIMEOUT_S)
        online_s = time.monotonic() - machine.started
        health = listener.expect(_health, timeout_s=120).message
        # Type=notify: systemd prints "Started" only once the agent sent READY=1.
        machine.serial.wait_for(r"systemd\[1\]: Started kiosk-agent\.service", 30, machine)
        image.record(boot_to_online_s=round(online_s, 1))

        assert isinstance(birth.message, Status)
        assert birth.message.versions.get("python", "").startswith("3.11.")  # Debian 12's
        assert isinstance(health, Health)
        assert health.memory_total_bytes > 1024 * vm.MIB  # the guest's 2 GiB, not the host's
        mounts = {disk_.mount for disk_ in health.disks}
        assert "/" in mounts
        # adjtimex under SystemCallFilter: the clock offset is read (docs/systemd.md).
        assert health.clock_offset_ms is not None

        # The kiosk UI under cage: its heartbeats on the agent's socket make it "alive".
        ui = listener.expect(_ui_alive, timeout_s=BOOT_TIMEOUT_S).message
        assert isinstance(ui, Health)
        image.record(boot_to_ui_alive_s=round(time.monotonic() - machine.started, 1))
        machine.serial.wait_for(r"kiosk\.agentlink: connected to the agent", 60, machine)
        machine.command(f"screendump {workdir / 'screen.ppm'}")

        # The fleet's reboot: the agent runs `systemctl reboot`, which polkit allows it.
        _send_reboot(broker)
        listener.expect(_ack("accepted"), timeout_s=120)
        listener.expect(_status("offline"), timeout_s=SHUTDOWN_TIMEOUT_S)
        machine.process.wait(timeout=SHUTDOWN_TIMEOUT_S)  # -no-reboot: a reboot ends QEMU
        text = machine.serial.text()

    assert "Mounted var-lib-kiosk.mount" in text
    assert "Mounted var-lib-systemd.mount" in text
    assert "Mounted var-log-journal.mount" in text
    assert "Reached target graphical.target" in text
    assert re.search(
        r"kiosk-technician\.service.* was skipped because of an unmet condition check "
        r"\(ConditionPathExists=!/etc/kiosk/agent\.toml\)",
        text,
    )
    assert "Failed to set up special execution directory" not in text
    # Whatever failed is listed, so a new failure shows in the test's message.
    assert _failed_units(text) == [], _failed_units(text)
    # cage got its logind session (PAMName=login) and the kiosk reached the agent's socket.
    assert "pam_unix(login:session): session opened for user kiosk" in text
    assert "kiosk.agentlink: connected to the agent on /run/kiosk/agent.sock" in text

    # The root partition is as built, but for one field: systemd-fsck-root's e2fsck (in the
    # initrd, before the read-only mount) stamps the superblock's last write time.
    root_offset = int(root_part["start"]) * vm.SECTOR
    assert _sha256(disk, root_offset + 4096, root_size - 4096) == root_hash
    root_after = _extract(disk, root_part, workdir / "root-after.ext4")
    assert _superblock_changes(workdir / "root.ext4", root_after) <= {
        "Last write time",
        "Checksum",
    }
    root_after.unlink()
    after = _extract(disk, state_part, workdir / "state-after.ext4")
    journal = _debugfs(after, "ls -l /journal")
    assert re.search(r"\b[0-9a-f]{32}\b", journal), journal  # a machine-id directory
    agent_state = _debugfs(after, "ls -l /agent")
    assert "outbox" in agent_state or ".db" in agent_state, agent_state


def test_first_boot_makes_the_state_partition_and_opens_the_technician_console(
    image: Image, workdir: Path
) -> None:
    """A new terminal: root partition and free space only, nothing enrolled.

    systemd-repart makes kiosk-state in the free space, it is mounted, and since nothing is
    enrolled tty1 is the technician's root console (kiosk-technician.service), not the kiosk
    UI.
    """
    root_size = vm.ext4_image(image.tree, workdir / "root.ext4", "root")
    disk = workdir / "disk.raw"
    vm.gpt_disk(
        disk,
        [vm.Partition(vm.ROOT_LABEL, vm.GPT_ROOT_X86_64, workdir / "root.ext4", root_size, True)],
        free_bytes=640 * vm.MIB,
    )
    with vm.booted(image.kernel, image.initrd, disk, _command_line(), workdir) as machine:
        machine.serial.wait_for(r"Mounted var-lib-kiosk\.mount", BOOT_TIMEOUT_S, machine)
        machine.serial.wait_for(r"ROOT LOGIN +on '/dev/tty1'", BOOT_TIMEOUT_S, machine)
        image.record(first_boot_to_console_s=round(time.monotonic() - machine.started, 1))
        machine.command(f"screendump {workdir / 'screen.ppm'}")
        text = machine.serial.text()
    assert re.search(
        r"kiosk-ui\.service.* was skipped because of an unmet condition check "
        r"\(ConditionPathExists=/etc/kiosk/agent\.toml\)",
        text,
    )
    assert "Started kiosk-ui.service" not in text
    partitions = vm.read_partitions(disk)
    assert [part.get("name") for part in partitions] == [vm.ROOT_LABEL, vm.STATE_LABEL]
    state = _extract(disk, partitions[1], workdir / "state-after.ext4")
    listing = _debugfs(state, "ls /")
    for directory in ("agent", "etc", "journal", "systemd"):
        assert directory in listing.split(), listing
