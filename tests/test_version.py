"""The software's version is written once (kiosk/contract/version.py): the package says the same."""

from __future__ import annotations

from importlib.metadata import version

import kiosk
from kiosk.contract.version import SOFTWARE_VERSION


def test_the_package_and_every_side_have_one_version() -> None:
    assert version("bornes") == SOFTWARE_VERSION == kiosk.__version__
