"""The terminal's one MQTT link to the fleet: will and birth, health, events and acks, commands.

Three threads besides paho's own:

- the caller's (:meth:`~kiosk.agent.mqtt.fleet_link.FleetLink.run`, in :mod:`.fleet_link`)
  samples health, decides what to publish (deadbands in :mod:`kiosk.agent.health`) and puts it
  in the :class:`~kiosk.agent.outbox.Outbox`;
- ``mqtt-connection`` (:mod:`.connection`) connects, waits for the link to drop, and reconnects
  after an exponential backoff with full jitter (paho's own reconnect has no jitter: after a
  broker restart, fifty terminals would all knock at the same second). Each connection gets a
  fresh paho client, so that paho never re-sends on its own what the outbox will send again
  anyway;
- ``outbox-drain`` (:mod:`.drain`) sends queued messages in order, rate-limited, at most
  :data:`~kiosk.agent.mqtt.connection.INFLIGHT_WINDOW` unacknowledged at a time, and removes
  each one on its PUBACK.

What the fleet sends (commands, the desired state) is decoded on paho's thread and handed to the
agent's hooks (:mod:`.inbound`). Status messages (birth, will, clean stop) do not go through the
outbox: they are retained, and only the latest one matters.

Nothing is imported here: the agent's start-up import set stays what its modules ask for.
"""
