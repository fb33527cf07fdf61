"""The alert engine where it runs: the ingest process's keeper thread, and two processes racing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fleet.alerts.rules import AlertLimits
from fleet.core.config import load_settings
from fleet.core.db import make_session_factory
from fleet.crud import utc_now
from fleet.ingest.keeper import CommandKeeper
from fleet.presence import PresenceLimits
from tests.helpers import wait_until

from .alerting import TERMINAL, alerts, make_engine_for, status, unresolved
from .sinks import smtp_sink, webhook_sink


class NoBroker:
    def publish(self, topic: str, payload: bytes, qos: int) -> None:
        """Nothing to publish in these tests."""


def test_the_keeper_thread_alerts_a_terminal_down_past_its_grace(migrated_engine: Engine) -> None:
    factory = make_session_factory(migrated_engine)
    now = utc_now()
    status(factory, "online", now - timedelta(minutes=10))
    status(factory, "lost", now - timedelta(seconds=5))
    limits = AlertLimits(presence=PresenceLimits(down_grace_s=1.0))
    with webhook_sink() as webhook:
        keeper = CommandKeeper(
            factory,
            NoBroker(),
            interval_s=0.05,
            alert_engine=make_engine_for(factory, None, webhook, limits),
        )
        keeper.start()
        try:
            wait_until(lambda: len(webhook.received()) == 1, 10, "the down alert's webhook call")
        finally:
            keeper.stop()

        assert unresolved(factory) == [(TERMINAL, "down", "open")]
        assert [call["state"] for call in webhook.received()] == ["open"]


def test_two_engines_notifying_at_the_same_moment_send_once(migrated_engine: Engine) -> None:
    factory = make_session_factory(migrated_engine)
    now = utc_now()
    status(factory, "online", now - timedelta(minutes=10))
    status(factory, "lost", now - timedelta(minutes=5))
    with smtp_sink() as smtp, webhook_sink() as webhook:
        engines = [make_engine_for(factory, smtp, webhook) for _ in range(4)]
        engines[0].evaluate(now)
        start = threading.Barrier(len(engines))

        def race(index: int) -> tuple[int, int]:
            start.wait(timeout=10)
            return engines[index].notify(now)

        with ThreadPoolExecutor(len(engines)) as pool:
            # result() re-raises whatever went wrong in a thread.
            outcomes = [
                future.result(timeout=30)
                for future in [pool.submit(race, i) for i in range(len(engines))]
            ]

        assert sorted(outcomes) == [(0, 0), (0, 0), (0, 0), (1, 0)]
        assert len(alerts(factory)) == 1
        assert [call["state"] for call in webhook.received()] == ["open"]
        assert len(smtp.received()) == 1


def test_alert_settings_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEET_DOWN_GRACE_S", "300")
    monkeypatch.setenv("FLEET_SMTP_TO", "ops@example.org, astreinte@example.org")
    config = tmp_path / "fleet.toml"
    config.write_text('flapping_changes = 6\nwebhook_url = "http://127.0.0.1:9/hook"\n')

    settings = load_settings(config)
    limits = AlertLimits.from_settings(settings)

    assert limits.presence.down_grace_s == 300
    assert limits.presence.flapping_changes == 6
    assert limits.presence.temperature_max_c == 70
    assert settings.smtp_recipients() == ["ops@example.org", "astreinte@example.org"]
    assert settings.webhook_url == "http://127.0.0.1:9/hook"
