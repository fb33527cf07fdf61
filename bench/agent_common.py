"""What the agent benchmarks share: a broker, a real agent process, a byte-counting relay.

Run the benchmarks from the repository root (``.venv/bin/python -m bench.agent_X``); they reuse
the fault tests' broker (persistence, TLS with a throwaway CA) and fleet listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from kiosk.contract.mqtt import FLEET_USERNAME
from tests.agent.broker_control import (
    RestartableBroker,
    TlsFiles,
    make_tls_files,
    restartable_broker,
)
from tests.agent.fleet_listener import FleetListener, fleet_listener

ROOT = Path(__file__).resolve().parent.parent

TERMINAL = "bdx-bench-001"
#: A second terminal name, for a benchmark's bare client beside the agent (the broker ties
#: client ids to user names: one connection each).
FLOOR_TERMINAL = "bdx-bench-002"

__all__ = [
    "FLOOR_TERMINAL",
    "TERMINAL",
    "ByteRelay",
    "FleetListener",
    "RestartableBroker",
    "TlsFiles",
    "agent_config",
    "bench_broker",
    "fleet_listener",
    "make_tls_files",
    "running_agent_process",
]


def credentials() -> dict[str, str]:
    return {name: secrets.token_urlsafe(12) for name in (FLEET_USERNAME, TERMINAL, FLOOR_TERMINAL)}


@contextlib.contextmanager
def bench_broker(
    directory: Path, tls: bool = False
) -> Iterator[tuple[RestartableBroker, dict[str, str], TlsFiles | None]]:
    """A broker with the project's ACL; with ``tls``, a TLS listener and its CA too."""
    users = credentials()
    files = make_tls_files(directory / "pki") if tls else None
    with restartable_broker(directory / "broker", users, tls=files) as broker:
        yield broker, users, files


def agent_config(
    path: Path,
    port: int,
    password: str,
    state_dir: Path,
    ca_file: Path | None = None,
    extra: str = "",
    mqtt_extra: str = "",
) -> Path:
    """An agent configuration at default settings (psutil sensors) unless ``extra`` says more."""
    tls = f'ca_file = "{ca_file}"\n' if ca_file else ""
    path.write_text(
        f'terminal_id = "{TERMINAL}"\nstate_dir = "{state_dir}"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {port}\npassword = "{password}"\n{tls}{mqtt_extra}'
        f"{extra}"
    )
    return path


@contextlib.contextmanager
def running_agent_process(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "kiosk.agent", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ByteRelay:
    """A TCP relay between the agent and the broker that counts the bytes each way."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.upstream_bytes = 0  # agent -> broker
        self.downstream_bytes = 0  # broker -> agent
        self.connections = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def total(self) -> int:
        return self.upstream_bytes + self.downstream_bytes

    def __enter__(self) -> ByteRelay:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter, up: bool) -> None:
            try:
                while data := await source.read(65536):
                    if up:
                        self.upstream_bytes += len(data)
                    else:
                        self.downstream_bytes += len(data)
                    sink.write(data)
                    await sink.drain()
            except OSError as exc:
                # A reset ends this direction of the relay; the agent will reconnect.
                del exc
            finally:
                sink.close()

        await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))
