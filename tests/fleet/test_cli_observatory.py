"""``fleet observatory``: publish the open data, set a site's QPV code."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fleet.cli import app
from fleet.core.db import make_engine, make_session_factory
from fleet.models import Terminal

from .conftest import make_settings, prepare_database
from .test_opendata import fill

runner = CliRunner()


def test_publish_and_qpv(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    prepare_database(settings)
    env = {"FLEET_DATABASE_URL": settings.database_url, "FLEET_DEFAULT_LANGUAGE": "fr"}
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        fill(session, terminals=2, sites=1, per_day=6)
    refused = runner.invoke(app, ["observatory", "qpv", "bdx-000", "not-a-code"], env=env)
    assert refused.exit_code != 0
    done = runner.invoke(app, ["observatory", "qpv", "bdx-000", "qn03301m"], env=env)
    assert done.exit_code == 0, done.output
    with make_session_factory(engine)() as session:
        terminal = session.get(Terminal, "bdx-000")
        assert terminal is not None
        assert terminal.qpv_code == "QN03301M"
    assert (
        runner.invoke(app, ["observatory", "qpv", "nope-000", "QN03301M"], env=env).exit_code == 3
    )
    folder = tmp_path / "open"
    args = ["observatory", "publish", "--folder", str(folder), "--through", "2027-02-28"]
    first = runner.invoke(app, [*args, "--since", "2027-02-01"], env=env)
    assert first.exit_code == 0, first.output
    assert "2027-02" in first.output
    assert (folder / "2027-02" / "datapackage.json").is_file()
    again = runner.invoke(app, [*args, "--since", "2027-02-01"], env=env)
    assert again.exit_code == 0
    assert "Rien de nouveau" in again.output
    engine.dispose()
