"""Boot the terminal image's directory build (`make image-tree`) in QEMU, mounting nothing.

The disk is made the way a machine without loop mounts can: each file system with
``mkfs.ext4 -d <directory>`` (no mount), the GPT with ``sfdisk`` on a plain file, the file
systems copied in at their offsets. Its layout is the terminal's, without the ESP:

1. the root file system (GPT type "Linux root x86-64", read-only flag, as mkosi's
   ``ReadOnly=yes`` sets it), mounted read only by ``ro`` on the kernel command line;
2. optionally ``kiosk-state``, the partition systemd-repart makes on a terminal's first boot,
   here made in advance with what ``kiosk-provision enroll`` would have written in it.

The kernel and the initrd are booted directly (``-kernel``/``-initrd``): the UEFI path (ESP,
systemd-boot, unified kernel image) is the disk build's and is not exercised here.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
SECTOR = 512

#: Discoverable Partitions Specification: root of an x86-64 system, and plain Linux data.
GPT_ROOT_X86_64 = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
GPT_LINUX_GENERIC = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
#: GPT attribute bit 60: read only (what mkosi's ReadOnly=yes sets on the root partition).
GPT_READ_ONLY_BIT = 60
STATE_LABEL = "kiosk-state"
ROOT_LABEL = "root-x86-64"


def tools_missing(names: Sequence[str]) -> list[str]:
    """The programs of ``names`` that are not on PATH (nor in /usr/sbin, /sbin)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return [name for name in names if shutil.which(name, path=path) is None]


