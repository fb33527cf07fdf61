"""Bytes a terminal downloads for a content publish, and time for many terminals to apply one.

1. one page changed: a terminal on version A updates to B, which differs by one local page (and
   catalog.json, whose ``version`` field changes too); counted at the TUF fetcher: metadata +
   manifest + changed files;
2. ``--terminals N --size-mb M``: N updaters (in-process ContentUpdater instances, threads, not
   full agents with MQTT) apply a new version carrying an M MB file from one static HTTP server;
   time from publish to the last applied.

Run: ``.venv/bin/python bench/content_bytes.py [--terminals 50 --size-mb 10]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fleet.content.keys import new_signer
from fleet.content.repository import ContentRepository
from kiosk.agent.content.manifest import build_manifest
from kiosk.agent.content.updater import ContentUpdater, ContentUpdaterSettings, UpdateState
from kiosk.catalog import default_bundle_dir


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
    if UpdateState.APPLIED is not first.state or UpdateState.APPLIED is not second.state:
        raise SystemExit(f"update failed: {first} {second}")
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
        figures["fleet_update"] = {
            "terminals": args.terminals,
            "size_mb": args.size_mb,
            "applied": sum(r.state is UpdateState.APPLIED for r in results),
            "seconds_from_publish_to_all_applied": round(time.monotonic() - start, 2),
        }
    server.shutdown()
    shutil.rmtree(work)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
