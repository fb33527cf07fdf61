"""The demo's kiosk on a machine without a display: a virtual screen seen through a browser.

Three Debian programs, each reachable from this machine only:

- ``Xvfb``: an X server in memory, 1280×800 like the kiosk's window; no TCP listener.
- ``x11vnc``: serves that screen over VNC on 127.0.0.1, with a password drawn for this run.
- ``websockify`` with Debian's noVNC: the VNC client as a web page, on 127.0.0.1 too.

The kiosk runs there exactly as on a developer's display (Qt's ``xcb`` platform), so a click in
the browser reaches QML as a pointer press, as a finger does on the terminal. Qt's own ``vnc``
platform plugin would need no X server, but it listens on every interface (no address option
in Qt 6), draws without OpenGL, and still needs websockify and noVNC to reach a browser.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from fleet.broker import free_port, wait_for_port

#: Where Debian's novnc package puts the web client.
NOVNC_DIR: Final = Path("/usr/share/novnc")
SCREEN_SIZE: Final = "1280x800"
#: The programs, and the Debian package of each (what to install when one is missing).
PROGRAMS: Final = {"Xvfb": "xvfb", "x11vnc": "x11vnc", "websockify": "novnc"}


class ScreenError(RuntimeError):
    """The virtual screen could not start; the message says what to install or where to look."""


def missing_programs() -> list[str]:
    """Debian packages still to install for the virtual screen."""
    missing = [package for program, package in PROGRAMS.items() if shutil.which(program) is None]
    if not (NOVNC_DIR / "vnc_lite.html").exists() and "novnc" not in missing:
        missing.append("novnc")
    return missing


@dataclass
class VirtualScreen:
    """Xvfb, x11vnc and noVNC started together; :attr:`display` is for the kiosk's ``DISPLAY``."""

    work_dir: Path
    logs_dir: Path
    display: str = ""
    vnc_port: int = 0
    web_port: int = 0
    password: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The browser's address of the screen: noVNC connects at once, scaled to the window.

        noVNC's small client (``vnc_lite.html``): a status line above the screen and nothing
        over it (the full client's side bar covers the left edge of the kiosk)."""
        return f"http://127.0.0.1:{self.web_port}/vnc_lite.html?scale=true&password={self.password}"

    def start(self, timeout_s: float = 20.0) -> None:
        missing = missing_programs()
        if missing:
            raise ScreenError(
                "the virtual screen needs the Debian packages "
                + " ".join(missing)
                + " (make demo installs them)"
            )
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._start_x(timeout_s)
        # VNC passwords are 8 characters at most (the protocol's DES challenge).
        self.password = secrets.token_hex(4)
        password_file = self.work_dir / "vnc.passwd"
        password_file.write_text(self.password + "\n")
        password_file.chmod(0o600)
        self.vnc_port = free_port()
        self._spawn(
            "x11vnc",
            [
                "x11vnc", "-display", self.display, "-localhost", "-rfbport", str(self.vnc_port),
                "-passwdfile", str(password_file), "-forever", "-shared", "-noxdamage",
                "-quiet",
            ],
        )  # fmt: skip
        if not wait_for_port("127.0.0.1", self.vnc_port, timeout_s=timeout_s):
            raise ScreenError(f"x11vnc did not start; see {self.logs_dir / 'x11vnc.log'}")
        self.web_port = free_port()
        self._spawn(
            "novnc",
            [
                "websockify", "--web", str(NOVNC_DIR), f"127.0.0.1:{self.web_port}",
                f"127.0.0.1:{self.vnc_port}",
            ],
        )  # fmt: skip
        if not wait_for_port("127.0.0.1", self.web_port, timeout_s=timeout_s):
            raise ScreenError(f"noVNC did not start; see {self.logs_dir / 'novnc.log'}")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def _start_x(self, timeout_s: float) -> None:
        """Xvfb on a display number it picks itself (``-displayfd``), without a TCP listener."""
        read_end, write_end = os.pipe()
        try:
            self._spawn(
                "xvfb",
                [
                    "Xvfb", "-displayfd", str(write_end), "-screen", "0", f"{SCREEN_SIZE}x24",
                    "-nolisten", "tcp", "-noreset",
                ],
                pass_fds=(write_end,),
            )  # fmt: skip
            os.close(write_end)
            write_end = -1
            number = _read_display_number(read_end, timeout_s)
        finally:
            if write_end >= 0:
                os.close(write_end)
            os.close(read_end)
        if number is None:
            raise ScreenError(f"Xvfb did not start; see {self.logs_dir / 'xvfb.log'}")
        self.display = f":{number}"

    def _spawn(self, name: str, argv: list[str], pass_fds: tuple[int, ...] = ()) -> None:
        log = (self.logs_dir / f"{name}.log").open("ab")
        try:
            self.processes.append(
                subprocess.Popen(
                    argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    pass_fds=pass_fds,
                    start_new_session=True,
                )
            )
        finally:
            log.close()


def _read_display_number(fd: int, timeout_s: float) -> int | None:
    """The number Xvfb writes on ``-displayfd`` once it accepts clients; None if it never does."""
    import select

    text = b""
    ready, _, _ = select.select([fd], [], [], timeout_s)
    while ready:
        chunk = os.read(fd, 64)
        if not chunk:
            break
        text += chunk
        if text.endswith(b"\n"):
            break
        ready, _, _ = select.select([fd], [], [], timeout_s)
    digits = text.strip()
    return int(digits) if digits.isdigit() else None
