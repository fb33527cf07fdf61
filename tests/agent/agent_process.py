"""Run the real ``kiosk-agent`` as a subprocess with a configuration written for the test."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STOP_TIMEOUT_S = 15.0


def write_config(
    path: Path,
    terminal_id: str,
    host: str,
    port: int,
    password: str,
    state_dir: Path | None = None,
    interval_s: float = 0.5,
    keepalive_s: int = 2,
    extra: str = "",
    ca_file: Path | None = None,
    ui_liveness_s: float = 10.0,
) -> Path:
    """A configuration for a simulated terminal that reports quickly (every sample is sent).

    ``extra``: more TOML appended at the end (e.g. an ``[outbox]`` or ``[debug]`` section).
    """
    state = f'state_dir = "{state_dir}"\n' if state_dir else ""
    tls = f'ca_file = "{ca_file}"\n' if ca_file else ""
    path.write_text(
        f'terminal_id = "{terminal_id}"\n{state}'
        f'[mqtt]\nhost = "{host}"\nport = {port}\npassword = "{password}"\n{tls}'
        f"keepalive_s = {keepalive_s}\nwill_delay_s = {keepalive_s // 2}\n"
        f"[health]\ninterval_s = {interval_s}\nmax_silence_s = {interval_s}\n"
        f'[ui]\nsocket = "{path.parent / (terminal_id + ".sock")}"\n'
        f"liveness_timeout_s = {ui_liveness_s}\n"
        '[actions]\nbackend = "simulated"\n[enclosure]\nbackend = "simulated"\n'
        f'[sensors]\nbackend = "simulated"\n{extra}'
    )
    return path


def agent_command(config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "kiosk.agent", "--config", str(config), *extra]


class AgentProcess:
    """A running agent whose log lines are kept in a file and offered to the test in a queue."""

    def __init__(self, config: Path, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        # There before the reader thread opens it: a test may read it at once (nothing yet).
        log_path.touch()
        self.lines: queue.Queue[str] = queue.Queue()
        self.process = subprocess.Popen(
            agent_command(config, "--log-level", "debug"),
            env=None if env is None else {**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        with self.log_path.open("a") as log:
            for line in self.process.stderr:
                log.write(line)
                log.flush()
                self.lines.put(line)

    def wait_for_log(self, text: str, timeout_s: float = 10.0) -> str:
        """The first new log line containing ``text``; fail after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                break
            if text in line:
                return line
        raise AssertionError(f"no log line with {text!r} within {timeout_s} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=STOP_TIMEOUT_S)
        self._reader.join(timeout=STOP_TIMEOUT_S)


@contextmanager
def running_agent(
    config: Path, log_path: Path, env: dict[str, str] | None = None
) -> Iterator[AgentProcess]:
    """Start the agent at debug level (``env``: extra variables); kill it if left running."""
    agent = AgentProcess(config, log_path, env)
    try:
        yield agent
    finally:
        agent.stop()
