"""Notification channels set in the dashboard: the page, its test button against real local SMTP
and webhook servers, the audit, and the alert engine choosing recipients per alert kind."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from fleet import audit, crud
from fleet.alerts import channels
from fleet.alerts.engine import AlertEngine
from fleet.alerts.notifiers import WebhookNotifier, redacted_url
from fleet.alerts.rules import ALERT_KINDS, AlertLimits
from fleet.broker import free_port
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.crud import utc_now
from fleet.main import create_app
from fleet.models import ALL_ALERT_KINDS, AuditEntry, NotificationChannel
from tests.helpers import csrf_token_of, log_in

from .alerting import TERMINAL, status
from .conftest import later, make_settings, prepare_database
from .sinks import Sink, smtp_sink, subjects, webhook_sink

PASSWORD = "a long enough password"
SECRET_URL = "https://hooks.example.org/services/T000/B000/s3cr3tPathPart?token=s3cr3tQuery"


# -- helpers -----------------------------------------------------------------------------------


def stored(settings: FleetSettings) -> list[tuple[str, str, str, bool]]:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        rows = [
            (c.medium, c.target, c.alert_kinds, c.enabled)
            for c in session.scalars(select(NotificationChannel).order_by(NotificationChannel.id))
        ]
    engine.dispose()
    return rows


def audit_entries(settings: FleetSettings) -> list[AuditEntry]:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        entries = list(reversed(audit.recent(session)))
    engine.dispose()
    return [entry for entry in entries if entry.action.startswith("notification_channel")]


def post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    token = csrf_token_of(client.get("/notifications").text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def add(client: TestClient, medium: str, target: str, kinds: list[str] | None = None) -> Any:
    data: dict[str, Any] = {"medium": medium, "target": target, "enabled": "1"}
    if kinds is None:
        data["every_kind"] = "1"
    else:
        data["kinds"] = kinds
    return post(client, "/notifications", data)


def channel_ids(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr data-channel="(\d+)"', page)]


def add_user(settings: FleetSettings, name: str, role: str) -> None:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        crud.create_user(session, name, PASSWORD, role)
        session.commit()
    engine.dispose()


@contextmanager
def failing_webhook(code: int) -> Iterator[str]:
    """A local HTTP server that answers every POST with ``code``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(code)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def smtp() -> Iterator[Sink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def fleet_settings(tmp_path: Path, smtp: Sink) -> FleetSettings:
    """A fleet whose SMTP relay is the local sink, with environment defaults set."""
    settings = make_settings(
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_from="fleet@test",
        smtp_to="defaut@bordeaux-metropole.fr",
        smtp_timeout_s=5,
        webhook_url="https://defaults.example.org/hook/envS3cret",
        webhook_timeout_s=5,
    )
    prepare_database(settings)
    return settings


@pytest.fixture
def admin(fleet_settings: FleetSettings) -> Iterator[TestClient]:
    with TestClient(create_app(fleet_settings, start_ingest=False)) as client:
        log_in(client)
        yield client


# -- checking what the form gives ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("medium", "target", "kinds", "every", "reason"),
    [
        ("email", "astreinte", ["down"], False, "email"),
        ("email", "a@b", ["down"], False, "email"),
        ("email", "a b@example.org", ["down"], False, "email"),
        ("email", "a@@example.org", ["down"], False, "email"),
        ("email", "a..b@example.org", ["down"], False, "email"),
        ("email", "a@-example.org", ["down"], False, "email"),
        ("webhook", "ftp://example.org/hook", ["down"], False, "url"),
        ("webhook", "https://", ["down"], False, "url"),
        ("webhook", "https://exa mple.org/", ["down"], False, "url"),
        ("webhook", "https://example.org:99999/", ["down"], False, "url"),
        ("webhook", "example.org/hook", ["down"], False, "url"),
        ("sms", "0600000000", ["down"], False, "medium"),
        ("email", "", ["down"], False, "target_missing"),
        ("email", "ops@example.org", [], False, "no_kind"),
        ("email", "ops@example.org", ["down", "coffee"], False, "kind"),
    ],
)
def test_the_form_refuses_what_cannot_be_a_channel(
    medium: str, target: str, kinds: list[str], every: bool, reason: str
) -> None:
    with pytest.raises(channels.ChannelRefused) as refused:
        channels.check(medium, target, kinds, every, True)
    assert refused.value.reason == reason


