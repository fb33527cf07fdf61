"""Key rotation: terminals follow a new root signed by the old and the new keys."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from fleet.content.keys import new_signer
from fleet.content.serve import MOUNT_PATH, content_files
from kiosk.agent.content.updater import ContentUpdater
from kiosk.contract.mqtt import ContentUpdateState
from kiosk.contract.tuf import Metadata, Root
from tests.content.helpers import Fleet


def test_terminal_follows_a_root_rotation_and_new_online_and_targets_keys(
    fleet: Fleet, updater: ContentUpdater
) -> None:
    fleet.publish("2025.12.1")
    assert updater.update_to("2025.12.1").state is ContentUpdateState.APPLIED
    new_root, new_targets, new_online = new_signer(), new_signer(), new_signer()
    version = fleet.repo.rotate_keys([fleet.root_signer], [new_root], new_targets, new_online)
    assert version == 2
    fleet.repo.resign_all(new_targets, new_online)
    fleet.root_signer, fleet.targets_signer, fleet.online_signer = (
        new_root,
        new_targets,
        new_online,
    )
    fleet.publish("2025.12.2", page_text="after rotation")
    result = updater.update_to("2025.12.2")
    assert result.state is ContentUpdateState.APPLIED, result.reason
    trusted = Metadata[Root].from_file(str(updater.store.metadata_dir / "root.json"))
    assert trusted.signed.version == 2
    assert new_root.public_key.keyid in trusted.signed.roles["root"].keyids


def test_a_root_not_signed_by_the_old_keys_is_refused(
    fleet: Fleet, updater: ContentUpdater
) -> None:
    fleet.publish("2025.12.1")
    assert updater.update_to("2025.12.1").state is ContentUpdateState.APPLIED
    # An attacker holding only a new key cannot make terminals trust it.
    fleet.repo.rotate_keys([], [new_signer()])
    fleet.publish("2025.12.2")
    result = updater.update_to("2025.12.2")
    assert result.state is ContentUpdateState.FAILED
    assert result.reason is not None
    assert "signature not trusted" in result.reason
    assert updater.current_version() == "2025.12.1"


def test_the_fleet_serves_the_repository_as_static_files(fleet: Fleet, tmp_path: Path) -> None:
    web = FastAPI()
    web.mount(MOUNT_PATH, content_files(fleet.repo.repo_dir))
    client = TestClient(web)
    response = client.get(f"{MOUNT_PATH}/metadata/timestamp.json")
    assert response.status_code == 200
    assert response.json()["signed"]["_type"] == "timestamp"
    assert client.get(f"{MOUNT_PATH}/../keys").status_code == 404
    del tmp_path
