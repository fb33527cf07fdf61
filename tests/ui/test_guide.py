"""The help-places guide and the numbers page, drawn without a browser.

The places here are made up for the tests (``test-`` ids, fictional names); only the shipped
sample of the default bundle is real, and it is tested in tests/content/test_places_import.py.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pytest

from kiosk.contract.places import Place, PlacesFile
from kiosk.ui.browser.guide import GuideRenderer
from kiosk.ui.browser.nearby import (
    Filters,
    national_phone,
    open_state,
    place_vcard,
    select_places,
)
from kiosk.ui.browser.numbers import NUMBERS, numbers_html
from kiosk.ui.browser.pages import PageContext, render_friendly, render_page
from kiosk.ui.i18n import gettext_for

#: A terminal on the place Pey-Berland, for the tests' distances.
HERE = (44.8378, -0.5792)


def _place(ident: str, **values: object) -> Place:
    base: dict[str, object] = {
        "id": ident,
        "nom": f"Lieu {ident}",
        "adresse": "1 rue d'essai",
        "code_postal": "33000",
        "commune": "Bordeaux",
        "services": ("Aide aux démarches administratives",),
        "date_maj": date(2026, 11, 1),
    }
    base.update(values)
    return Place.model_validate(base)


GUIDE = PlacesFile(
    source="Essai",
    imported_at=date(2026, 12, 1),
    places=(
        _place("test-far", latitude=44.86, longitude=-0.56, fees=("Payant",)),
        _place(
            "test-near",
            latitude=44.839,
            longitude=-0.579,
            horaires="Mo-Fr 09:00-12:00; PH off",
            fees=("Gratuit",),
            supports=("Surdité", "Langues étrangères (anglais)"),
            telephone="+33556000000",
            access=("Se présenter",),
        ),
        _place(
            "test-nowhere",
            services=("Accès internet et matériel informatique",),
            horaires="24/7",
            fees=("Gratuit sous condition",),
        ),
    ),
)


def ids(listed: list[object]) -> list[str]:
    return [item.place.id for item in listed]  # type: ignore[attr-defined]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_nearest_first_from_the_terminals_position_unplaced_last() -> None:
    listed = select_places(GUIDE, Filters(), HERE, at("2026-12-01T08:30:00"))
    assert ids(listed) == ["test-near", "test-far", "test-nowhere"]
    assert listed[0].distance is not None
    assert listed[0].distance < 300
    # Without a position the order is by name.
    assert ids(select_places(GUIDE, Filters(), None, at("2026-12-01T08:30:00"))) == [
        "test-far",
        "test-near",
        "test-nowhere",
    ]


def test_open_now_is_computed_in_paris_time_with_public_holidays() -> None:
    near = GUIDE.places[1]
    # 08:30 UTC is 09:30 in Paris (winter): open; 11:30 UTC is 12:30: closed.
    assert open_state(near, at("2026-12-01T08:30:00")).is_open is True
    assert open_state(near, at("2026-12-01T11:30:00")).is_open is False
    # Christmas is a public holiday in France: "PH off".
    assert open_state(near, at("2026-12-25T08:30:00")).is_open is False
    # No hours given: unknown, never "closed".
    assert open_state(GUIDE.places[0], at("2026-12-01T08:30:00")).is_open is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"need": "7"}, ["test-nowhere"]),  # Internet and a computer to use
        ({"support": "0"}, ["test-near"]),  # deafness
        ({"lang": "0"}, ["test-near"]),  # English
        ({"free": "1"}, ["test-near", "test-nowhere"]),
        ({"open": "1"}, ["test-near", "test-nowhere"]),
        ({"open": "1", "lang": "1"}, []),
        ({"need": "999", "support": "x"}, ["test-near", "test-far", "test-nowhere"]),
    ],
)
def test_filters(query: dict[str, str], expected: list[str]) -> None:
    listed = select_places(GUIDE, Filters.from_query(query), HERE, at("2026-12-01T08:30:00"))
    assert ids(listed) == expected


def test_filter_links_toggle_one_condition_and_keep_the_others() -> None:
    filters = Filters.from_query({"need": "7", "free": "1"})
    assert filters.query(free=None) == {"need": "7"}
    assert filters.query(open=True) == {"need": "7", "free": "1", "open": "1"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_of(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def test_a_place_page_says_how_to_get_there_phone_booking_and_hours() -> None:
    renderer = GuideRenderer(gettext_for("fr"), "fr", "ltr")
    page = renderer.place_page(GUIDE, "test-near", Filters(), HERE, at("2026-12-01T08:30:00"))
    assert page is not None
    text = text_of(page)
    assert "vers le nord" in text
    assert "à vol d'oiseau" in text
    assert "min à pied" in text
    assert "05 56 00 00 00" in text
    assert "Sans rendez-vous" in text
    assert "Ouvert maintenant, jusqu'à 12:00" in text
    assert "mardi 1 décembre 09:00–12:00" in text
    assert "Gratuit" in text
    assert "<svg" in page  # the QR code, drawn inline
    assert renderer.place_page(GUIDE, "absent", Filters(), HERE, at("2026-12-01T08:30:00")) is None


def test_the_qr_code_carries_the_place_and_nothing_else() -> None:
    card = place_vcard(GUIDE.places[1])
    assert card.startswith("BEGIN:VCARD")
    assert "TEL:+33556000000" in card
    assert "1 rue d'essai" in card
    # Nothing of the resident or the session: only the place's own fields.
    assert set(re.findall(r"^([A-Z]+)[:;]", card, re.M)) <= {
        "BEGIN",
        "VERSION",
        "N",
        "FN",
        "TEL",
        "ADR",
        "GEO",
        "URL",
        "END",
    }


def test_the_list_says_the_datas_source_and_date_in_the_residents_language() -> None:
    text = text_of(
        GuideRenderer(gettext_for("fr"), "fr", "ltr").list_page(
            GUIDE, Filters(), HERE, at("2026-12-01T08:30:00")
        )
    )
    assert "Données : Essai, mises à jour le 1 novembre 2026" in text
    assert "3 lieu(x)" in text
    assert "Les plus proches d'abord." in text
    arabic = GuideRenderer(gettext_for("ar"), "ar", "rtl").list_page(
        GUIDE, Filters(), None, at("2026-12-01T08:30:00")
    )
    assert "dir='rtl'" in arabic
    assert "<bdi lang='fr'>Lieu test-near</bdi>" in arabic


def test_national_phone_numbers_are_written_as_residents_dial_them() -> None:
    assert national_phone("+33556102613") == "05 56 10 26 13"
    assert national_phone("+590590000000") == "+590590000000"


def test_every_number_is_on_the_numbers_page_with_its_purpose_in_every_language() -> None:
    assert [n.number for n in NUMBERS] == [
        "15",
        "17",
        "18",
        "112",
        "114",
        "115",
        "119",
        "3919",
        "3114",
        "116 117",
    ]
    for language in ("fr", "en", "es", "pt", "ar", "uk"):
        _ = gettext_for(language)
        page = numbers_html(_, language, "rtl" if language == "ar" else "ltr", high_contrast=False)
        shown = text_of(page)
        for number in NUMBERS:
            assert f"?show={number.digits}" in page
            assert " ".join(_(number.purpose).split()) in shown
            if language != "en":
                assert _(number.purpose) != number.purpose, (language, number.number)
    full = text_of(numbers_html(gettext_for("fr"), "fr", "ltr", high_contrast=True, show="114"))
    assert "114" in full
    assert "Envoyez un SMS depuis votre téléphone" in full
    assert all(n.source.startswith("https://") for n in NUMBERS)


def test_the_refused_and_offline_pages_point_to_help_and_draw_no_emoji() -> None:
    context = PageContext(gettext_for("fr"), "fr")
    for host in ("refused", "offline"):
        page = render_friendly(host, "", context)
        assert page is not None
        assert "href='kiosk://guide/'" in page
        assert "href='kiosk://numbers/'" in page
        assert "<svg" in page
        # No emoji nor any pictograph outside the Basic Multilingual Plane (no font has them).
        assert not any(ord(char) > 0xFFFF or 0x2600 <= ord(char) <= 0x27BF for char in page)


def test_unknown_kiosk_pages_are_not_found() -> None:
    context = PageContext(gettext_for("fr"), "fr", places=GUIDE)
    assert render_page("guide", "/nope", {}, context) is None
    assert render_page("nothing", "/", {}, context) is None
    assert render_page("numbers", "/", {"show": "999"}, context) is not None  # the list
