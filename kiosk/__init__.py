"""The street terminal: touch UI (``kiosk.ui``), device agent (``kiosk.agent``), wire contract."""

__version__ = "0.1.0"
