"""Alerts: rules that judge each terminal, the engine that opens and resolves, the notifiers."""