def test_the_form_accepts_addresses_urls_and_stores_kinds_in_rule_order() -> None:
    values = channels.check("email", " ops@mairie-bègles.fr ", ["disk_full", "down"], False, True)
    assert values.target == "ops@mairie-bègles.fr"
    assert values.alert_kinds == "down,disk_full"
    assert channels.check("webhook", "http://127.0.0.1:8080/x", [], True, False).alert_kinds == (
        ALL_ALERT_KINDS
    )


def test_a_webhook_url_reaches_logs_and_audit_without_its_secret_parts() -> None:
    assert redacted_url(SECRET_URL) == "https://hooks.example.org/…"
    assert redacted_url("https://user:pw@example.org:8443") == "https://example.org:8443"
    assert redacted_url("http://[::1]:9/x") == "http://[::1]:9/…"


# -- the page ----------------------------------------------------------------------------------


def test_admin_adds_edits_disables_and_deletes_each_change_audited(
    admin: TestClient, fleet_settings: FleetSettings
) -> None:
    page = admin.get("/notifications")
    assert page.status_code == 200
    assert "<h1>Notifications</h1>" in page.text
    assert "Aucun canal pour l’instant" in page.text
    # The environment's defaults, read-only, the webhook without its secret path.
    assert "defaut@bordeaux-metropole.fr" in page.text
    assert "https://defaults.example.org/…" in page.text
    assert "envS3cret" not in page.text
    assert f"127.0.0.1:{fleet_settings.smtp_port}" in page.text

    response = add(admin, "email", "astreinte@bordeaux-metropole.fr", ["down", "door_open"])
    assert response.status_code == 303
    listed = admin.get(response.headers["location"]).text
    assert "Le canal a été ajouté." in listed
    row = listed.split('<tr data-channel="')[1].split("</tr>")[0]
    assert "Borne hors service, Porte du mobilier ouverte" in row
    assert ">actif<" in row
    (channel_id,) = channel_ids(listed)

    edit = admin.get(f"/notifications?edit={channel_id}").text
    assert "Modifier le canal" in edit
    assert 'value="astreinte@bordeaux-metropole.fr"' in edit
    response = post(
        admin,
        f"/notifications/{channel_id}",
        {"medium": "email", "target": "nuit@bordeaux-metropole.fr", "kinds": ["disk_full"]},
    )
    assert response.status_code == 303
    assert stored(fleet_settings) == [("email", "nuit@bordeaux-metropole.fr", "disk_full", False)]

    assert post(admin, f"/notifications/{channel_id}/enabled", {"enabled": "1"}).status_code == 303
    assert stored(fleet_settings)[0][3] is True
    assert post(admin, f"/notifications/{channel_id}/enabled", {"enabled": "0"}).status_code == 303
    assert stored(fleet_settings)[0][3] is False
    row = admin.get("/notifications").text.split(f'<tr data-channel="{channel_id}"')[1]
    assert ">désactivé<" in row.split("</tr>")[0]

    assert post(admin, f"/notifications/{channel_id}/delete", {}).status_code == 303
    assert stored(fleet_settings) == []

    entries = audit_entries(fleet_settings)
    assert [entry.action for entry in entries] == [
        "notification_channel_created",
        "notification_channel_changed",
        "notification_channel_enabled",
        "notification_channel_disabled",
        "notification_channel_deleted",
    ]
    assert all(entry.username == "admin" for entry in entries)
    assert all(entry.target == f"channel {channel_id}" for entry in entries)
    assert "astreinte@bordeaux-metropole.fr" in (entries[0].detail or "")
    assert "kinds=down,door_open" in (entries[0].detail or "")
    audit_page = admin.get("/audit").text
    assert "a ajouté un canal de notification" in audit_page
    assert "a supprimé un canal de notification" in audit_page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"medium": "email", "target": "astreinte.bordeaux", "kinds": ["down"]},
            "Ce n’est pas une adresse e-mail",
        ),
        (
            {"medium": "webhook", "target": "ftp://hooks.example.org/x", "kinds": ["down"]},
            "Ce n’est pas l’URL d’un webhook",
        ),
        (
            {"medium": "email", "target": "astreinte@bordeaux-metropole.fr"},
            "Cochez au moins un type d’alerte",
        ),
    ],
)
def test_bad_input_is_refused_in_french_and_nothing_is_saved(
    admin: TestClient, fleet_settings: FleetSettings, data: dict[str, Any], message: str
) -> None:
    response = post(admin, "/notifications", data)
    assert response.status_code == 400
    assert message in response.text
    # What was typed stays in the form, to be corrected.
    assert f'value="{data["target"]}"' in response.text
    assert stored(fleet_settings) == []
    assert audit_entries(fleet_settings) == []


