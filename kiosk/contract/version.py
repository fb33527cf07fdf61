"""The software's version, written once for every side.

The kiosk UI gives it to its agent, the agent reports it to the fleet, ``kiosk-provision``
prints it and puts it in a unit's report, the demo's UI stand-ins report it; the package's own
version (``pyproject.toml``, ``[tool.setuptools.dynamic]``) is read from here, and
``kiosk.__version__`` is this value. Nothing else in this module: every program imports it at
start-up.
"""

SOFTWARE_VERSION = "0.1.0"
