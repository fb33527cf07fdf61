"""Run by test_kill: update back and forth between versions until killed."""

from __future__ import annotations

import sys
from pathlib import Path

from kiosk.agent.content.updater import ContentUpdater, ContentUpdaterSettings


def main() -> None:
    content_dir, base_url, trusted_root, *versions = sys.argv[1:]
    settings = ContentUpdaterSettings(
        content_dir=Path(content_dir),
        metadata_url=f"{base_url}/metadata/",
        targets_url=f"{base_url}/targets/",
        trusted_root=Path(trusted_root),
        attempts=1,
    )
    updater = ContentUpdater(settings)
    print("ready", flush=True)
    while True:
        for version in versions:
            updater.update_to(version)


if __name__ == "__main__":
    main()