def test_a_bad_edit_leaves_the_channel_as_it_was(
    admin: TestClient, fleet_settings: FleetSettings
) -> None:
    add(admin, "webhook", "https://hooks.example.org/a", ["down"])
    (channel_id,) = channel_ids(admin.get("/notifications").text)
    response = post(
        admin,
        f"/notifications/{channel_id}",
        {"medium": "webhook", "target": "not a url", "kinds": ["flapping"], "enabled": "1"},
    )
    assert response.status_code == 400
    assert stored(fleet_settings) == [("webhook", "https://hooks.example.org/a", "down", True)]
    assert [e.action for e in audit_entries(fleet_settings)] == ["notification_channel_created"]


def test_forms_need_the_csrf_token(admin: TestClient, fleet_settings: FleetSettings) -> None:
    admin.get("/notifications")
    response = admin.post(
        "/notifications",
        data={"medium": "email", "target": "ops@example.org", "every_kind": "1", "csrf_token": "x"},
    )
    assert response.status_code == 400
    assert stored(fleet_settings) == []


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_other_roles_get_a_clear_refusal_and_change_nothing(
    fleet_settings: FleetSettings, role: str
) -> None:
    add_user(fleet_settings, f"someone-{role}", role)
    with TestClient(create_app(fleet_settings, start_ingest=False)) as client:
        log_in(client, f"someone-{role}", PASSWORD)
        page = client.get("/notifications")
        assert page.status_code == 403
        assert page.headers["content-type"].startswith("text/html")
        assert "Seuls les administrateurs peuvent gérer les canaux de notification" in page.text
        assert 'href="/notifications"' not in client.get("/").text
        token = csrf_token_of(page.text)
        refused = client.post(
            "/notifications",
            data={
                "medium": "email",
                "target": "x@example.org",
                "every_kind": "1",
                "csrf_token": token,
            },
        )
        assert refused.status_code == 403
    assert stored(fleet_settings) == []


def test_a_webhook_secret_never_reaches_the_audit_the_list_or_the_log(
    admin: TestClient, fleet_settings: FleetSettings, caplog: pytest.LogCaptureFixture
) -> None:
    add(admin, "webhook", SECRET_URL, ["down"])
    listed = admin.get("/notifications").text
    (channel_id,) = channel_ids(listed)
    row = listed.split(f'<tr data-channel="{channel_id}"')[1].split("</tr>")[0]
    assert "https://hooks.example.org/…" in row
    assert "s3cr3t" not in row
    with caplog.at_level(logging.DEBUG):
        # hooks.example.org is not reachable from the tests: the test send fails.
        result = post(admin, f"/notifications/{channel_id}/test", {})
    assert result.status_code == 502
    assert "s3cr3t" not in result.text.split('id="channel-form"')[0]
    for entry in audit_entries(fleet_settings):
        assert "s3cr3t" not in (entry.detail or "")
        assert "s3cr3t" not in (entry.target or "")
    assert "s3cr3t" not in caplog.text


# -- « Envoyer un test » -----------------------------------------------------------------------


