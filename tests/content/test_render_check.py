"""The content health check asks the real kiosk to draw the new bundle's home screen."""

from __future__ import annotations

import shutil
from pathlib import Path

from kiosk.agent.content.render_check import full_health_check, home_renders, kiosk_available
from kiosk.contract.catalog import default_bundle_dir


def test_the_shipped_bundle_renders() -> None:
    assert kiosk_available()
    assert home_renders(default_bundle_dir()) is None


def test_a_bundle_the_kiosk_refuses_does_not_pass(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(default_bundle_dir(), bundle)
    (bundle / "catalog.json").write_text("{broken")
    problem = home_renders(bundle)
    assert problem is not None
    assert "did not render" in problem
    # The full check says so too (its first part already refuses the catalog).
    assert full_health_check()(bundle) is not None
