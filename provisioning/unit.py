"""What the unit is: its own serial number and the facts the fleet records at enrolment.

Read from ``/sys`` (a parameter, so that tests give a fake tree), like the probes of
:mod:`provisioning.checks`.
"""

from __future__ import annotations

import platform
import socket
from pathlib import Path
from typing import Any, Final

from kiosk.contract.version import SOFTWARE_VERSION

#: What firmware writes where the maker left no serial number.
PLACEHOLDER_SERIALS: Final = frozenset(
    {"", "0", "none", "default string", "to be filled by o.e.m.", "not specified", "system serial"}
)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip()[:64]
    except OSError:
        return None


def unit_serial(sys_root: Path = Path("/sys")) -> str | None:
    """The unit's own serial number: the firmware's (product, board, chassis), else the MAC of
    its first wired network card. Never ``/etc/machine-id``: on the terminal's read-only image
    it is made anew at each boot."""
    for name in ("product_serial", "board_serial", "chassis_serial"):
        value = _read(sys_root / "class" / "dmi" / "id" / name)
        if value is not None and value.lower() not in PLACEHOLDER_SERIALS:
            return value
    net = sys_root / "class" / "net"
    cards = sorted(p for p in net.glob("*") if (p / "device").exists()) if net.is_dir() else []
    for card in cards:
        address = _read(card / "address")
        if address and address != "00:00:00:00:00:00":
            return f"mac:{address}"
    return None


def hardware_facts(sys_root: Path = Path("/sys")) -> dict[str, Any]:
    """What the fleet records about the unit in the audit log."""
    facts: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "machine": platform.machine(),
        "kernel": platform.release(),
        "software": SOFTWARE_VERSION,
    }
    product = _read(sys_root / "class" / "dmi" / "id" / "product_name")
    if product:
        facts["product"] = product
    serial = unit_serial(sys_root)
    if serial:
        facts["serial"] = serial
    return facts
