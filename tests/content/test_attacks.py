"""Each attack or fault is refused with a clear reason, and the terminal keeps its content."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fleet.content.keys import new_signer
from fleet.content.repository import ContentRepository
from kiosk.agent.content.updater import ContentUpdater, ContentUpdaterSettings
from kiosk.contract.catalog import load_catalog
from kiosk.contract.manifest import file_target, manifest_target
from kiosk.contract.mqtt import ContentUpdateState
from kiosk.contract.tuf import Metadata, TargetFile, Targets
from tests.content.helpers import Fleet, make_bundle

GOOD = "2025.12.1"
NEXT = "2025.12.2"


@pytest.fixture
def on_good(fleet: Fleet, updater: ContentUpdater) -> ContentUpdater:
    """A terminal showing the good version."""
    fleet.publish(GOOD, page_text="good")
    assert updater.update_to(GOOD).state is ContentUpdateState.APPLIED
    return updater


def assert_refused(updater: ContentUpdater, version: str, *words: str) -> None:
    result = updater.update_to(version)
    assert result.state is ContentUpdateState.FAILED
    assert result.reason is not None
    for word in words:
        assert word in result.reason
    assert updater.current_version() == GOOD
    current = updater.current_bundle_dir()
    assert current is not None
    assert load_catalog(current).version == GOOD
    assert "good" in (current / "pages" / "aide.html").read_text(encoding="utf-8")


def test_tampered_file_is_refused(fleet: Fleet, on_good: ContentUpdater) -> None:
    fleet.publish(NEXT, page_text="next")
    targets = fleet.repo.targets().signed.targets
    # The new page (the other new file, catalog.json, has no "next" in it to tamper with).
    page = next(
        p
        for p in targets
        if p.startswith("files/")
        and p not in _good_files(fleet)
        and b"next" in (fleet.repo.targets_dir / p).read_bytes()
    )
    served = fleet.repo.targets_dir / page
    served.write_bytes(served.read_bytes().replace(b"next", b"evil"))
    assert_refused(on_good, NEXT, "tampered download")


def _good_files(fleet: Fleet) -> set[str]:
    manifest = json.loads((fleet.repo.targets_dir / manifest_target(GOOD)).read_bytes())
    return {file_target(item["sha256"]) for item in manifest["files"]}


def test_metadata_signed_with_a_wrong_key_is_refused(fleet: Fleet, on_good: ContentUpdater) -> None:
    intruder = Fleet(fleet.repo, fleet.root_signer, new_signer(), new_signer(), fleet.work)
    intruder.publish(NEXT, page_text="evil")
    assert_refused(on_good, NEXT, "signature not trusted")


def test_expired_metadata_is_refused(fleet: Fleet, on_good: ContentUpdater) -> None:
    fleet.publish(NEXT, page_text="next")
    # A frozen mirror: the last timestamp it serves was signed two days ago.
    frozen = ContentRepository(
        fleet.repo.repo_dir, clock=lambda: datetime.now(UTC) - timedelta(days=2)
    )
    frozen.refresh_online_roles(fleet.online_signer)
    assert_refused(on_good, NEXT, "expired metadata")


def test_older_metadata_is_refused(fleet: Fleet, on_good: ContentUpdater) -> None:
    old_timestamp = (fleet.repo.metadata_dir / "timestamp.json").read_bytes()
    fleet.publish(NEXT, page_text="next")
    fleet.repo.refresh_online_roles(fleet.online_signer)
    assert on_good.update_to(NEXT).state is ContentUpdateState.APPLIED
    # Ask to go back (the operator may), while a mirror replays yesterday's timestamp.
    assert on_good.roll_back().state is ContentUpdateState.APPLIED
    (fleet.repo.metadata_dir / "timestamp.json").write_bytes(old_timestamp)
    on_good.store.prune()
    shutil.rmtree(on_good.store.version_dir(NEXT), ignore_errors=True)
    assert_refused(on_good, NEXT, "rollback", "must be >=")


def test_mix_and_match_of_metadata_is_refused(fleet: Fleet, on_good: ContentUpdater) -> None:
    fleet.publish(NEXT, page_text="next")
    newest = fleet.repo.targets().signed.version
    metadata = fleet.repo.metadata_dir
    # Genuine, validly signed targets of an earlier publication, under the newest name.
    shutil.copyfile(metadata / f"{newest - 1}.targets.json", metadata / f"{newest}.targets.json")
    assert_refused(on_good, NEXT, "mix-and-match refused", "Expected targets")


def test_oversized_bundle_is_refused(
    fleet: Fleet, on_good: ContentUpdater, settings: ContentUpdaterSettings
) -> None:
    bundle = make_bundle(fleet.work / "big", NEXT)
    (bundle / "pages" / "video.html").write_bytes(b"<p>" + b"x" * 300_000)
    from kiosk.contract.manifest import build_manifest

    fleet.repo.publish(
        bundle, build_manifest(bundle, NEXT), fleet.targets_signer, fleet.online_signer
    )
    small = ContentUpdater(
        ContentUpdaterSettings(**{**settings.__dict__, "max_total_bytes": 200_000})
    )
    assert_refused(small, NEXT, "oversized bundle refused")


@pytest.mark.parametrize("path", ["../escape.html", "/etc/escape.html", ".hidden", "a/../../b"])
def test_paths_escaping_the_folder_are_refused(
    fleet: Fleet, on_good: ContentUpdater, path: str
) -> None:
    # Even signed by the real targets key: the terminal checks paths itself.
    good = json.loads((fleet.repo.targets_dir / manifest_target(GOOD)).read_bytes())
    good["version"] = NEXT
    good["files"].append({**good["files"][0], "path": path})
    data = json.dumps(good).encode()
    target_path = manifest_target(NEXT)
    (fleet.repo.targets_dir / target_path).write_bytes(data)
    targets: Metadata[Targets] = fleet.repo.targets()
    targets.signed.targets[target_path] = TargetFile.from_data(target_path, data, ["sha256"])
    fleet.repo.sign_targets(targets, fleet.targets_signer, fleet.online_signer)
    assert_refused(on_good, NEXT, "manifest", "refused")
    assert not (fleet.work / "escape.html").exists()
    assert not Path("/etc/escape.html").exists()
