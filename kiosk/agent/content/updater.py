"""Bring the terminal to a content version: TUF-verified download, stage, switch, health check.

The agent's runtime calls :meth:`ContentUpdater.update_to` when the retained ``desired`` topic
names a content version other than :meth:`ContentUpdater.current_version` (or when the
``refresh_content`` command arrives), and reports each :class:`UpdateResult` as an event. The UI
shows :meth:`ContentUpdater.current_bundle_dir`, or the built-in bundle when it is None.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial as partial_call
from pathlib import Path
from typing import TYPE_CHECKING, Final

from pydantic import ValidationError

from kiosk.agent.content.store import StoreError, VersionStore
from kiosk.contract.catalog import CatalogError, load_catalog
from kiosk.contract.manifest import (
    MAX_FILE_BYTES,
    MAX_TOTAL_BYTES,
    Manifest,
    file_target,
    is_valid_version,
    manifest_target,
    sha256_of,
)
from kiosk.contract.places import PlacesError, load_places
from kiosk.contract.wire import ContentUpdateState

# tuf brings securesystemslib, cryptography and urllib3: about 12 MB resident that the agent,
# running for months and updating content rarely, should not carry. The methods below that talk
# to the repository import kiosk.agent.content.tufclient when an update actually runs.
if TYPE_CHECKING:
    from kiosk.agent.content.tufclient import CountingFetcher
    from kiosk.contract.tuf import FetcherInterface, Updater

log = logging.getLogger("kiosk.agent.content")

#: A manifest lists file names and hashes: far below this.
MAX_MANIFEST_BYTES: Final = 1024 * 1024
SESSION_OPEN_REASON: Final = "waiting for the resident session to end"

#: Returns why a bundle folder is not healthy, or None when it is.
HealthCheck = Callable[[Path], str | None]


@dataclass(frozen=True)
class UpdateResult:
    """Where an update stands, for the ``content_update`` event to the fleet."""

    version: str
    state: ContentUpdateState
    reason: str | None = None
    bytes_downloaded: int = 0
    files_downloaded: int = 0
    files_reused: int = 0

    def event_data(self) -> dict[str, str | int]:
        """The ``data`` of an :class:`kiosk.contract.mqtt.Event` (no personal data: names and
        counts)."""
        data: dict[str, str | int] = {
            "version": self.version,
            "state": self.state.value,
            "bytes_downloaded": self.bytes_downloaded,
            "files_downloaded": self.files_downloaded,
            "files_reused": self.files_reused,
        }
        if self.reason:
            data["reason"] = self.reason[:200]
        return data


@dataclass(frozen=True)
class ContentUpdaterSettings:
    """Where content lives on the terminal and where the fleet's TUF repository is."""

    content_dir: Path
    metadata_url: str
    targets_url: str
    #: The root.json shipped in the image: the first trusted keys.
    trusted_root: Path
    max_file_bytes: int = MAX_FILE_BYTES
    max_total_bytes: int = MAX_TOTAL_BYTES
    attempts: int = 3
    retry_delay_s: float = 2.0


class _Refused(Exception):
    """An update step refused; the message is the reason reported to the fleet."""


def default_health_check(bundle_dir: Path) -> str | None:
    """The catalog and the help-places guide parse; every local page is readable UTF-8 HTML."""
    try:
        load_catalog(bundle_dir)
        load_places(bundle_dir)
    except (CatalogError, PlacesError) as error:
        return str(error)
    for page in sorted(bundle_dir.rglob("*.html")):
        try:
            text = page.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            return f"{page.name}: cannot be read: {error}"
        if "<" not in text:
            return f"{page.name}: not an HTML page"
    return None