def test_send_a_test_reaches_the_local_smtp_and_webhook_through_the_notifiers(
    admin: TestClient, fleet_settings: FleetSettings, smtp: Sink
) -> None:
    with webhook_sink() as hook:
        add(admin, "email", "astreinte@bordeaux-metropole.fr", ["down"])
        add(admin, "webhook", hook.url, None)
        email_id, webhook_id = channel_ids(admin.get("/notifications").text)

        sent = post(admin, f"/notifications/{email_id}/test", {})
        assert sent.status_code == 200
        assert "Test envoyé à astreinte@bordeaux-metropole.fr." in sent.text
        (message,) = smtp.received()
        assert message["To"] == "astreinte@bordeaux-metropole.fr"
        assert subjects([message]) == ["[Test] [test] Borne hors service: ouverte"]
        body = message.get_payload(decode=True).decode()
        assert "Ceci est un test du canal de notification" in body
        assert "par admin" in body

        sent = post(admin, f"/notifications/{webhook_id}/test", {})
        assert sent.status_code == 200
        assert "Test envoyé à http://127.0.0.1:" in sent.text
        (call,) = hook.received()
        assert call["test"] is True
        assert call["terminal_id"] == "test"
    actions = [(e.action, (e.detail or "").split(":")[0]) for e in audit_entries(fleet_settings)]
    assert actions[-2:] == [
        ("notification_channel_tested", "sent"),
        ("notification_channel_tested", "sent"),
    ]


