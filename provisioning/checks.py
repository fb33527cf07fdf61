"""``kiosk-provision check``: is this unit fit for the street? Each probe says pass, warn or fail.

Every probe reads its paths from :class:`Paths`, so tests run them on fake ``/sys``, ``/proc``
and ``/dev`` trees, and network probes on local servers.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from kiosk.contract.paths import AGENT_CONFIG, STATE_DIR
from provisioning import client

Translate = Callable[[str], str]

#: Linux input event codes: BTN_TOUCH (a KEY bit) and ABS_MT_POSITION_X (an ABS bit).
BTN_TOUCH: Final = 0x14A
ABS_MT_POSITION_X: Final = 0x35
CLOCK_WARN_S: Final = 2.0
CLOCK_FAIL_S: Final = 300.0
DISK_WARN_BYTES: Final = 1024**3
DISK_FAIL_BYTES: Final = 200 * 1024**2


class Verdict(Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    item: str
    verdict: Verdict
    detail: str
    todo: str = ""


@dataclass(frozen=True)
class Paths:
    sys_root: Path = Path("/sys")
    proc_root: Path = Path("/proc")
    dev_root: Path = Path("/dev")
    state_dir: Path = STATE_DIR
    agent_config: Path = AGENT_CONFIG


@dataclass(frozen=True)
class Targets:
    fleet_url: str | None = None
    broker: tuple[str, int] | None = None
    ca_file: Path | None = None
    timeout_s: float = 5.0
    which: Callable[[str], str | None] = field(default=shutil.which)


def exit_code(checks: list[Check]) -> int:
    verdicts = {c.verdict for c in checks}
    if Verdict.FAIL in verdicts:
        return 2
    return 1 if Verdict.WARN in verdicts else 0


def _bits(mask: str) -> set[int]:
    """The bits set in a /proc/bus/input/devices bitmap (hex words, most significant first)."""
    found: set[int] = set()
    for index, word in enumerate(reversed(mask.split())):
        value = int(word, 16)
        found |= {index * 64 + bit for bit in range(64) if value >> bit & 1}
    return found


def touch_devices(proc_root: Path, dev_root: Path) -> list[tuple[str, str]]:
    """(name, /dev/input/eventN) of every device with touch capabilities."""
    try:
        text = (proc_root / "bus/input/devices").read_text()
    except OSError:
        return []
    found = []
    for block in text.split("\n\n"):
        name, handlers, keys, absolute = "", [], set(), set()
        for line in block.splitlines():
            if line.startswith("N: Name="):
                name = line.split("=", 1)[1].strip().strip('"')
            elif line.startswith("H: Handlers="):
                handlers = line.split("=", 1)[1].split()
            elif line.startswith("B: KEY="):
                keys = _bits(line.split("=", 1)[1])
            elif line.startswith("B: ABS="):
                absolute = _bits(line.split("=", 1)[1])
        if BTN_TOUCH in keys or ABS_MT_POSITION_X in absolute:
            for handler in handlers:
                node = dev_root / "input" / handler
                if handler.startswith("event") and node.exists():
                    found.append((name, str(node)))
    return found


def check_display(paths: Paths, _: Translate) -> Check:
    item = _("Display")
    connected = []
    for status in sorted((paths.sys_root / "class/drm").glob("card*-*/status")):
        try:
            if status.read_text().strip() == "connected":
                connected.append(status.parent.name)
        except OSError:
            continue
    if connected:
        return Check(item, Verdict.PASS, _("connected: {names}").format(names=", ".join(connected)))
    return Check(
        item,
        Verdict.FAIL,
        _("no connected screen"),
        _("Check the screen's video cable and power, then run the check again."),
    )


def check_touch(paths: Paths, _: Translate) -> Check:
    item = _("Touch screen")
    found = touch_devices(paths.proc_root, paths.dev_root)
    if found:
        return Check(item, Verdict.PASS, ", ".join(f"{name} ({node})" for name, node in found))
    return Check(
        item,
        Verdict.FAIL,
        _("no touch input device"),
        _("Check the touch panel's USB cable; it must appear in /proc/bus/input/devices."),
    )


def check_network(paths: Paths, targets: Targets, _: Translate) -> Check:
    item = _("Network and DNS")
    try:
        routes = (paths.proc_root / "net/route").read_text().splitlines()[1:]
    except OSError:
        routes = []
    has_default = any(line.split()[1:2] == ["00000000"] for line in routes if line.strip())
    if not has_default:
        return Check(
            item,
            Verdict.FAIL,
            _("no default route"),
            _("Check the network cable or the 4G modem, and that DHCP gives an address."),
        )
    host = urlsplit(targets.fleet_url).hostname if targets.fleet_url else None
    if host is None:
        return Check(
            item, Verdict.WARN, _("default route present; DNS not tested"), _("Give --fleet.")
        )
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except OSError as error:
        return Check(
            item,
            Verdict.FAIL,
            _("{host} does not resolve: {error}").format(host=host, error=error),
            _("Check the DNS servers given by the network (resolvectl status)."),
        )
    return Check(item, Verdict.PASS, f"{host} → {', '.join(sorted(addresses))}")


def check_fleet(
    targets: Targets, _: Translate, now: Callable[[], float] = time.time
) -> list[Check]:
    """The fleet over HTTPS (certificate checked), and the clock against its Date header."""
    item = _("Fleet reachable")
    clock_item = _("Clock")
    if not targets.fleet_url:
        skipped = _("not tested (no --fleet)")
        return [Check(item, Verdict.WARN, skipped), Check(clock_item, Verdict.WARN, skipped)]
    try:
        answer = client.request(
            targets.fleet_url,
            "GET",
            "/healthz",
            ca_file=targets.ca_file,
            timeout_s=targets.timeout_s,
        )
    except client.FleetError as error:
        todo = _("Check the fleet address, the firewall, and the CA file (--ca).")
        fail = Check(item, Verdict.FAIL, str(error), todo)
        return [fail, Check(clock_item, Verdict.WARN, _("not tested (fleet unreachable)"))]
    checks = [
        Check(
            item,
            Verdict.PASS if targets.fleet_url.startswith("https:") else Verdict.WARN,
            targets.fleet_url,
            ""
            if targets.fleet_url.startswith("https:")
            else _("Use the fleet's https:// address."),
        )
    ]
    if answer.date is None:
        checks.append(Check(clock_item, Verdict.WARN, _("the fleet sent no Date header")))
        return checks
    offset = now() - answer.date
    detail = _("{offset:+.1f} s from the fleet").format(offset=offset)
    todo = _("Check that NTP is reachable (timedatectl timesync-status).")
    if abs(offset) > CLOCK_FAIL_S:
        checks.append(Check(clock_item, Verdict.FAIL, detail, todo))
    elif abs(offset) > CLOCK_WARN_S:
        checks.append(Check(clock_item, Verdict.WARN, detail, todo))
    else:
        checks.append(Check(clock_item, Verdict.PASS, detail))
    return checks


def check_broker(targets: Targets, _: Translate) -> Check:
    item = _("Broker reachable")
    if targets.broker is None:
        return Check(item, Verdict.WARN, _("not tested (no --broker)"))
    host, port = targets.broker
    try:
        with socket.create_connection((host, port), timeout=targets.timeout_s) as raw:
            if targets.ca_file is None:
                return Check(
                    item,
                    Verdict.WARN,
                    _("{host}:{port} answers, without TLS").format(host=host, port=port),
                    _("Give the broker's CA file (--ca) to check TLS."),
                )
            context = client.tls_context(targets.ca_file)
            with context.wrap_socket(raw, server_hostname=host) as tls:
                version = tls.version() or "TLS"
    except (OSError, ssl.SSLError) as error:
        return Check(
            item,
            Verdict.FAIL,
            f"{host}:{port}: {error}",
            _("Check the firewall (port {port}) and the broker's certificate.").format(port=port),
        )
    return Check(item, Verdict.PASS, f"{host}:{port} ({version})")


def check_disk(paths: Paths, _: Translate) -> Check:
    item = _("Disk space")
    place = paths.state_dir
    while not place.exists() and place != place.parent:
        place = place.parent
    free = shutil.disk_usage(place).free
    detail = _("{free:.1f} GiB free on {path}").format(free=free / 1024**3, path=place)
    todo = _("Free space on the disk (journal, old content versions).")
    if free < DISK_FAIL_BYTES:
        return Check(item, Verdict.FAIL, detail, todo)
    if free < DISK_WARN_BYTES:
        return Check(item, Verdict.WARN, detail, todo)
    return Check(item, Verdict.PASS, detail)


def check_sensors(paths: Paths, _: Translate) -> Check:
    """The furniture's sensors, as the agent's enclosure backend reads them."""
    item = _("Enclosure sensors")
    try:
        with paths.agent_config.open("rb") as handle:
            enclosure = tomllib.load(handle).get("enclosure", {})
    except (OSError, tomllib.TOMLDecodeError):
        enclosure = {}
    backend = enclosure.get("backend", "none")
    if backend != "sysfs":
        return Check(
            item,
            Verdict.WARN,
            _("no sensors configured (backend {backend})").format(backend=backend),
            _('Set [enclosure] backend = "sysfs" and the sensor files in agent.toml.'),
        )
    silent = []
    answered = []
    for key in ("door_gpio", "temperature", "humidity", "backlight"):
        if key not in enclosure:
            continue
        try:
            value = Path(enclosure[key]).read_text().strip()
            answered.append(f"{key}={value}")
        except OSError:
            silent.append(key)
    if silent:
        return Check(
            item,
            Verdict.FAIL,
            _("not answering: {names}").format(names=", ".join(silent)),
            _("Check the sensor wiring and the paths in agent.toml."),
        )
    return Check(item, Verdict.PASS, ", ".join(answered) or _("none listed"))


def check_audio(paths: Paths, targets: Targets, _: Translate) -> Check:
    item = _("Audio for read-aloud")
    try:
        cards = (paths.proc_root / "asound/cards").read_text()
    except OSError:
        cards = ""
    has_card = bool(cards.strip()) and "no soundcards" not in cards
    speech = targets.which("spd-say") is not None
    if has_card and speech:
        return Check(item, Verdict.PASS, _("sound card and speech-dispatcher present"))
    if has_card or speech:
        missing = _("speech-dispatcher") if has_card else _("a sound card")
        return Check(
            item,
            Verdict.WARN,
            _("missing: {what}").format(what=missing),
            _("Install speech-dispatcher with a French voice, and check the speaker."),
        )
    return Check(
        item,
        Verdict.WARN,
        _("no sound card, no speech-dispatcher"),
        _("Install speech-dispatcher with a French voice, and check the speaker."),
    )


def run_all(paths: Paths, targets: Targets, _: Translate) -> list[Check]:
    return [
        check_display(paths, _),
        check_touch(paths, _),
        check_network(paths, targets, _),
        *check_fleet(targets, _),
        check_broker(targets, _),
        check_disk(paths, _),
        check_sensors(paths, _),
        check_audio(paths, targets, _),
    ]
