"""Bulk actions: filter, tick or take all matching, confirm, act in one transaction, one audit
entry; on SQLite and PostgreSQL, and at 100,000 terminals."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from fleet import audit, bulk
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.main import create_app
from fleet.models import Alert, AuditEntry, CommandRecord, MaintenanceWindow, Terminal

from .conftest import NOW, make_settings, prepare_database
from .test_command_web import logged_in_as

PAGE = "/terminals/actions"


def add_terminals(settings: FleetSettings, count: int, lost_every: int = 3) -> None:
    """``count`` terminals: every ``lost_every``-th lost, half in Bègles, half in Talence."""
    engine = make_engine(settings.database_url)
    rows: list[dict[str, object]] = [
        {
            "id": f"bdx-{n:06d}",
            "state": "lost" if n % lost_every == 0 else "online",
            "state_since": NOW,
            "versions": {},
            "commune": "Bègles" if n % 2 else "Talence",
            "site_name": f"Site {n}",
            "created_at": NOW,
        }
        for n in range(count)
    ]
    with make_session_factory(engine)() as session:
        for start in range(0, len(rows), 10_000):
            session.execute(insert(Terminal), rows[start : start + 10_000])
        session.commit()
    engine.dispose()


def add_alert(settings: FleetSettings, terminal_id: str, kind: str = "lost") -> None:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        session.add(
            Alert(
                terminal_id=terminal_id,
                kind=kind,
                state="open",
                active_key=f"{terminal_id}:{kind}",
                opened_at=NOW,
                summary="lost",
            )
        )
        session.commit()
    engine.dispose()


def count_rows(settings: FleetSettings, model: type) -> int:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        total = int(session.scalar(select(func.count()).select_from(model)) or 0)
    engine.dispose()
    return total


def audit_entries(settings: FleetSettings, prefix: str = "bulk_") -> list[AuditEntry]:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        found = list(
            session.scalars(select(AuditEntry).where(AuditEntry.action.startswith(prefix)))
        )
        session.expunge_all()
    engine.dispose()
    return found


@pytest.fixture
def db_settings(any_database_url: str, tmp_path: Path) -> FleetSettings:
    settings = make_settings(tmp_path, database_url=any_database_url)
    prepare_database(settings)
    add_terminals(settings, 30)
    return settings


@pytest.fixture
def app_client(db_settings: FleetSettings) -> Iterator[TestClient]:
    with TestClient(create_app(db_settings, start_ingest=False)) as client:
        yield client


def confirmed_count(html: str) -> int:
    match = re.search(r'name="confirmed_count" value="(\d+)"', html)
    assert match is not None, "no confirmation step"
    return int(match.group(1))


def test_the_page_is_french_and_linked_from_the_overview(
    app_client: TestClient, db_settings: FleetSettings
) -> None:
    logged_in_as(app_client, db_settings, "operator")
    assert 'href="/terminals/actions"' in app_client.get("/").text
    page = app_client.get(PAGE, params={"state": "lost", "commune": "Talence"}).text
    assert "<h1>Actions groupées</h1>" in page
    # 0, 6, 12, 18, 24: lost and even (Talence).
    assert 'id="bulk-matching" data-count="5"' in page
    assert "toutes les bornes correspondant au filtre (5)" in page
    assert page.count('name="ids"') == 5
    assert re.search(r'<option value="Bègles"\s*>Bègles</option>', page)
    assert re.search(r'<option value="Talence" selected>Talence</option>', page)


def test_ticked_terminals_get_a_command_after_confirmation(
    app_client: TestClient, db_settings: FleetSettings
) -> None:
    token = logged_in_as(app_client, db_settings, "operator")
    form = {
        "csrf_token": token,
        "scope": "ticked",
        "ids": ["bdx-000001", "bdx-000002", "bdx-000004"],
        "action": "command:reboot",
    }
    confirm = app_client.post(f"{PAGE}/confirm", data=form)
    assert confirm.status_code == 200
    assert "Commande : Redémarrer sur 3 bornes." in confirm.text
    assert count_rows(db_settings, CommandRecord) == 0  # nothing done before confirming
    done = app_client.post(PAGE, data={**form, "confirmed_count": "3"})
    assert done.status_code == 200  # followed to the page, which says what was done
    assert "Commande envoyée à 3 bornes." in done.text
    engine = make_engine(db_settings.database_url)
    with make_session_factory(engine)() as session:
        sent = sorted(session.scalars(select(CommandRecord.terminal_id)))
        names = set(session.scalars(select(CommandRecord.name)))
    engine.dispose()
    assert sent == ["bdx-000001", "bdx-000002", "bdx-000004"]
    assert names == {"reboot"}
    [entry] = audit_entries(db_settings)
    assert (entry.action, entry.username, entry.detail) == (
        "bulk_command_sent",
        "operator",
        "reboot",
    )
    assert json.loads(entry.targets or "") == {
        "ids": ["bdx-000001", "bdx-000002", "bdx-000004"],
        "count": 3,
    }


def test_all_matching_opens_maintenance_and_acknowledges_alerts(
    app_client: TestClient, db_settings: FleetSettings
) -> None:
    token = logged_in_as(app_client, db_settings, "operator")
    for terminal_id in ("bdx-000000", "bdx-000003", "bdx-000001"):
        add_alert(db_settings, terminal_id)
    lost = {"state": "lost", "csrf_token": token, "scope": "matching"}
    confirm = app_client.post(
        f"{PAGE}/confirm", data={**lost, "action": "maintenance", "minutes": "90", "reason": "X"}
    )
    assert confirmed_count(confirm.text) == 10
    done = app_client.post(
        PAGE,
        data={
            **lost,
            "action": "maintenance",
            "minutes": "90",
            "reason": "X",
            "confirmed_count": "10",
        },
    )
    assert "Maintenance de 90 minutes ouverte pour 10 bornes." in done.text
    engine = make_engine(db_settings.database_url)
    with make_session_factory(engine)() as session:
        windows = list(session.scalars(select(MaintenanceWindow)))
    engine.dispose()
    assert len(windows) == 10
    assert {w.terminal_id for w in windows} == {f"bdx-{n:06d}" for n in range(0, 30, 3)}
    assert all(w.ends_at - w.starts_at == timedelta(minutes=90) for w in windows)

    ack = app_client.post(PAGE, data={**lost, "action": "acknowledge", "confirmed_count": "10"})
    assert "2 alertes ouvertes prises en charge sur 10 bornes." in ack.text
    engine = make_engine(db_settings.database_url)
    with make_session_factory(engine)() as session:
        states = {row[0]: row[1] for row in session.execute(select(Alert.terminal_id, Alert.state))}
    engine.dispose()
    # bdx-000001 is online: not matched, its alert stays open.
    assert states == {
        "bdx-000000": "acknowledged",
        "bdx-000003": "acknowledged",
        "bdx-000001": "open",
    }
    entries = {e.action: e for e in audit_entries(db_settings)}
    assert json.loads(entries["bulk_maintenance_opened"].targets or "") == {
        "filter": {"state": "lost"},
        "count": 10,
    }
    assert entries["bulk_maintenance_opened"].detail == "90 min: X"
    assert len(entries) == 2


def test_a_changed_count_or_bad_input_does_nothing(
    app_client: TestClient, db_settings: FleetSettings
) -> None:
    token = logged_in_as(app_client, db_settings, "operator")
    base = {"csrf_token": token, "scope": "matching", "state": "lost"}
    stale = app_client.post(PAGE, data={**base, "action": "command:reboot", "confirmed_count": "9"})
    assert stale.status_code == 422
    assert (
        "Rien n’a été fait : les bornes ont changé depuis la confirmation (10 maintenant, "
        "9 confirmées)"
    ) in stale.text
    nothing = app_client.post(
        f"{PAGE}/confirm", data={"csrf_token": token, "action": "acknowledge"}
    )
    assert nothing.status_code == 422
    assert "aucune borne n’est sélectionnée" in nothing.text
    too_long = app_client.post(
        f"{PAGE}/confirm", data={**base, "action": "maintenance", "minutes": "999999"}
    )
    assert too_long.status_code == 422
    assert "la maintenance dure de 1 à 10\u202f080 minutes" in too_long.text
    unknown = app_client.post(f"{PAGE}/confirm", data={**base, "action": "format_disk"})
    assert "choisissez quoi faire" in unknown.text
    none = app_client.post(
        f"{PAGE}/confirm", data={**base, "q": "nowhere", "action": "acknowledge"}
    )
    assert "aucune borne ne correspond : rien à faire" in none.text
    assert count_rows(db_settings, CommandRecord) == 0
    assert count_rows(db_settings, MaintenanceWindow) == 0
    assert audit_entries(db_settings) == []


def test_viewers_and_forged_forms_cannot_act(
    app_client: TestClient, db_settings: FleetSettings
) -> None:
    token = logged_in_as(app_client, db_settings, "viewer")
    page = app_client.get(PAGE).text
    assert 'id="bulk-read-only"' in page
    assert 'name="ids"' not in page
    form = {"csrf_token": token, "scope": "matching", "action": "command:reboot"}
    assert app_client.post(f"{PAGE}/confirm", data=form).status_code == 403
    assert app_client.post(PAGE, data={**form, "confirmed_count": "30"}).status_code == 403
    app_client.post("/logout", data={"csrf_token": token})
    logged_in_as(app_client, db_settings, "admin")
    forged = {**form, "csrf_token": "forged", "confirmed_count": "30"}
    assert app_client.post(PAGE, data=forged).status_code == 400
    assert count_rows(db_settings, CommandRecord) == 0


def test_one_transaction_a_failure_leaves_nothing(
    db_settings: FleetSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the commands are written (here: the audit entry) undoes them all."""

    def broken_audit(*args: object, **kwargs: object) -> AuditEntry:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(audit, "record", broken_audit)
    engine = make_engine(db_settings.database_url)
    selection = bulk.Selection(bulk.Filter(state="lost"), everything_matching=True)
    with make_session_factory(engine)() as session:
        with pytest.raises(RuntimeError):
            bulk.perform(
                session, selection, bulk.Action("command", command="reboot"), 10, "operator", NOW
            )
        assert session.scalar(select(func.count()).select_from(CommandRecord)) == 0
    engine.dispose()
    assert count_rows(db_settings, CommandRecord) == 0


