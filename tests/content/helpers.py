"""Content bundles, a signed repository and a static HTTP server for the content tests."""

from __future__ import annotations

import functools
import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fleet.content.keys import new_signer
from fleet.content.repository import ContentRepository
from kiosk.contract.catalog import default_bundle_dir
from kiosk.contract.manifest import build_manifest
from kiosk.contract.tuf import CryptoSigner

PAGE = "<!doctype html><html lang=fr><title>Aide</title><p>Lieux d'aide, version {n}</p></html>\n"


def make_bundle(folder: Path, version: str, page_text: str = "1") -> Path:
    """A copy of the built-in bundle with its version set and a local help page."""
    shutil.copytree(default_bundle_dir(), folder)
    catalog_path = folder / "catalog.json"
    catalog: dict[str, Any] = json.loads(catalog_path.read_text(encoding="utf-8"))
    catalog["version"] = version
    catalog_path.write_text(json.dumps(catalog, ensure_ascii=False, indent=2), encoding="utf-8")
    (folder / "pages").mkdir()
    (folder / "pages" / "aide.html").write_text(PAGE.format(n=page_text), encoding="utf-8")
    return folder


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        del format, args


class _Server(ThreadingHTTPServer):
    # The benchmark's whole fleet may connect at the same moment (bench/content_fleet.py).
    request_queue_size = 256


@contextmanager
def static_server(root: Path) -> Iterator[str]:
    """Serve ``root`` over HTTP on a free port; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Fleet:
    """A content repository with its keys, as the fleet keeps it."""

    repo: ContentRepository
    root_signer: CryptoSigner
    targets_signer: CryptoSigner
    online_signer: CryptoSigner
    work: Path

    def publish(self, version: str, page_text: str = "1") -> None:
        folder = self.work / f"bundle-{version}-{len(list(self.work.glob('bundle-*')))}"
        bundle = make_bundle(folder, version, page_text)
        self.repo.publish(
            bundle, build_manifest(bundle, version), self.targets_signer, self.online_signer
        )


def new_fleet(work: Path) -> Fleet:
    repo = ContentRepository(work / "repo")
    fleet = Fleet(repo, new_signer(), new_signer(), new_signer(), work)
    repo.initialize([fleet.root_signer], fleet.targets_signer, fleet.online_signer)
    return fleet
