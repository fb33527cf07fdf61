"""What crosses between the terminal's programs and the fleet, declared once.

Every side imports these modules and nothing else of the others (``tests/test_boundaries.py``):

- :mod:`kiosk.contract.wire`: the MQTT contract's half without models (topics, limits, reasons,
  strict JSON, redaction) and the local socket's framing; the agent needs nothing more.
- :mod:`kiosk.contract.mqtt`: the MQTT payloads as pydantic models; ``docs/protocol.md`` is
  generated from them.
- :mod:`kiosk.contract.local`: the messages between the kiosk UI and the agent.
- :mod:`kiosk.contract.catalog`, :mod:`kiosk.contract.places` and
  :mod:`kiosk.contract.manifest`: the content bundle the fleet signs and the terminal shows;
  :mod:`kiosk.contract.tuf`, the TUF names both sides use to sign and verify it.
- :mod:`kiosk.contract.settings`: the settings the fleet may change on a terminal, with their
  bounds and checks (the agent applies them, the kiosk UI bounds its own file with them).
- :mod:`kiosk.contract.paths`: the terminal's files and folders (``/etc/kiosk`` and what is in
  it, the state folders, the agent's socket).
- :mod:`kiosk.contract.version`: the software's version, written once.
- :mod:`kiosk.contract.settings_doc`: every side's settings page, rendered from its declaration.
- :mod:`kiosk.contract.enrolment`: the enrolment request and the fleet's answer, which
  ``kiosk-provision`` checks before it writes anything; :mod:`kiosk.contract.agent_file`, the
  ``agent.toml`` the fleet writes at enrolment.

Beside the contract, ``fleet`` and ``provisioning`` import of the kiosk only the shared
translations (:mod:`kiosk.i18n`) and command-line support (:mod:`kiosk.cli`).

This file imports nothing: the agent imports :mod:`kiosk.contract.wire` for months without
pydantic resident, and the kiosk UI starts without it.
"""