def test_all_matching_at_100000_terminals(tmp_path: Path) -> None:
    """The form never lists the 100,000: the server applies the filter again, in SQL."""
    settings = make_settings(tmp_path)
    prepare_database(settings)
    add_terminals(settings, 100_000, lost_every=2)
    with TestClient(create_app(settings, start_ingest=False)) as client:
        token = logged_in_as(client, settings, "operator")
        page = client.get(PAGE)
        assert "100\u202f000 bornes correspondent au filtre." in page.text
        assert page.text.count('name="ids"') == 100  # one page of boxes, not the fleet
        assert len(page.content) < 200_000
        form = {"csrf_token": token, "scope": "matching", "state": "lost"}
        confirm = client.post(
            f"{PAGE}/confirm", data={**form, "action": "maintenance", "minutes": "30"}
        )
        assert confirmed_count(confirm.text) == 50_000
        assert len(confirm.content) < 200_000
        started = time.perf_counter()
        done = client.post(
            PAGE,
            data={**form, "action": "maintenance", "minutes": "30", "confirmed_count": "50000"},
        )
        maintenance_s = time.perf_counter() - started
        assert "ouverte pour 50\u202f000 bornes." in done.text
        started = time.perf_counter()
        sent = client.post(
            PAGE, data={**form, "action": "command:restart_ui", "confirmed_count": "50000"}
        )
        command_s = time.perf_counter() - started
        assert "Commande envoyée à 50\u202f000 bornes." in sent.text
    assert count_rows(settings, MaintenanceWindow) == 50_000
    assert count_rows(settings, CommandRecord) == 50_000
    entries = audit_entries(settings)
    assert len(entries) == 2
    assert all(
        json.loads(e.targets or "") == {"filter": {"state": "lost"}, "count": 50_000}
        for e in entries
    )
    print(f"\nbulk at 100,000: maintenance {maintenance_s:.2f} s, commands {command_s:.2f} s")
    assert maintenance_s < 10
    assert command_s < 30


