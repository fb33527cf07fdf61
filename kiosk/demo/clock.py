"""Whether this machine's clock is kept by NTP, as the agent's sensors read it, for ``make demo``.

``python -m kiosk.demo.clock`` prints ``synchronised`` when the kernel says NTP keeps the
clock, or where it cannot tell (not Linux, ``adjtimex`` refused), and ``not synchronised``
otherwise. The demo (``fleet/demo.py``) runs it to give its agents no clock source on a machine
whose clock nothing keeps (a container, a chroot), rather than have every terminal report an
unsynchronised clock.
"""

from __future__ import annotations

from typing import Final

from kiosk.agent.sensors import read_clock_state

#: What the program prints when the clock is kept (or it cannot tell).
SYNCHRONISED: Final = "synchronised"


def clock_is_synchronised() -> bool:
    """Whether the kernel says NTP keeps this machine's clock (True where it cannot tell)."""
    clock = read_clock_state()
    return clock is None or clock.synced


def main() -> int:
    print(SYNCHRONISED if clock_is_synchronised() else "not synchronised")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