def _run(argv: Sequence[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return subprocess.run(
        [str(arg) for arg in argv],
        check=True,
        text=True,
        capture_output=True,
        env={**os.environ, "PATH": path},
        **kwargs,  # type: ignore[arg-type]
    )


def tree_bytes(tree: Path) -> int:
    """Bytes the tree takes on disk (``du``: blocks, hard links once)."""
    out = _run(["du", "-s", "--block-size=1", "-x", tree]).stdout
    return int(out.split()[0])


def ext4_image(source: Path, image: Path, label: str, size_bytes: int | None = None) -> int:
    """An ext4 file system holding ``source`` (owners and modes kept), made without mounting.

    Returns its size: ``size_bytes``, or the tree's size plus a quarter and 128 MiB, in MiB.
    """
    if size_bytes is None:
        size_bytes = tree_bytes(source) * 5 // 4 + 128 * MIB
    size_bytes = -(-size_bytes // MIB) * MIB
    image.unlink(missing_ok=True)
    _run(["mkfs.ext4", "-q", "-F", "-L", label, "-d", source, image, f"{size_bytes // 1024}k"])
    return size_bytes


@dataclass(frozen=True)
class Partition:
    name: str
    type_uuid: str
    image: Path | None
    size_bytes: int
    read_only: bool = False


def gpt_disk(disk: Path, partitions: Sequence[Partition], free_bytes: int = 0) -> None:
    """A GPT disk file with ``partitions`` one after the other, 1 MiB aligned, then free space."""
    start = MIB
    lines = ["label: gpt"]
    placed: list[tuple[int, Partition]] = []
    for part in partitions:
        size = -(-part.size_bytes // MIB) * MIB
        attrs = f', attrs="GUID:{GPT_READ_ONLY_BIT}"' if part.read_only else ""
        lines.append(
            f"start={start // SECTOR}, size={size // SECTOR}, type={part.type_uuid}, "
            f'name="{part.name}"{attrs}'
        )
        placed.append((start, part))
        start += size
    disk.unlink(missing_ok=True)
    with disk.open("wb") as handle:  # sparse: only what is written takes room
        handle.truncate(start + free_bytes + MIB)  # + the backup GPT
    _run(["sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", disk], input="\n".join(lines))
    for offset, part in placed:
        if part.image is not None:
            _run(
                [
                    "dd",
                    f"if={part.image}",
                    f"of={disk}",
                    "bs=1M",
                    f"seek={offset // MIB}",
                    "conv=notrunc,sparse",
                    "status=none",
                ]
            )


def read_partitions(disk: Path) -> list[dict[str, str]]:
    """``sfdisk --json``'s partition entries (name, type, attrs, start, size) of ``disk``."""
    import json

    table = json.loads(_run(["sfdisk", "--json", disk]).stdout)["partitiontable"]
    return list(table["partitions"])


def passwd_ids(tree: Path, user: str) -> tuple[int, int]:
    """``user``'s uid and gid in the tree's /etc/passwd (made by systemd-sysusers at build)."""
    for line in (tree / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise LookupError(f"no user {user} in {tree}/etc/passwd")


def enrolled_state(directory: Path, tree: Path, agent_toml: str) -> Path:
    """The state partition's files as first boot plus ``kiosk-provision enroll`` leave them.

    repart's ``MakeDirectories=`` (``/agent /etc /journal``); ``etc/agent.toml`` owned by
    kiosk-agent, 0600 (docs/systemd.md: secrets are the agent's, not the kiosk group's).
    """
    repart = configparser.RawConfigParser(delimiters="=")
    repart.read(tree / "usr/lib/repart.d/50-kiosk-state.conf")
    for name in repart.get("Partition", "MakeDirectories").split():
        (directory / name.lstrip("/")).mkdir(parents=True, exist_ok=True)
    uid, gid = passwd_ids(tree, "kiosk-agent")
    config = directory / "etc/agent.toml"
    config.write_text(agent_toml)
    os.chown(config, uid, gid)
    config.chmod(0o600)
    return directory


def recipe_command_line(mkosi_conf: Path) -> list[str]:
    """``KernelCommandLine=`` of the recipe: the disk build puts it in its unified kernel."""
    config = configparser.RawConfigParser(delimiters="=", inline_comment_prefixes=("#",))
    config.read(mkosi_conf)
    return config.get("Output", "KernelCommandLine").split()


def kernel_of(tree: Path) -> Path:
    kernels = sorted((tree / "boot").glob("vmlinuz-*"))
    if len(kernels) != 1:
        raise LookupError(f"expected one kernel in {tree}/boot, found {kernels}")
    return kernels[0]


class SerialLog:
    """The guest's serial console, written by QEMU to a file, read as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def text(self) -> str:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return ""
        # Status lines carry colour codes: "[  OK  ] Started ..." is easier to match without.
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw.decode("utf-8", "replace"))

    def wait_for(self, pattern: str, timeout_s: float, alive: Vm | None = None) -> re.Match[str]:
        """The first match of the regular expression ``pattern``; fail after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        regex = re.compile(pattern)
        while True:
            found = regex.search(self.text())
            if found:
                return found
            if alive is not None and not alive.running():
                raise AssertionError(f"QEMU exited before {pattern!r}; see {self.path}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} on the console in {timeout_s} s: {self.path}")
            time.sleep(0.5)


class Vm:
    """A QEMU process (TCG unless told otherwise), console on a file, monitor on a socket."""

    def __init__(self, process: subprocess.Popen[bytes], serial: SerialLog, monitor: Path) -> None:
        self.process = process
        self.serial = serial
        self.monitor = monitor
        self.started = time.monotonic()

    def running(self) -> bool:
        return self.process.poll() is None

    def command(self, line: str, timeout_s: float = 30.0) -> str:
        """One HMP monitor command (``screendump``, ``system_powerdown``...); its output."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(timeout_s)
            sock.connect(str(self.monitor))
            sock.recv(4096)  # banner and prompt
            sock.sendall(line.encode() + b"\n")
            answer = b""
            while not answer.rstrip().endswith(b"(qemu)"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        return answer.decode("utf-8", "replace")

    def stop(self, timeout_s: float = 30.0) -> None:
        if not self.running():
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def booted(
    kernel: Path,
    initrd: Path,
    disk: Path,
    command_line: Sequence[str],
    workdir: Path,
    memory_mib: int = 2048,
    accel: str = "tcg",
) -> Iterator[Vm]:
    """QEMU with the disk on virtio, user networking (the host is 10.0.2.2), a virtio GPU that
    nobody sees (``screendump`` reads it), and the serial console in a file."""
    serial = SerialLog(workdir / "serial.log")
    monitor = workdir / "monitor.sock"
    argv = [
        "qemu-system-x86_64",
        "-machine",
        f"q35,accel={accel}",
        *(["-cpu", "max"] if accel == "tcg" else []),
        "-smp",
        "2",
        "-m",
        str(memory_mib),
        "-nodefaults",
        "-no-user-config",
        "-no-reboot",
        "-display",
        "none",
        "-vga",
        "none",
        # virtio-gpu, not the standard VGA: cage's wlroots 0.15 refuses a DRM device without
        # PRIME import ("PRIME import not supported"), which bochs-drm is.
        "-device",
        "virtio-vga",
        "-serial",
        f"file:{serial.path}",
        "-monitor",
        f"unix:{monitor},server=on,wait=off",
        "-kernel",
        str(kernel),
        "-initrd",
        str(initrd),
        "-append",
        " ".join(command_line),
        "-drive",
        f"file={disk},format=raw,if=virtio,cache=unsafe",
        "-netdev",
        "user,id=net0",
        "-device",
        "virtio-net-pci,netdev=net0",
        "-device",
        "virtio-rng-pci",
    ]
    log = (workdir / "qemu.log").open("wb")
    process = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    log.close()
    vm = Vm(process, serial, monitor)
    try:
        yield vm
    finally:
        vm.stop()
