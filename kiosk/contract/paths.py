"""The terminal's files and folders, named once.

The agent, the kiosk UI, ``kiosk-provision`` (which writes ``/etc/kiosk``) and the fleet (whose
enrolment answer holds the agent's ``agent.toml`` with these paths in it) all take them from here.
The systemd units and the image spell them too (``StateDirectory=``, ``RuntimeDirectory=``,
``ConfigurationDirectory=``, ``ConditionPathExists=``): ``tests/systemd/test_paths.py`` checks
that they name the same ones.

Only the standard library here: the agent and the kiosk UI import this at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

# ----- /etc/kiosk: written by kiosk-provision, read by the agent (and kiosk.toml by the UI) -----

#: The terminal's configuration folder (systemd's ``ConfigurationDirectory=kiosk``).
ETC_DIR: Final = Path("/etc/kiosk")
#: The file names in it, as kiosk-provision writes them into whichever folder it is given.
AGENT_CONFIG_NAME: Final = "agent.toml"
KIOSK_CONFIG_NAME: Final = "kiosk.toml"
MQTT_PASSWORD_NAME: Final = "mqtt-password"
CA_NAME: Final = "ca.pem"
#: The content's trusted TUF root, given at enrolment.
CONTENT_ROOT_NAME: Final = "content-root.json"
#: What kiosk-provision knows of the enrolment (fleet address, terminal, site, status token).
ENROLMENT_NAME: Final = "enrolment.toml"

#: The agent's settings (docs/agent-settings.md); its presence means "enrolled" to the image.
AGENT_CONFIG: Final = ETC_DIR / AGENT_CONFIG_NAME
#: The kiosk UI's settings (docs/kiosk-settings.md); absent, the defaults apply.
KIOSK_CONFIG: Final = ETC_DIR / KIOSK_CONFIG_NAME
#: The terminal's MQTT password, first line (0600, the agent's user).
MQTT_PASSWORD: Final = ETC_DIR / MQTT_PASSWORD_NAME
#: The broker's certificate authority, when the fleet gave one.
CA_FILE: Final = ETC_DIR / CA_NAME
CONTENT_ROOT: Final = ETC_DIR / CONTENT_ROOT_NAME
ENROLMENT: Final = ETC_DIR / ENROLMENT_NAME

# ----- /var/lib/kiosk: the one writable place of a read-only image -----------------------------

STATE_DIR: Final = Path("/var/lib/kiosk")
#: The agent's state: counters, the outbox queue, applied settings, command ids
#: (systemd's ``StateDirectory=kiosk/agent``).
AGENT_STATE_DIR: Final = STATE_DIR / "agent"
#: Content versions the agent downloads; the UI shows ``<CONTENT_DIR>/current``.
CONTENT_DIR: Final = STATE_DIR / "content"

# ----- /run/kiosk: the agent's runtime folder (``RuntimeDirectory=kiosk``) ---------------------

RUNTIME_DIR: Final = Path("/run/kiosk")
#: The local socket between the kiosk UI and the agent (kiosk.contract.local).
AGENT_SOCKET: Final = RUNTIME_DIR / "agent.sock"

# ----- shipped with the package ---------------------------------------------------------------

#: The content bundle shipped with the kiosk (``kiosk/content/default``): what a terminal shows
#: until the fleet sends its own.
SHIPPED_BUNDLE_DIR: Final = Path(__file__).resolve().parents[1] / "content" / "default"
