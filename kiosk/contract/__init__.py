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
- :mod:`kiosk.contract.enrolment`: the enrolment request and the fleet's answer, which
  ``kiosk-provision`` checks before it writes anything; :mod:`kiosk.contract.agent_file`, the
  ``agent.toml`` the fleet writes at enrolment.

This file imports nothing: the agent imports :mod:`kiosk.contract.wire` for months without
pydantic resident, and the kiosk UI starts without it.
"""
