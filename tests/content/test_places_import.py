"""``fleet content places import``: every row checked against the national format, in French.

The places below other than the shipped sample are made up for the tests (the ``test-`` ids);
they never reach a bundle that ships.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.content.check import check_bundle
from fleet.content.cli import app
from fleet.content.places import schema_descriptor, validate_csv
from kiosk.agent.content.updater import default_health_check
from kiosk.contract.catalog import default_bundle_dir
from kiosk.contract.places import GUIDANCE, SUPPORTS, PlacesFile, load_places

SAMPLE = default_bundle_dir().parent / "places" / "exemple-lieux.csv"
COLUMNS = [field["name"] for field in schema_descriptor()["fields"]]


def _row(**values: str) -> dict[str, str]:
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        id="test-1",
        pivot="12345678900011",
        nom="Lieu d'essai",
        commune="Bordeaux",
        code_postal="33000",
        adresse="1 rue d'essai",
        date_maj="2026-11-30",
        services="Aide aux démarches administratives",
    )
    row.update(values)
    return row


def _csv(path: Path, rows: list[dict[str, str]], columns: list[str] = COLUMNS) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(default_bundle_dir(), target)
    (target / "places.json").unlink()
    return target


def test_the_shipped_sample_is_accepted_and_is_what_the_default_bundle_holds() -> None:
    report = validate_csv(SAMPLE)
    assert report.problems == []
    assert [place.id for place in report.places] == ["bdx-sesame"]
    shipped = load_places(default_bundle_dir())
    assert shipped is not None
    # The shipped guide is exactly the import of the cited sample (nothing typed by hand).
    assert list(shipped.places) == report.places
    sesame = shipped.places[0]
    assert (sesame.adresse, sesame.commune, sesame.telephone) == (
        "13 place Canteloup",
        "Bordeaux",
        "+33556102613",
    )
    # Nothing that could not be cited: no opening hours, no coordinates.
    assert sesame.horaires is None
    assert sesame.latitude is None


def test_import_writes_places_json_that_the_bundle_check_accepts(
    bundle: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app, ["places", "import", str(SAMPLE), "--bundle", str(bundle), "--source", "Essai"]
    )
    assert result.exit_code == 0, result.output
    assert "1 lieu(x) écrit(s)" in " ".join(result.output.split())
    guide = load_places(bundle)
    assert guide is not None
    assert guide.source == "Essai"
    assert check_bundle(bundle).ok


def test_a_malformed_file_is_refused_with_french_line_level_errors(
    bundle: Path, tmp_path: Path
) -> None:
    rows = [
        _row(id="test-ok"),
        _row(id="test-2", services="Aide aux devoirs"),
        _row(id="test-3", nom=""),
        _row(id="test-4", code_postal="3300"),
        _row(id="test-5", telephone="05 56 00 00 00"),
        _row(id="test-6", horaires="du lundi au vendredi 9h-12h"),
        _row(id="test-ok"),
        _row(id="test-8", latitude="quarante-quatre"),
        _row(id="test-9", date_maj="30/11/2026"),
        _row(id="test-10", frais_a_charge="Gratuit;Sur devis"),
    ]
    source = _csv(tmp_path / "lieux.csv", rows)
    result = CliRunner().invoke(app, ["places", "import", str(source), "--bundle", str(bundle)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    expected = [
        "ligne 3 : « Aide aux devoirs » ne fait pas partie des valeurs de « services »",
        "ligne 4 : la colonne « nom » est obligatoire mais vide",
        "ligne 5 : « 3300 » n'a pas la forme attendue dans « code_postal »",
        "ligne 6 : « 05 56 00 00 00 » n'est pas un numéro de téléphone au format international",
        "ligne 7 : « du lundi au vendredi 9h-12h » n'est pas écrit dans la syntaxe des horaires",
        "ligne 8 : l'identifiant « test-ok » est déjà utilisé sur une autre ligne",
        "ligne 9 : « quarante-quatre » n'est pas un nombre",
        "ligne 10 : « 30/11/2026 » n'est pas une date écrite AAAA-MM-JJ",
        "ligne 11 : « Gratuit;Sur devis » ne fait pas partie des valeurs de « frais_a_charge »",
        "rien n'a été écrit",
    ]
    for sentence in expected:
        assert sentence in text, sentence
    assert "ligne 2 " not in text
    assert not (bundle / "places.json").exists()


def test_keep_valid_imports_the_good_lines_only(bundle: Path, tmp_path: Path) -> None:
    rows = [_row(id="test-ok"), _row(id="test-bad", code_postal="x"), _row(id="test-ok-2")]
    source = _csv(tmp_path / "lieux.csv", rows)
    result = CliRunner().invoke(
        app, ["places", "import", str(source), "--bundle", str(bundle), "--keep-valid"]
    )
    assert result.exit_code == 0, result.output
    guide = load_places(bundle)
    assert guide is not None
    assert [p.id for p in guide.places] == ["test-ok", "test-ok-2"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("id;nom;commune;code_postal;adresse\n1;a;b;33000;c\n", "séparées par « ; »"),
        ("id,nom\ntest-1,Lieu\n", "colonne(s) obligatoire(s) absente(s) : pivot, commune"),
        ("".encode("latin-1").decode() + "", "est vide"),
    ],
    ids=["semicolon-columns", "missing-columns", "empty"],
)
def test_an_unusable_file_is_refused_whole(
    bundle: Path, tmp_path: Path, content: str, expected: str
) -> None:
    source = tmp_path / "lieux.csv"
    source.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(app, ["places", "import", str(source), "--bundle", str(bundle)])
    assert result.exit_code == 1
    assert expected in " ".join(result.output.split())
    assert not (bundle / "places.json").exists()


def test_a_file_not_in_utf8_is_refused(bundle: Path, tmp_path: Path) -> None:
    source = tmp_path / "lieux.csv"
    source.write_bytes(",".join(COLUMNS).encode() + "\nSésame".encode("latin-1"))
    report = validate_csv(source)
    assert report.unusable
    assert "n'est pas encodé en UTF-8" in report.problems[0]


def test_a_folder_that_is_not_a_bundle_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["places", "import", str(SAMPLE), "--bundle", str(tmp_path)])
    assert result.exit_code == 1
    assert "n'est pas un lot de contenu" in " ".join(result.output.split())
    assert not (tmp_path / "places.json").exists()


def test_the_schemas_own_examples_are_accepted_where_its_patterns_refuse_them(
    tmp_path: Path,
) -> None:
    """The published patterns leave "(anglais)" unescaped and list long forms only."""
    published = (
        r"(?:(?:^|;)(Surdité|Handicaps moteurs|Handicaps mentaux|Illettrisme|Langues "
        r"étrangères (anglais)|Langues étrangères (autres) sont tous des formes de déficience "
        r"visuelle))+$"
    )
    assert re.match(published, "Langues étrangères (anglais)") is None
    rows = [
        _row(
            id="test-examples",
            prise_en_charge_specifique="Surdité;Illetrisme;Langues étrangères (anglais)",
            modalites_accompagnement="Dans un atelier collectif;À distance",
            frais_a_charge="Gratuit : Je peux accéder gratuitement au lieu et à ses services",
            formations_labels=(
                "Formé à « Mon Espace Santé »;Arnia/MedNum BFC (Bourgogne-Franche-Comté)"
            ),
        )
    ]
    report = validate_csv(_csv(tmp_path / "lieux.csv", rows))
    assert report.problems == []
    place = report.places[0]
    assert place.supports == ("Surdité", "Illettrisme", "Langues étrangères (anglais)")
    assert place.guidance == ("Dans un atelier collectif", "À distance")
    assert place.fees == ("Gratuit",)
    assert set(place.supports) <= set(SUPPORTS.values)
    assert set(place.guidance) <= set(GUIDANCE.values)


def test_a_places_json_the_terminal_cannot_read_fails_the_bundle_check(bundle: Path) -> None:
    (bundle / "places.json").write_text(json.dumps({"v": 1, "places": "x"}), encoding="utf-8")
    report = check_bundle(bundle)
    assert not report.ok
    assert any(problem.startswith("places.json") for problem in report.problems)


def test_a_page_tile_is_checked_like_the_terminal_does(bundle: Path) -> None:
    catalog = json.loads((bundle / "catalog.json").read_text(encoding="utf-8"))
    catalog["tiles"].append(
        {
            "id": "page-absente",
            "group": "aide",
            "label": {"fr": "Page absente"},
            "page": "pages/absente.html",
            "icon": "aide.svg",
        }
    )
    (bundle / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
    report = check_bundle(bundle)
    assert "la page locale 'pages/absente.html' n'est pas dans le lot" in " ".join(report.problems)
    (bundle / "pages").mkdir()
    (bundle / "pages" / "absente.html").write_text("<p>là</p>", encoding="utf-8")
    assert check_bundle(bundle).ok
    PlacesFile.model_json_schema()  # the guide's model stays describable (docs)


def test_values_separated_by_a_bar_as_in_later_versions_are_read_too(tmp_path: Path) -> None:
    rows = [
        _row(
            id="test-bar",
            services="Aide aux démarches administratives|Loisirs et créations numériques",
            courriels="a@example.org|b@example.org",
        )
    ]
    report = validate_csv(_csv(tmp_path / "lieux.csv", rows))
    assert report.problems == []
    assert report.places[0].services == (
        "Aide aux démarches administratives",
        "Loisirs et créations numériques",
    )
    assert report.places[0].courriels == ("a@example.org", "b@example.org")


def test_the_terminal_rolls_back_a_bundle_whose_guide_it_cannot_read(bundle: Path) -> None:
    shutil.copy(default_bundle_dir() / "places.json", bundle / "places.json")
    assert default_health_check(bundle) is None
    (bundle / "places.json").write_text('{"v": 1}', encoding="utf-8")
    problem = default_health_check(bundle)
    assert problem is not None
    assert "places.json" in problem


def test_a_file_saved_with_a_bom_by_a_spreadsheet_is_read(tmp_path: Path) -> None:
    source = tmp_path / "lieux.csv"
    source.write_bytes(b"\xef\xbb\xbf" + SAMPLE.read_bytes())
    report = validate_csv(source)
    assert report.problems == []
    assert [place.id for place in report.places] == ["bdx-sesame"]
