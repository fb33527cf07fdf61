"""The street terminal: touch UI (``kiosk.ui``), device agent (``kiosk.agent``), wire contract."""

from kiosk.contract.version import SOFTWARE_VERSION

__version__ = SOFTWARE_VERSION
