"""Ingest: what terminals publish over MQTT, decoded through the contract and stored in SQL."""