def test_send_a_test_shows_why_it_failed_in_french(
    admin: TestClient, fleet_settings: FleetSettings
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/hook"
    with failing_webhook(500) as broken:
        add(admin, "webhook", closed, ["down"])
        add(admin, "webhook", broken, ["down"])
        closed_id, broken_id = channel_ids(admin.get("/notifications").text)
        refused = post(admin, f"/notifications/{closed_id}/test", {})
        assert refused.status_code == 502
        assert "Le test n’a pas pu être envoyé à http://127.0.0.1:" in refused.text
        assert "le serveur a refusé la connexion" in refused.text
        answered = post(admin, f"/notifications/{broken_id}/test", {})
        assert answered.status_code == 502
        assert "le webhook a répondu avec le statut HTTP 500" in answered.text
    failed = [e for e in audit_entries(fleet_settings) if e.action.endswith("tested")]
    assert [(e.detail or "").split(":")[0] for e in failed] == ["failed", "failed"]


def test_an_email_channel_without_a_relay_says_so(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    prepare_database(settings)
    with TestClient(create_app(settings, start_ingest=False)) as client:
        log_in(client)
        add(client, "email", "astreinte@bordeaux-metropole.fr", None)
        (channel_id,) = channel_ids(client.get("/notifications").text)
        result = post(client, f"/notifications/{channel_id}/test", {})
        assert result.status_code == 502
        assert "aucun relais SMTP n’est configuré (FLEET_SMTP_HOST)" in result.text


# -- the engine --------------------------------------------------------------------------------


def add_channel(
    session: Session, medium: str, target: str, kinds: str, enabled: bool = True
) -> None:
    now = utc_now()
    session.add(
        NotificationChannel(
            medium=medium,
            target=target,
            alert_kinds=kinds,
            enabled=enabled,
            created_by="admin",
            created_at=now,
            updated_by="admin",
            updated_at=now,
        )
    )


def test_a_lost_terminal_alert_reaches_only_the_channels_subscribed_to_its_kind(
    migrated_engine: Engine, tmp_path: Path, smtp: Sink
) -> None:
    settings = make_settings(
        tmp_path,
        database_url=migrated_engine.url.render_as_string(hide_password=False),
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_timeout_s=5,
    )
    factory = make_session_factory(migrated_engine)
    with (
        webhook_sink() as down_hook,
        webhook_sink() as disk_hook,
        webhook_sink() as disabled_hook,
        webhook_sink() as default_hook,
    ):
        with factory() as session:
            add_channel(session, "email", "astreinte@bordeaux-metropole.fr", "down,door_open")
            add_channel(session, "email", "disques@bordeaux-metropole.fr", "disk_full")
            add_channel(session, "webhook", down_hook.url, "down")
            add_channel(session, "webhook", disk_hook.url, "disk_full,temperature")
            add_channel(session, "webhook", disabled_hook.url, ALL_ALERT_KINDS, enabled=False)
            session.commit()
        engine = AlertEngine(
            factory,
            AlertLimits(),
            [WebhookNotifier(default_hook.url, timeout_s=5)],
            channels=channels.StoredChannels(settings),
        )
        status(factory, "online", later(0))
        status(factory, "lost", later(10))
        engine.run_once(later(10 + 180))

        assert [(c["terminal_id"], c["kind"], c["state"]) for c in down_hook.received()] == [
            (TERMINAL, "down", "open")
        ]
        assert [message["To"] for message in smtp.received()] == ["astreinte@bordeaux-metropole.fr"]
        assert disk_hook.received() == []
        assert disabled_hook.received() == []
        # Stored channels receive "down": the environment's default is not told.
        assert default_hook.received() == []


def test_a_kind_no_enabled_channel_receives_goes_to_the_environment_defaults(
    migrated_engine: Engine, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, database_url=migrated_engine.url.render_as_string(hide_password=False)
    )
    factory = make_session_factory(migrated_engine)
    with webhook_sink() as other_hook, webhook_sink() as disabled_hook, webhook_sink() as default:
        with factory() as session:
            add_channel(session, "webhook", other_hook.url, "disk_full")
            add_channel(session, "webhook", disabled_hook.url, "down", enabled=False)
            session.commit()
        engine = AlertEngine(
            factory,
            AlertLimits(),
            [WebhookNotifier(default.url, timeout_s=5)],
            channels=channels.StoredChannels(settings),
        )
        status(factory, "online", later(0))
        status(factory, "lost", later(10))
        engine.run_once(later(10 + 180))
        assert [(c["kind"], c["state"]) for c in default.received()] == [("down", "open")]
        assert other_hook.received() == []
        assert disabled_hook.received() == []


def test_when_every_channel_of_a_kind_fails_the_transition_is_tried_again(
    migrated_engine: Engine, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, database_url=migrated_engine.url.render_as_string(hide_password=False)
    )
    factory = make_session_factory(migrated_engine)
    closed = f"http://127.0.0.1:{free_port()}/hook"
    with webhook_sink() as default, webhook_sink() as later_hook:
        with factory() as session:
            add_channel(session, "webhook", closed, "down")
            session.commit()
        engine = AlertEngine(
            factory,
            AlertLimits(),
            [WebhookNotifier(default.url, timeout_s=5)],
            channels=channels.StoredChannels(settings),
        )
        status(factory, "online", later(0))
        status(factory, "lost", later(10))
        assert engine.run_once(later(190)).notified == 0
        # The channel's kind is set: its failure does not spill over to the environment.
        assert default.received() == []
        with factory() as session:
            channel = session.scalars(select(NotificationChannel)).one()
            channel.target = later_hook.url
            session.commit()
        assert engine.run_once(later(200)).notified == 1
        assert [(c["kind"], c["state"]) for c in later_hook.received()] == [("down", "open")]
        assert default.received() == []


def test_the_ingest_process_sends_each_kind_to_its_stored_channels(tmp_path: Path) -> None:
    """The real wiring: the ingest's keeper runs the engine with the stored channels."""
    from fleet.ingest.mqtt import Ingest

    with webhook_sink() as default, webhook_sink() as down_hook, webhook_sink() as disk_hook:
        settings = make_settings(tmp_path, webhook_url=default.url, webhook_timeout_s=5)
        prepare_database(settings)
        engine = make_engine(settings.database_url)
        factory = make_session_factory(engine)
        with factory() as session:
            add_channel(session, "webhook", down_hook.url, "down")
            add_channel(session, "webhook", disk_hook.url, "disk_full")
            session.commit()
        status(factory, "online", later(0))
        status(factory, "lost", later(10))
        ingest = Ingest(settings, factory)
        ingest._keeper.run_alerts_once(later(190))
        assert [c["kind"] for c in down_hook.received()] == ["down"]
        assert disk_hook.received() == []
        assert default.received() == []
        engine.dispose()


def test_an_unknown_channel_is_a_clear_404(admin: TestClient) -> None:
    page = admin.get("/notifications?edit=999")
    assert page.status_code == 404
    assert "Ce canal n’existe pas" in page.text
    for path in ("/notifications/999", "/notifications/999/test", "/notifications/999/delete"):
        response = post(admin, path, {"medium": "email", "target": "a@example.org"})
        assert response.status_code == 404
        assert "Ce canal n’existe pas" in response.text


def test_every_rule_kind_can_be_chosen_on_the_page(admin: TestClient) -> None:
    page = admin.get("/notifications").text
    for kind in ALERT_KINDS:
        assert f'name="kinds" value="{kind}"' in page


# -- in Chromium -------------------------------------------------------------------------------


@pytest.mark.e2e
def test_the_page_in_chromium_at_desktop_and_phone_widths(
    fleet_settings: FleetSettings, tmp_path: Path
) -> None:
    """Add channels with the form, send a test that arrives and one that fails, see a refusal;
    nothing is cut off or scrolls sideways at 1280 and 390 px (screenshots for the docs)."""
    import os

    from playwright.sync_api import expect, sync_playwright

    from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, launch_chromium, served

    shots = Path(os.environ.get("KIOSK_SCREENSHOT_DIR", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    closed = f"http://127.0.0.1:{free_port()}/alertes"
    with (
        webhook_sink() as hook,
        served(create_app(fleet_settings, start_ingest=False)) as url,
        sync_playwright() as playwright,
    ):
        browser = launch_chromium(playwright)
        for width, name, target in (
            (1280, "dashboard-notifications.png", "astreinte@bordeaux-metropole.fr"),
            (390, "dashboard-notifications-phone.png", "nuit@bordeaux-metropole.fr"),
        ):
            page = browser.new_page(viewport={"width": width, "height": 900}, locale="fr-FR")
            page.goto(url + "/login")
            page.fill("#username", ADMIN_USERNAME)
            page.fill("#password", ADMIN_PASSWORD)
            page.press("#password", "Enter")
            page.goto(url + "/notifications")
            expect(page.locator("h1")).to_have_text("Notifications")

            # A bad address: refused in French, what was typed kept.
            page.select_option("#channel-medium", "email")
            page.fill("#channel-target", "astreinte.bordeaux-metropole.fr")
            page.click(".channel-form button[type=submit]")
            expect(page.locator("#notifications-error")).to_contain_text(
                "Ce n’est pas une adresse e-mail"
            )
            page.fill("#channel-target", target)
            page.uncheck("input[name=every_kind]")
            page.check("input[name=kinds][value=down]")
            page.check("input[name=kinds][value=door_open]")
            page.click(".channel-form button[type=submit]")
            expect(page.locator("#notifications-flash")).to_have_text("Le canal a été ajouté.")

            if width == 1280:
                for webhook in (hook.url, closed):
                    page.select_option("#channel-medium", "webhook")
                    page.fill("#channel-target", webhook)
                    page.click(".channel-form button[type=submit]")
                    expect(page.locator("#notifications-flash")).to_be_visible()
                shown = redacted_url(hook.url)
                assert shown == f"http://127.0.0.1:{hook.port}/…"
                page.locator(f'tr:has-text("{shown}") button.send-test').click()
                expect(page.locator("#test-result")).to_contain_text("Test envoyé à")
                assert [call["test"] for call in hook.received()] == [True]
                page.locator(f'tr:has-text("{redacted_url(closed)}") button.send-test').click()
                expect(page.locator("#test-result")).to_contain_text(
                    "le serveur a refusé la connexion"
                )
            else:
                page.locator(f'tr:has-text("{target}") button.send-test').click()
                expect(page.locator("#test-result")).to_contain_text(f"Test envoyé à {target}")
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            for selector in ("#channels", "#channel-form", "#channel-defaults", "#test-result"):
                box = page.locator(selector).bounding_box()
                assert box is not None
                assert box["x"] >= 0
                assert box["x"] + box["width"] <= width
            page.screenshot(path=str(shots / name), full_page=True)
            page.close()
        browser.close()
