"""The terminal's side of ``make demo``, run as programs by ``fleet/demo.py``.

The demo's stack is the fleet's (:mod:`fleet.demo`), but what stands in for a terminal's own
code runs on the terminal's side: the fleet imports nothing of the kiosk but the contract
(``tests/test_boundaries.py``), so it starts these with ``python -m``, as it starts the agents.

- :mod:`kiosk.demo.residents`: a UI stand-in with simulated residents on an agent's socket.
- :mod:`kiosk.demo.clock`: whether this machine's clock is kept, as the agent's sensors read it.
"""