def test_the_audit_page_shows_the_one_entry_and_its_targets(
    app_client: TestClient, db_settings: FleetSettings
) -> None:
    token = logged_in_as(app_client, db_settings, "admin")
    form = {"csrf_token": token, "scope": "matching", "commune": "Bègles", "q": "00001"}
    confirm = app_client.post(f"{PAGE}/confirm", data={**form, "action": "command:restart_ui"})
    count = confirmed_count(confirm.text)
    assert count == 6  # bdx-000001, 11, 13, 15, 17, 19: odd ids are in Bègles
    app_client.post(
        PAGE, data={**form, "action": "command:restart_ui", "confirmed_count": str(count)}
    )
    page = app_client.get("/audit").text
    assert page.count('data-action="bulk_command_sent"') == 1
    assert "a envoyé une commande à plusieurs bornes" in page
    assert "filtre : commune = Bègles, texte = 00001 ; 6 bornes" in page


def test_the_targets_read_in_french_on_the_audit_page() -> None:
    from fleet.api.routes.audit import bulk_targets
    from fleet.i18n import gettext_for

    _ = gettext_for("fr")
    ticked = json.dumps({"ids": ["bdx-000001", "bdx-000002"], "count": 2})
    assert bulk_targets(ticked, _, "fr") == "2 bornes : bdx-000001 bdx-000002"
    matching = json.dumps({"filter": {"state": "lost"}, "count": 12345})
    assert bulk_targets(matching, _, "fr") == "filtre : état = perdu ; 12\u202f345 bornes"
    everything = json.dumps({"filter": {}, "count": 3})
    assert bulk_targets(everything, _, "fr") == "filtre : toutes les bornes ; 3 bornes"
