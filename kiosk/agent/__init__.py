"""The device agent: the terminal's one MQTT connection, its identity, health, commands."""
