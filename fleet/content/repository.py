"""The fleet's TUF repository of content versions, built with ``tuf.api.metadata``.

Layout of ``repo_dir`` (everything in it may be served as static files; keys live elsewhere)::

    metadata/  1.root.json 2.root.json ... root.json
               N.targets.json N.snapshot.json  (consistent snapshots) and timestamp.json
    targets/   manifests/<version>.json  files/<sha256>

Writes are ordered so that a client reading at any moment sees a consistent repository: target
files first, then targets, then snapshot, and ``timestamp.json`` last, each written to a temporary
name and renamed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from tuf.api.serialization.json import JSONSerializer

from kiosk.contract.manifest import Manifest, file_target, manifest_target
from kiosk.contract.tuf import (
    Metadata,
    MetaFile,
    Root,
    Signer,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)

METADATA_DIR: Final = "metadata"
TARGETS_DIR: Final = "targets"
# Compact JSON: terminals download targets.json on every publish, often over 4G.
_SERIALIZER: Final = JSONSerializer(compact=True)

Clock = Callable[[], datetime]


class RepositoryError(Exception):
    """The repository refuses the operation; the message says why."""


@dataclass(frozen=True)
class Expiries:
    """How long each role's signature stays valid (configurable; these are the defaults)."""

    root: timedelta = timedelta(days=365)
    targets: timedelta = timedelta(days=91)
    snapshot: timedelta = timedelta(days=7)
    timestamp: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class PublishResult:
    version: str
    targets_version: int
    new_files: int
    reused_files: int


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class ContentRepository:
    """Create, publish to and re-sign the repository in ``repo_dir``."""

    def __init__(self, repo_dir: Path, expiries: Expiries | None = None, clock: Clock = _utc_now):
        self.repo_dir = repo_dir
        self.metadata_dir = repo_dir / METADATA_DIR
        self.targets_dir = repo_dir / TARGETS_DIR
        self.expiries = expiries or Expiries()
        self._clock = clock

    # -- reading -------------------------------------------------------------------------------

    def root(self) -> Metadata[Root]:
        return Metadata[Root].from_file(str(self._existing("root")))

    def targets(self) -> Metadata[Targets]:
        return Metadata[Targets].from_file(str(self._existing("targets")))

    def snapshot(self) -> Metadata[Snapshot]:
        return Metadata[Snapshot].from_file(str(self._existing("snapshot")))

    def timestamp(self) -> Metadata[Timestamp]:
        return Metadata[Timestamp].from_file(str(self._existing("timestamp")))

    def _existing(self, role: str) -> Path:
        path = self.metadata_dir / f"{role}.json"
        if not path.is_file():
            raise RepositoryError(f"{path} is missing: run 'fleet content keys init' first")
        return path

    def published_versions(self) -> list[str]:
        """The content versions published so far, oldest first."""
        prefix, suffix = "manifests/", ".json"
        paths = [p for p in self.targets().signed.targets if p.startswith(prefix)]
        return [p.removeprefix(prefix).removesuffix(suffix) for p in paths]

    # -- writing -------------------------------------------------------------------------------

    def _expiry(self, lifetime: timedelta) -> datetime:
        return (self._clock() + lifetime).replace(microsecond=0)

    def _write_root(self, root: Metadata[Root]) -> None:
        data = root.to_bytes(_SERIALIZER)
        _write_atomically(self.metadata_dir / f"{root.signed.version}.root.json", data)
        _write_atomically(self.metadata_dir / "root.json", data)

    def _write_versioned(self, md: Metadata[Targets] | Metadata[Snapshot], role: str) -> None:
        data = md.to_bytes(_SERIALIZER)
        _write_atomically(self.metadata_dir / f"{md.signed.version}.{role}.json", data)
        _write_atomically(self.metadata_dir / f"{role}.json", data)

    def initialize(
        self, root_signers: list[Signer], targets_signer: Signer, online_signer: Signer
    ) -> None:
        """Create root (v1) trusting these keys, then empty targets, snapshot and timestamp."""
        if (self.metadata_dir / "root.json").exists():
            raise RepositoryError(f"{self.repo_dir} already holds a repository")
        root = Metadata(Root(expires=self._expiry(self.expiries.root), consistent_snapshot=True))
        for signer in root_signers:
            root.signed.add_key(signer.public_key, Root.type)
        root.signed.roles[Root.type].threshold = len(root_signers)
        root.signed.add_key(targets_signer.public_key, Targets.type)
        root.signed.add_key(online_signer.public_key, Snapshot.type)
        root.signed.add_key(online_signer.public_key, Timestamp.type)
        for signer in root_signers:
            root.sign(signer, append=True)
        self._write_root(root)
        targets = Metadata(Targets(expires=self._expiry(self.expiries.targets)))
        targets.sign(targets_signer)
        self._write_versioned(targets, Targets.type)
        self._sign_snapshot_and_timestamp(online_signer, targets.signed.version)

    def _sign_snapshot_and_timestamp(self, online_signer: Signer, targets_version: int) -> None:
        try:
            snapshot = self.snapshot()
            snapshot.signed.version += 1
        except RepositoryError:
            snapshot = Metadata(Snapshot())
        snapshot.signed.meta = {"targets.json": MetaFile(version=targets_version)}
        snapshot.signed.expires = self._expiry(self.expiries.snapshot)
        snapshot.sign(online_signer, append=False)
        self._write_versioned(snapshot, Snapshot.type)
        try:
            timestamp = self.timestamp()
            timestamp.signed.version += 1
        except RepositoryError:
            timestamp = Metadata(Timestamp())
        timestamp.signed.snapshot_meta = MetaFile(version=snapshot.signed.version)
        timestamp.signed.expires = self._expiry(self.expiries.timestamp)
        timestamp.sign(online_signer, append=False)
        _write_atomically(self.metadata_dir / "timestamp.json", timestamp.to_bytes(_SERIALIZER))

    def refresh_online_roles(self, online_signer: Signer) -> None:
        """Re-sign snapshot and timestamp with new expiries (run daily by a timer)."""
        self._sign_snapshot_and_timestamp(online_signer, self.targets().signed.version)

    def publish(
        self, bundle_dir: Path, manifest: Manifest, targets_signer: Signer, online_signer: Signer
    ) -> PublishResult:
        """Add the files and manifest of a checked bundle as targets, then sign a new version."""
        targets = self.targets()
        manifest_path = manifest_target(manifest.version)
        if manifest_path in targets.signed.targets:
            raise RepositoryError(
                f"version {manifest.version} is already published; raise the catalog's version"
            )
        new_files = reused = 0
        for item in manifest.files:
            target_path = file_target(item.sha256)
            if target_path in targets.signed.targets:
                reused += 1
                continue
            destination = self.targets_dir / target_path
            if not destination.exists():
                temporary = destination.with_name(f".{destination.name}.tmp")
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(bundle_dir / item.path, temporary)
                os.replace(temporary, destination)
            target = TargetFile.from_file(target_path, str(destination), ["sha256"])
            if target.hashes["sha256"] != item.sha256:
                raise RepositoryError(f"{item.path} changed while it was being published")
            targets.signed.targets[target_path] = target
            new_files += 1
        manifest_bytes = manifest.to_bytes()
        _write_atomically(self.targets_dir / manifest_path, manifest_bytes)
        targets.signed.targets[manifest_path] = TargetFile.from_data(
            manifest_path, manifest_bytes, ["sha256"]
        )
        self.sign_targets(targets, targets_signer, online_signer)
        return PublishResult(manifest.version, targets.signed.version, new_files, reused)

    def sign_targets(
        self, targets: Metadata[Targets], targets_signer: Signer, online_signer: Signer
    ) -> None:
        """Bump, sign and write ``targets``, then a snapshot and timestamp that name it."""
        targets.signed.version += 1
        targets.signed.expires = self._expiry(self.expiries.targets)
        targets.sign(targets_signer, append=False)
        self._write_versioned(targets, Targets.type)
        self._sign_snapshot_and_timestamp(online_signer, targets.signed.version)

    def rotate_keys(
        self,
        old_root_signers: list[Signer],
        new_root_signers: list[Signer],
        targets_signer: Signer | None = None,
        online_signer: Signer | None = None,
    ) -> int:
        """Trust new keys: a new root signed by the old root keys and the new ones.

        Terminals walk from the root they trust to the newest one version by version, so each
        step must carry the old keys' signatures. Passing ``targets_signer`` or
        ``online_signer`` replaces those roles' keys too (re-sign the roles afterwards).
        Returns the new root version.
        """
        root = self.root()
        signed = root.signed
        replaced = {Root.type: [s.public_key for s in new_root_signers]}
        if targets_signer is not None:
            replaced[Targets.type] = [targets_signer.public_key]
        if online_signer is not None:
            replaced[Snapshot.type] = [online_signer.public_key]
            replaced[Timestamp.type] = [online_signer.public_key]
        for role, keys in replaced.items():
            for keyid in list(signed.roles[role].keyids):
                signed.revoke_key(keyid, role)
            for key in keys:
                signed.add_key(key, role)
        signed.roles[Root.type].threshold = len(new_root_signers)
        signed.version += 1
        signed.expires = self._expiry(self.expiries.root)
        root.signatures.clear()
        for signer in [*old_root_signers, *new_root_signers]:
            root.sign(signer, append=True)
        self._write_root(root)
        return signed.version

    def resign_all(self, targets_signer: Signer, online_signer: Signer) -> None:
        """Re-sign targets, snapshot and timestamp (after a key rotation or near expiry)."""
        self.sign_targets(self.targets(), targets_signer, online_signer)
