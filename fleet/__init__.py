"""The fleet service: ingest over MQTT, presence, dashboard and API for the operations team."""
