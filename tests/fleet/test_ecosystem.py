"""The Grafana dashboard and Prometheus rules shipped in fleet/ecosystem, against a real fleet.

A fleet with its ingest on a real Mosquitto receives a terminal's reports; its ``/metrics`` is
scraped with an API token, checked by ``promtool check metrics``, and every metric name the
rules and the dashboard use must be in that scrape, with samples. ``promtool check rules`` and
``promtool test rules`` (a unit test of rules firing) run on the shipped files.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Final

import pytest
import yaml
from fastapi.testclient import TestClient

from fleet.core.db import make_engine, make_session_factory
from fleet.main import create_app
from fleet.models import Alert
from kiosk.contract.mqtt import FLEET_USERNAME, Channel, topic_for
from tests.conftest import TestBroker
from tests.helpers import log_in, wait_until

from .conftest import NOW, health_payload, status_payload
from .test_ingest_broker import broker_is, fleet_settings, publish, terminal_client
from .test_metrics import token_for

ECOSYSTEM: Final = Path(__file__).resolve().parents[2] / "fleet" / "ecosystem"
RULES: Final = ECOSYSTEM / "prometheus-rules.yml"
RULES_TEST: Final = ECOSYSTEM / "prometheus-rules.test.yml"
DASHBOARD: Final = ECOSYSTEM / "grafana-dashboard.json"
#: Series Prometheus makes itself for each scrape, not the fleet.
PROMETHEUS_OWN: Final = frozenset({"up"})
#: PromQL words that may stand before a brace or parenthesis without being metrics.
PROMQL_WORDS: Final = frozenset(
    {"sum", "by", "without", "on", "and", "or", "unless", "rate", "increase", "max", "min"}
    | {"clamp_min", "vector", "label_values", "avg", "count", "ignoring", "group_left"}
)


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is missing: `make setup` installs Debian's prometheus package")
    return found


def rule_expressions() -> list[str]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule["expr"] for group in document["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            expressions.append(variable["definition"])
    return expressions


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression selects (names before ``{``, ``[`` or alone)."""
    without_strings = re.sub(r'"[^"]*"', '""', expression)
    without_labels = re.sub(r"\{[^}]*\}", "{}", without_strings)
    without_lists = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", without_labels)
    words = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", without_lists))
    return {word for word in words if word not in PROMQL_WORDS and not word.startswith("$")} - {
        "__rate_interval",
        "instance",
    }


def test_metric_names_are_read_from_expressions() -> None:
    assert metric_names('sum by (state) (fleet_terminals{job="$job", state="lost"}) > 0') == {
        "fleet_terminals"
    }
    assert metric_names("increase(fleet_x_total[10m]) and on (job) up == 0") == {
        "fleet_x_total",
        "up",
    }


def scrape(tmp_path: Path, broker: TestBroker) -> str:
    """A real fleet's /metrics after a terminal's birth, health, garbage and an open alert."""
    settings = fleet_settings(tmp_path, broker.port, broker.password(FLEET_USERNAME))
    with TestClient(create_app(settings)) as client:
        wait_until(lambda: broker_is(client, "connected"), 20, "the ingest to connect")
        terminal = "bdx-test-a"
        with terminal_client(broker.host, broker.port, terminal, broker.password(terminal)) as c:
            publish(c, topic_for(terminal, Channel.HEALTH), b"\xff garbage")
            publish(c, topic_for(terminal, Channel.STATUS), status_payload("online"), retain=True)
            publish(c, topic_for(terminal, Channel.HEALTH), health_payload())
        log_in(client)
        wait_until(
            lambda: f'id="terminal-{terminal}"' in client.get("/").text, 20, "the terminal stored"
        )
        engine = make_engine(settings.database_url)
        with make_session_factory(engine)() as session:
            session.add(
                Alert(terminal_id=terminal, kind="down", state="open", opened_at=NOW, summary="x")
            )
            session.commit()
        engine.dispose()
        client.cookies.clear()
        secret = token_for(client)
        response = client.get("/metrics", headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 200
        return response.text


def sampled_names(exposition: str) -> set[str]:
    return {
        line.split("{")[0].split(" ")[0]
        for line in exposition.splitlines()
        if line and not line.startswith("#")
    }


@pytest.mark.broker
def test_a_real_fleets_scrape_has_every_metric_used_and_passes_promtool(
    tmp_path: Path, broker: TestBroker
) -> None:
    exposition = scrape(tmp_path, broker)
    scraped = sampled_names(exposition)
    assert {"fleet_terminals", "fleet_messages_ingested_total", "fleet_alerts_open"} <= scraped
    for source, expressions in (
        ("rules", rule_expressions()),
        ("dashboard", dashboard_expressions()),
    ):
        used = set().union(*(metric_names(expression) for expression in expressions))
        assert used, source
        missing = sorted(used - scraped - PROMETHEUS_OWN)
        assert not missing, f"the {source} use metrics /metrics has no sample of: {missing}"
    result = subprocess.run(
        [promtool(), "check", "metrics"],
        input=exposition,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_checks_and_unit_tests_the_rules() -> None:
    tool = promtool()
    checked = subprocess.run(
        [tool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 9 rules found" in checked.stdout
    tested = subprocess.run(
        [tool, "test", "rules", str(RULES_TEST)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ECOSYSTEM,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_dashboard_is_importable_grafana_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] == "kiosk-fleet"
    assert dashboard["__inputs"][0]["pluginId"] == "prometheus"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}"
        assert panel["targets"], panel["title"]
