"""N real agents follow one retained desired content version: time from publish to all applied.

Everything is real except the hardware: a Mosquitto with the project's ACL (N terminal users and
the fleet), a TUF repository published by ``ContentRepository`` and served by a static HTTP server
(``ThreadingHTTPServer``), and N ``kiosk-agent`` processes (``python -m kiosk.agent``, simulated
sensors, actions and enclosure), each with its own state dir, content dir and UI socket.

1. The repository gets a small base version; the agents start, come online (births seen by the
   fleet) and install it (warm-up: each terminal then runs a current version, as in the field).
2. A new version carrying ``--size-mb`` MB of incompressible local-page assets (several files)
   is signed and published with TUF.
3. The fleet publishes a retained ``Desired(content_version=V)`` to every terminal; the clock
   starts just before the first publish and stops when the last ``content_update`` "applied" event
   for V arrives on ``kiosk/v1/+/event``.

Floor: N threads, one per terminal, each fetching every file of the same new bundle over plain
HTTP from the same static server code (no MQTT, no TUF, no hashing, no unpacking), right before
the desired version is published and again once the last terminal applied it (B/A/B); the
floor is the mean of the two.

Run: ``.venv/bin/python -m bench.content_fleet [--terminals 50] [--size-mb 10]``; prints one JSON
object (figures written in ``docs/content.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.floor import emit, figure
from fleet.broker import start_broker
from fleet.content.keys import new_signer
from fleet.content.repository import ContentRepository
from kiosk.contract.catalog import default_bundle_dir
from kiosk.contract.manifest import build_manifest
from kiosk.contract.mqtt import (
    FLEET_USERNAME,
    TOPIC_ROOT,
    Channel,
    ContractError,
    Desired,
    Event,
    Status,
    decode_message,
    topic_for,
    utc_now,
)
from tests.agent.agent_process import write_config
from tests.content.helpers import static_server

ROOT = Path(__file__).resolve().parent.parent

BASE_VERSION = "2026.01.1"
NEW_VERSION = "2026.01.2"
TARGET_S = 60.0
ASSET_FILES = 10  # the big payload is split in this many files
STOP_TIMEOUT_S = 15.0


def make_bundle(folder: Path, version: str, asset_bytes: int) -> Path:
    """The built-in catalog and pictograms, three local pages, and ``asset_bytes`` of assets."""
    shutil.copytree(default_bundle_dir(), folder)
    catalog = json.loads((folder / "catalog.json").read_text(encoding="utf-8"))
    catalog["version"] = version
    (folder / "catalog.json").write_text(
        json.dumps(catalog, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    pages = folder / "pages"
    pages.mkdir()
    for name in ("aide", "numeros", "confidentialite"):
        text = f"<!doctype html><html lang=fr><title>{name}</title><p>{name}</p></html>\n"
        (pages / f"{name}.html").write_text(text, encoding="utf-8")
    if asset_bytes:
        media = pages / "media"
        media.mkdir()
        part = asset_bytes // ASSET_FILES
        for index in range(ASSET_FILES):
            size = part if index < ASSET_FILES - 1 else asset_bytes - part * (ASSET_FILES - 1)
            (media / f"plan-{index:02d}.bin").write_bytes(os.urandom(size))
    return folder


@dataclass
class Observed:
    """What the fleet saw, per terminal (times are ``time.monotonic()``)."""

    births: dict[str, float] = field(default_factory=dict)
    applied: dict[str, dict[str, tuple[float, dict[str, Any]]]] = field(default_factory=dict)
    failed: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    first_state: dict[str, dict[str, float]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.monotonic()
        try:
            address, message = decode_message(msg.topic, bytes(msg.payload))
        except ContractError as exc:
            with self.lock:
                self.rejected.append(f"{msg.topic}: {exc}")
            return
        tid = address.terminal_id
        with self.changed:
            if isinstance(message, Status) and message.state == "online":
                self.births.setdefault(tid, now)
            elif isinstance(message, Event) and message.kind == "content_update":
                version = str(message.data.get("version"))
                state = str(message.data.get("state"))
                self.first_state.setdefault(version, {}).setdefault(f"{tid}:{state}", now)
                if state == "applied":
                    self.applied.setdefault(version, {}).setdefault(tid, (now, dict(message.data)))
                elif state == "failed":
                    reason = str(message.data.get("reason", "no reason given"))
                    self.failed.setdefault(version, {}).setdefault(tid, []).append(reason)
            self.changed.notify_all()

    def wait(self, done: Any, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.changed.wait(min(remaining, 1.0))
        return True


def fleet_client(host: str, port: int, password: str, observed: Observed | None) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(FLEET_USERNAME, password)
    connected = threading.Event()
    client.on_connect = lambda *args: connected.set()
    if observed is not None:
        client.on_message = observed.on_message
    client.connect(host, port, keepalive=30)
    client.loop_start()
    if not connected.wait(10):
        raise SystemExit("the fleet could not connect to the broker")
    if observed is not None:
        for channel in (Channel.STATUS, Channel.EVENT):
            client.subscribe(f"{TOPIC_ROOT}/+/{channel.value}", qos=1)
    return client


def publish_desired(client: mqtt.Client, terminals: list[str], version: str) -> None:
    infos = []
    for tid in terminals:
        desired = Desired(content_version=version, sent_at=utc_now())
        infos.append(
            client.publish(topic_for(tid, Channel.DESIRED), desired.to_bytes(), qos=1, retain=True)
        )
    for info in infos:
        info.wait_for_publish(10)


def stop_agents(agents: dict[str, subprocess.Popen[bytes]]) -> dict[str, Any]:
    """SIGTERM all, then wait; kill only those still running after the timeout."""
    for process in agents.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    killed, codes = [], {}
    for tid, process in agents.items():
        try:
            codes[tid] = process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            codes[tid] = process.wait()
            killed.append(tid)
    return {
        "clean_exits": sum(code == 0 for code in codes.values()),
        "non_zero_exits": {tid: code for tid, code in codes.items() if code != 0},
        "killed_after_timeout": killed,
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def machine() -> dict[str, Any]:
    mem_total = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1]) // 1024
    except OSError:
        pass
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "mem_total_mb": mem_total,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def plain_downloads(base_url: str, paths: list[str], clients: int) -> float:
    """Seconds for ``clients`` threads to each fetch every one of ``paths`` over plain HTTP."""

    def fetch_all(_client: int) -> int:
        total = 0
        for path in paths:
            with urllib.request.urlopen(f"{base_url}/{path}", timeout=120) as response:
                total += len(response.read())
        return total

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(fetch_all, range(clients)))
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=50)
    parser.add_argument("--size-mb", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after (s)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="content-fleet-"))
    terminals = [f"bdx-bench-{i:03d}" for i in range(args.terminals)]
    credentials = {tid: secrets.token_urlsafe(12) for tid in terminals}
    credentials[FLEET_USERNAME] = secrets.token_urlsafe(12)
    observed = Observed()
    result: dict[str, Any] = {
        "benchmark": "content_fleet",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "terminals": args.terminals,
        "machine": machine(),
        "target_s": TARGET_S,
    }
    agents: dict[str, subprocess.Popen[bytes]] = {}

    with ExitStack() as stack:
        (work / "broker").mkdir()
        broker = start_broker(work / "broker", credentials)
        stack.callback(broker.stop)
        repo = ContentRepository(work / "repo")
        root, targets, online = new_signer(), new_signer(), new_signer()
        repo.initialize([root], targets, online)

        def publish(version: str, asset_bytes: int) -> dict[str, Any]:
            folder = make_bundle(work / f"bundle-{version}", version, asset_bytes)
            manifest = build_manifest(folder, version)
            started = time.monotonic()
            repo.publish(folder, manifest, targets, online)
            return {
                "version": version,
                "bundle_bytes": sum(f.length for f in manifest.files),
                "files": len(manifest.files),
                "tuf_publish_s": round(time.monotonic() - started, 2),
            }

        base = publish(BASE_VERSION, 0)
        base_url = stack.enter_context(static_server(repo.repo_dir))
        fleet = fleet_client(broker.host, broker.port, credentials[FLEET_USERNAME], observed)
        stack.callback(fleet.loop_stop)
        stack.callback(fleet.disconnect)

        # Agents: one process each, started at once; the fleet waits for every birth.
        started = time.monotonic()
        for tid in terminals:
            home = work / "terminals" / tid
            home.mkdir(parents=True)
            config = write_config(
                home / "agent.toml",
                tid,
                broker.host,
                broker.port,
                credentials[tid],
                state_dir=home / "state",
                interval_s=30.0,
                keepalive_s=30,
                extra=(
                    f'[content]\ndir = "{home / "content"}"\nbase_url = "{base_url}"\n'
                    f'trusted_root = "{repo.metadata_dir / "1.root.json"}"\n'
                ),
            )
            with (home / "agent.log").open("wb") as log:
                agents[tid] = subprocess.Popen(
                    [sys.executable, "-m", "kiosk.agent", "--config", str(config)],
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    cwd=ROOT,
                )
        try:
            all_online = observed.wait(lambda: len(observed.births) >= len(terminals), 180)
            result["agents_online_s"] = round(time.monotonic() - started, 2)
            if not all_online:
                missing = sorted(set(terminals) - set(observed.births))
                raise SystemExit(f"agents not online after 180 s: {missing[:10]}")

            # Warm-up: every terminal installs the small base version first.
            warm_start = time.monotonic()
            publish_desired(fleet, terminals, BASE_VERSION)
            observed.wait(
                lambda: (
                    len(observed.applied.get(BASE_VERSION, {}))
                    + len(observed.failed.get(BASE_VERSION, {}))
                    >= len(terminals)
                ),
                args.timeout,
            )
            base_applied = observed.applied.get(BASE_VERSION, {})
            result["base"] = {
                **base,
                "applied": len(base_applied),
                "failed": {t: r[-1] for t, r in observed.failed.get(BASE_VERSION, {}).items()},
                "seconds_to_all_applied": round(
                    max((t for t, _ in base_applied.values()), default=warm_start) - warm_start,
                    2,
                ),
            }

            # The measured update, between two plain downloads of the same bundle (B/A/B).
            new = publish(NEW_VERSION, int(args.size_mb * 1024 * 1024))
            new_folder = work / f"bundle-{NEW_VERSION}"
            new_paths = [f.path for f in build_manifest(new_folder, NEW_VERSION).files]
            plain_url = stack.enter_context(static_server(new_folder))
            floors = [plain_downloads(plain_url, new_paths, len(terminals))]
            t0 = time.monotonic()
            publish_desired(fleet, terminals, NEW_VERSION)
            desired_sent_s = time.monotonic() - t0
            observed.wait(
                lambda: (
                    len(observed.applied.get(NEW_VERSION, {}))
                    + len(
                        set(observed.failed.get(NEW_VERSION, {}))
                        - set(observed.applied.get(NEW_VERSION, {}))
                    )
                    >= len(terminals)
                ),
                args.timeout,
            )
            waited_s = time.monotonic() - t0
            floors.append(plain_downloads(plain_url, new_paths, len(terminals)))
        finally:
            result["stop"] = stop_agents(agents)

        with observed.lock:
            applied = dict(observed.applied.get(NEW_VERSION, {}))
            failed = {t: r for t, r in observed.failed.get(NEW_VERSION, {}).items()}
            firsts = dict(observed.first_state.get(NEW_VERSION, {}))
        times = [t - t0 for t, _ in applied.values()]
        downloads = [float(d.get("bytes_downloaded", 0)) for _, d in applied.values()]
        started_dl = [t - t0 for key, t in firsts.items() if key.endswith(":downloading")]
        missing = sorted(set(terminals) - set(applied) - set(failed))
        all_applied = len(applied) == len(terminals)
        total_s = max(times) if all_applied else None
        result["update"] = {
            **new,
            "size_mb": args.size_mb,
            "desired_publish_s": round(desired_sent_s, 3),
            "applied": len(applied),
            "failed": {t: reasons[-1] for t, reasons in failed.items() if t not in applied},
            "retried_after_failure": sorted(set(failed) & set(applied)),
            "no_answer": missing,
            "seconds_from_desired_to_all_applied": round(total_s, 2) if total_s else None,
            "seconds_from_tuf_publish_to_all_applied": (
                round(total_s + new["tuf_publish_s"], 2) if total_s else None
            ),
            "per_terminal_s": {
                "min": round(min(times), 2) if times else None,
                "p50": round(statistics.median(times), 2) if times else None,
                "p95": round(percentile(times, 95), 2) if times else None,
                "max": round(max(times), 2) if times else None,
            },
            "first_downloading_event_s": {
                "p50": round(statistics.median(started_dl), 2) if started_dl else None,
                "max": round(max(started_dl), 2) if started_dl else None,
            },
            "bytes_downloaded_per_terminal": {
                "min": int(min(downloads)) if downloads else None,
                "mean": int(statistics.fmean(downloads)) if downloads else None,
                "max": int(max(downloads)) if downloads else None,
            },
            "waited_s": round(waited_s, 2),
        }
        result["target_met"] = bool(all_applied and total_s is not None and total_s <= TARGET_S)
        result["floor"] = figure(
            "seconds from the desired version to all applied",
            "s",
            total_s if total_s is not None else waited_s,
            statistics.fmean(floors),
            f"{len(terminals)} threads each fetching every file of the same bundle over plain "
            "HTTP from the same static server code",
            method="the floor just before and just after the update (B/A/B), mean",
            floor_runs_s=[round(f, 2) for f in floors],
        )
        result["contract_rejections"] = observed.rejected[:10]
    if args.keep:
        result["work"] = str(work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    emit(result, indent=2)


if __name__ == "__main__":
    main()
