"""What the fleet sends the terminal (commands, the desired state), decoded and handed over.

Runs on paho's network thread: nothing here may raise, or paho's loop dies with it. A handler
that fails is logged and the connection carries on; a message that breaks the contract is
ignored, and a malformed command whose id can still be read is refused, so that the fleet
knows why it did not run.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any, Final

import paho.mqtt.client as mqtt

from kiosk.agent.messages import Command, Desired, decode_received
from kiosk.contract.wire import COMMAND_ID_PATTERN, AckResult, Channel, ContractError

log = logging.getLogger(__name__)

COMMAND_ID_RE: Final = re.compile(COMMAND_ID_PATTERN)

#: Queues a command ack: ``(command id, result, reason)``, raising a ValueError if invalid.
Acknowledge = Callable[[str, AckResult, str], object]


def receive(
    terminal_id: str,
    message: mqtt.MQTTMessage,
    on_command: Callable[[Command], None] | None,
    on_desired: Callable[[Desired], None] | None,
    acknowledge: Acknowledge,
) -> None:
    """Decode ``message`` and hand it to ``on_command`` or ``on_desired`` (either may be None)."""
    try:
        _, payload = decode_received(message.topic, bytes(message.payload))
    except ContractError as exc:
        # Only the reason: the payload itself is not ours to copy into logs.
        log.warning(
            "terminal %s: ignored a message on %s (%s)",
            terminal_id,
            message.topic,
            exc.reason,
        )
        _refuse_malformed_command(
            terminal_id, message.topic, bytes(message.payload), exc, acknowledge
        )
        return
    if not isinstance(payload, Desired):  # a command
        log.info(
            "terminal %s: command %s received (id %s)",
            terminal_id,
            payload.name,
            payload.id,
        )
        if on_command is None:
            return
        try:
            on_command(payload)
        except Exception:
            # A failing handler must not take the MQTT connection down with it.
            log.exception(
                "terminal %s: command %s (id %s) failed in its handler",
                terminal_id,
                payload.name,
                payload.id,
            )
    else:
        log.info(
            "terminal %s: desired state received (content %s)",
            terminal_id,
            payload.content_version or "-",
        )
        if on_desired is None:
            return
        try:
            on_desired(payload)
        except Exception:
            # Same boundary as commands: paho's thread must survive a failing handler.
            log.exception("terminal %s: desired state failed in its handler", terminal_id)


def _refuse_malformed_command(
    terminal_id: str, topic: str, payload: bytes, error: ContractError, acknowledge: Acknowledge
) -> None:
    """Tell the fleet why a command was not run, when its id can still be read."""
    if not topic.endswith("/" + Channel.CMD.value):
        return
    command_id = readable_command_id(payload)
    if command_id is None:
        return
    try:
        acknowledge(command_id, AckResult.REFUSED, f"malformed command: {error}"[:200])
    except ValueError as exc:
        log.error("terminal %s: refusal of %s not sent: %s", terminal_id, command_id, exc)


def readable_command_id(payload: bytes) -> str | None:
    """The ``id`` of a command that failed to decode, if it is there and well formed."""
    try:
        raw: Any = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    command_id = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(command_id, str) and COMMAND_ID_RE.fullmatch(command_id):
        return command_id
    return None
