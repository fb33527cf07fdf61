"""Bytes a terminal downloads for a content publish, and time for many terminals to apply one.

1. one page changed: a terminal on version A updates to B, which differs by one local page (and
   catalog.json, whose ``version`` field changes too); counted at the TUF fetcher: metadata +
   manifest + changed files;
2. ``--terminals N --size-mb M``: N updaters (in-process ContentUpdater instances, threads, not
   full agents with MQTT) apply a new version carrying an M MB file from one static HTTP server;
   time from publish to the last applied.

Floors, from the same run: (1) a gzip'd tar of only the files that changed, the least any
update could send (the one-page change); a gzip'd tar of the whole bundle (the first install);
(2) with ``--terminals``, N threads each fetching the same M MB file over plain HTTP from the
same static server, right after the update (no TUF, no manifest, no hashing).

Run: ``.venv/bin/python -m bench.content_bytes [--terminals 50 --size-mb 10]``.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import shutil
import tarfile
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.floor import emit, figure
from fleet.content.keys import new_signer
from fleet.content.repository import ContentRepository
from kiosk.agent.content.updater import ContentUpdater, ContentUpdaterSettings
from kiosk.contract.catalog import default_bundle_dir
from kiosk.contract.manifest import build_manifest
from kiosk.contract.mqtt import ContentUpdateState


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        del format, args


def bundle(folder: Path, version: str, page: str, big: bytes = b"") -> Path:
    shutil.copytree(default_bundle_dir(), folder)
    catalog = json.loads((folder / "catalog.json").read_text(encoding="utf-8"))
    catalog["version"] = version
    (folder / "catalog.json").write_text(json.dumps(catalog, ensure_ascii=False, indent=2))
    (folder / "pages").mkdir()
    for name in ("aide", "numeros", "confidentialite"):
        text = page if name == "aide" else f"<html><p>{name}</p>" + "x" * 4000 + "</html>"
        (folder / "pages" / f"{name}.html").write_text(text, encoding="utf-8")
    if big:
        (folder / "pages" / "video.bin").write_bytes(big)
    return folder


def tar_gz_bytes(folder: Path, paths: list[str]) -> int:
    """Size of a gzip'd tar of ``paths`` (relative to ``folder``)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(paths):
            archive.add(folder / path, arcname=path)
    return len(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--terminals", type=int, default=0)
    parser.add_argument("--size-mb", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="content-bench-"))
    repo = ContentRepository(work / "repo")
    root, targets, online = new_signer(), new_signer(), new_signer()
    repo.initialize([root], targets, online)
    handler = functools.partial(_Quiet, directory=str(repo.repo_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    def publish(version: str, page: str, big: bytes = b"") -> None:
        folder = bundle(work / f"b-{version}", version, page, big)
        repo.publish(folder, build_manifest(folder, version), targets, online)

    def settings(name: str) -> ContentUpdaterSettings:
        return ContentUpdaterSettings(
            content_dir=work / "terminals" / name,
            metadata_url=f"{base}/metadata/",
            targets_url=f"{base}/targets/",
            trusted_root=repo.metadata_dir / "1.root.json",
        )

    figures: dict[str, Any] = {}
    publish("2025.12.1", "<html><p>Aide, version 1</p></html>")
    terminal = ContentUpdater(settings("one"))
    first = terminal.update_to("2025.12.1")
    publish("2025.12.2", "<html><p>Aide, version 2</p></html>")
    second = terminal.update_to("2025.12.2")
    if (
        ContentUpdateState.APPLIED is not first.state
        or ContentUpdateState.APPLIED is not second.state
    ):
        raise SystemExit(f"update failed: {first} {second}")
    old = {f.path: f for f in build_manifest(work / "b-2025.12.1", "x").files}
    new = build_manifest(work / "b-2025.12.2", "x").files
    changed = [f.path for f in new if f.path not in old or old[f.path] != f]
    changed_floor = tar_gz_bytes(work / "b-2025.12.2", changed)
    figures["floor"] = figure(
        "bytes downloaded for a one-page change",
        "bytes",
        second.bytes_downloaded,
        changed_floor,
        "a gzip'd tar of only the files that changed: " + ", ".join(sorted(changed)),
        method="computed from the same two versions in the same run",
        first_install_bytes=first.bytes_downloaded,
        first_install_floor_bytes=tar_gz_bytes(work / "b-2025.12.2", [f.path for f in new]),
    )
    figures["one_page_change"] = {
        "first_install_bytes": first.bytes_downloaded,
        "bundle_bytes": sum(f.length for f in build_manifest(work / "b-2025.12.2", "x").files),
        "one_page_update_bytes": second.bytes_downloaded,
        "files_downloaded": second.files_downloaded,
        "files_reused": second.files_reused,
    }
    if args.terminals:
        fleet = [ContentUpdater(settings(f"t{i}")) for i in range(args.terminals)]
        with ThreadPoolExecutor(args.terminals) as pool:
            list(pool.map(lambda t: t.update_to("2025.12.2"), fleet))
        big = os.urandom(args.size_mb * 1024 * 1024)
        start = time.monotonic()
        publish("2025.12.3", "<html><p>Aide, version 3</p></html>", big)
        with ThreadPoolExecutor(args.terminals) as pool:
            results = list(pool.map(lambda t: t.update_to("2025.12.3"), fleet))
        elapsed = time.monotonic() - start
        (repo.repo_dir / "floor.bin").write_bytes(big)

        def fetch(_index: int) -> int:
            with urllib.request.urlopen(f"{base}/floor.bin", timeout=120) as response:
                return len(response.read())

        floor_start = time.monotonic()
        with ThreadPoolExecutor(args.terminals) as pool:
            fetched = list(pool.map(fetch, range(args.terminals)))
        floor_s = time.monotonic() - floor_start
        if fetched != [len(big)] * args.terminals:
            raise SystemExit("the plain downloads came back short")
        figures["fleet_update"] = {
            "terminals": args.terminals,
            "size_mb": args.size_mb,
            "applied": sum(r.state is ContentUpdateState.APPLIED for r in results),
            "seconds_from_publish_to_all_applied": round(elapsed, 2),
            "floor": figure(
                "seconds from publish to all applied",
                "s",
                elapsed,
                floor_s,
                f"{args.terminals} threads fetching the same {args.size_mb} MB file over plain "
                "HTTP from the same static server",
                method="the floor right after the update, in the same run",
            ),
        }
    server.shutdown()
    shutil.rmtree(work)
    emit({"benchmark": "content_bytes", **figures}, indent=2)


if __name__ == "__main__":
    main()