class ContentUpdater:
    """Updates one terminal's content; one update at a time (the agent calls it from a worker)."""

    def __init__(
        self,
        settings: ContentUpdaterSettings,
        session_open: Callable[[], bool] = lambda: False,
        health_check: HealthCheck = default_health_check,
        on_state: Callable[[UpdateResult], None] | None = None,
        fetcher: FetcherInterface | None = None,
    ) -> None:
        self.settings = settings
        self._session_open = session_open
        self._health_check = health_check
        self._on_state = on_state or (lambda result: None)
        self._inner_fetcher = fetcher
        self._counting_fetcher: CountingFetcher | None = None
        self.store = VersionStore(settings.content_dir)
        self.store.clean_leftovers()

    def current_version(self) -> str | None:
        return self.store.current_version()

    def current_bundle_dir(self) -> Path | None:
        """The bundle the UI must show, or None for the built-in one."""
        return self.store.current_dir()

    def _report(self, result: UpdateResult) -> UpdateResult:
        self._on_state(result)
        return result

    @property
    def _fetcher(self) -> CountingFetcher:
        """The fetcher of every update (its byte count goes on), made at the first update."""
        if self._counting_fetcher is None:
            from kiosk.agent.content.tufclient import CountingFetcher  # at the first update

            self._counting_fetcher = CountingFetcher(self._inner_fetcher)
        return self._counting_fetcher

    def _tuf_updater(self) -> Updater:
        from kiosk.agent.content.tufclient import new_tuf_updater  # at the first update

        metadata_dir = self.store.metadata_dir
        bootstrap = None
        if not (metadata_dir / "root.json").is_file():
            bootstrap = self.settings.trusted_root.read_bytes()
        return new_tuf_updater(
            metadata_dir,
            self.settings.metadata_url,
            self.settings.targets_url,
            self._fetcher,
            bootstrap,
        )

    def _with_retry(self, step: Callable[[], object]) -> None:
        # Called during an update only, when tufclient is already loaded.
        from kiosk.agent.content.tufclient import DownloadError, RepositoryError, tuf_reason

        for attempt in range(1, self.settings.attempts + 1):
            try:
                step()
                return
            except DownloadError as error:
                if attempt == self.settings.attempts:
                    raise _Refused(tuf_reason(error)) from error
                log.warning("content download failed (%s), retry %d", error, attempt)
                time.sleep(self.settings.retry_delay_s)
            except (RepositoryError, OSError) as error:
                raise _Refused(tuf_reason(error)) from error

    def update_to(self, version: str) -> UpdateResult:
        """Download, verify and stage ``version``; apply it if no resident session is open."""
        result = UpdateResult(version, ContentUpdateState.PENDING)
        if not is_valid_version(version):
            return self._report(
                replace(result, state=ContentUpdateState.FAILED, reason="bad version")
            )
        if version == self.current_version():
            return self._report(replace(result, state=ContentUpdateState.APPLIED))
        self._report(result)
        start_bytes = self._fetcher.bytes_received
        try:
            result = self._download_and_stage(version, result)
        except (_Refused, StoreError) as error:
            failed = replace(
                result,
                state=ContentUpdateState.FAILED,
                reason=str(error),
                bytes_downloaded=self._fetcher.bytes_received - start_bytes,
            )
            log.error("content %s refused, keeping %s: %s", version, self.current_version(), error)
            return self._report(failed)
        result = replace(result, bytes_downloaded=self._fetcher.bytes_received - start_bytes)
        return self.apply_staged(version, result)

    def _download_and_stage(self, version: str, result: UpdateResult) -> UpdateResult:
        result = self._report(replace(result, state=ContentUpdateState.DOWNLOADING))
        updater = self._tuf_updater()
        self._with_retry(updater.refresh)
        manifest = self._fetch_manifest(updater, version)
        downloaded = reused = 0
        for item in manifest.files:
            cached = self.store.object_path(item.sha256)
            if cached.is_file() and sha256_of(cached) == item.sha256:
                reused += 1
                continue
            info = updater.get_targetinfo(file_target(item.sha256))
            if info is None or info.length != item.length:
                raise _Refused(f"{item.path}: not signed by the repository as the manifest says")
            partial = cached.with_name(f".{cached.name}.tmp")
            self._with_retry(partial_call(updater.download_target, info, str(partial)))
            os.replace(partial, cached)
            downloaded += 1
        result = self._report(
            replace(
                result,
                state=ContentUpdateState.VERIFIED,
                files_downloaded=downloaded,
                files_reused=reused,
            )
        )
        staged = self.store.stage(manifest, self.settings.max_total_bytes)
        self.store.save_manifest(manifest)
        try:
            catalog = load_catalog(staged)
        except CatalogError as error:
            raise _Refused(f"the catalog of {version} is invalid: {error}") from error
        if catalog.version != version:
            raise _Refused(f"the catalog says version {catalog.version}, expected {version}")
        return self._report(replace(result, state=ContentUpdateState.STAGED))

    def _fetch_manifest(self, updater: Updater, version: str) -> Manifest:
        info = updater.get_targetinfo(manifest_target(version))
        if info is None:
            raise _Refused(f"version {version} is not published in the signed repository")
        if info.length > MAX_MANIFEST_BYTES:
            raise _Refused(f"the manifest of {version} is too big ({info.length} bytes)")
        path = self.store.manifests_dir / f".{version}.download.tmp"
        self._with_retry(lambda: updater.download_target(info, str(path)))
        try:
            manifest = Manifest.model_validate_json(path.read_bytes())
        except ValidationError as error:
            raise _Refused(f"the manifest of {version} is refused: {error}") from error
        finally:
            path.unlink(missing_ok=True)
        if manifest.version != version:
            raise _Refused(f"the manifest names version {manifest.version}, not {version}")
        problem = manifest.size_problem(self.settings.max_file_bytes, self.settings.max_total_bytes)
        if problem:
            raise _Refused(f"oversized bundle refused: {problem}")
        return manifest

    def apply_staged(self, version: str, result: UpdateResult | None = None) -> UpdateResult:
        """Switch to the staged ``version`` if no session is open; roll back if it is unhealthy."""
        result = result or UpdateResult(version, ContentUpdateState.STAGED)
        if self._session_open():
            return self._report(
                replace(result, state=ContentUpdateState.STAGED, reason=SESSION_OPEN_REASON)
            )
        try:
            old = self.store.switch_to(version)
        except StoreError as error:
            return self._report(replace(result, state=ContentUpdateState.FAILED, reason=str(error)))
        problem = self._health_check(self.store.version_dir(version))
        if problem:
            self.store.switch_back(version, old)
            log.error("content %s failed its health check, back on %s: %s", version, old, problem)
            reason = f"health check failed, rolled back to {old or 'built-in content'}: {problem}"
            return self._report(replace(result, state=ContentUpdateState.FAILED, reason=reason))
        self.store.prune()
        log.info("content %s applied (previous %s kept)", version, old)
        return self._report(replace(result, state=ContentUpdateState.APPLIED, reason=None))

    def roll_back(self) -> UpdateResult:
        """Show the previous version again (the operator's 'take it back')."""
        previous = self.store.previous_version()
        if previous is None:
            current = self.current_version() or "built-in"
            return UpdateResult(
                current, ContentUpdateState.FAILED, reason="no previous version kept"
            )
        return self.apply_staged(previous)
