"""The useful and emergency numbers page (``kiosk://numbers/``), in the resident's language.

Each number says what it is for in plain words; touching it shows it full screen
(``kiosk://numbers/?show=15``), large enough to copy onto a phone. The terminal itself calls
nobody. Sources: every number is on service-public.fr's sheet F33954 ("Quels sont les numéros
d'urgence ?", Direction de l'information légale et administrative); the listening lines also on
their own official sites, named below.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from kiosk.ui.browser.pagestyle import ICON_PHONE, ICON_SMS, page_document
from kiosk.ui.i18n import N_

#: The official sheet that lists every number of the page.
SERVICE_PUBLIC_SHEET: Final = "https://www.service-public.fr/particuliers/vosdroits/F33954"


@dataclass(frozen=True)
class UsefulNumber:
    """One number: how it is dialled, its name and purpose (English msgids), its source."""

    number: str
    name: str
    purpose: str
    how: Literal["call", "sms"] = "call"
    source: str = SERVICE_PUBLIC_SHEET

    @property
    def digits(self) -> str:
        return self.number.replace(" ", "")


# Texts shown inside the pages' markup (marked here, where the extractor sees them).
T_NUMBERS = N_("Useful and emergency numbers")
T_BACK = N_("Back to the list")
NUMBERS: Final = (
    UsefulNumber(
        "15",
        N_("SAMU"),
        N_("A medical emergency: someone is unwell, badly hurt or cannot breathe."),
    ),
    UsefulNumber(
        "17",
        N_("Police or gendarmerie"),
        N_("Violence, an attack, a theft happening now: the police come at once."),
    ),
    UsefulNumber(
        "18",
        N_("Fire brigade"),
        N_("A fire, an accident, a gas leak, a person in danger."),
    ),
    UsefulNumber(
        "112",
        N_("European emergency number"),
        N_(
            "Any emergency, in every country of the European Union: you are put through to the "
            "right service."
        ),
    ),
    UsefulNumber(
        "114",
        N_("Emergency by text message"),
        N_(
            "For deaf or hard-of-hearing people, or anyone who cannot speak: send a text "
            "message (SMS) to 114."
        ),
        how="sms",
    ),
    UsefulNumber(
        "115",
        N_("Emergency shelter (Samu social)"),
        N_(
            "You have nowhere to sleep tonight, or you see someone living on the street who "
            "needs help."
        ),
    ),
    UsefulNumber(
        "119",
        N_("Children in danger"),
        N_("A child is in danger or at risk: children themselves and adults can call."),
        source="https://www.allo119.gouv.fr/",
    ),
    UsefulNumber(
        "3919",
        N_("Violence against women"),
        N_(
            "Women who suffer violence, and the people close to them: someone listens, "
            "anonymously and free of charge."
        ),
        source="https://arretonslesviolences.gouv.fr/",
    ),
    UsefulNumber(
        "3114",
        N_("Suicide prevention"),
        N_(
            "You think about suicide, or you are worried about someone: someone listens, day "
            "and night."
        ),
        source="https://3114.fr/",
    ),
    UsefulNumber(
        "116 117",
        N_("Doctor on duty"),
        N_(
            "In the evening, at night or at the weekend, when the doctor's surgery is closed and "
            "it is not a serious emergency."
        ),
    ),
)


def find_number(digits: str) -> UsefulNumber | None:
    """The number whose digits are ``digits`` (``"116117"`` for 116 117)."""
    return next((n for n in NUMBERS if n.digits == digits), None)


def _how(number: UsefulNumber, _: Callable[[str], str]) -> str:
    if number.how == "sms":
        return _("Send a text message from your phone")
    return _("Call from your phone: free of charge")


def numbers_html(
    _: Callable[[str], str], language: str, direction: str, *, high_contrast: bool, show: str = ""
) -> str:
    """The list of numbers, or one of them full screen (``show``: its digits)."""
    chosen = find_number(show) if show else None
    if chosen is not None:
        icon = ICON_SMS if chosen.how == "sms" else ICON_PHONE
        body = (
            f"<main class='full' id='shown' data-number='{html.escape(chosen.digits)}'>"
            f"<div class='icon' aria-hidden='true'>{icon}</div>"
            f"<p class='huge'>{html.escape(chosen.number)}</p>"
            f"<h1>{html.escape(_(chosen.name))}</h1>"
            f"<p>{html.escape(_(chosen.purpose))}</p>"
            f"<p class='how'>{html.escape(_how(chosen, _))}</p>"
            f"<a class='button' id='back' href='kiosk://numbers/'>"
            f"{html.escape(_(T_BACK))}</a></main>"
        )
        return page_document(_(chosen.name), body, language, direction, high_contrast=high_contrast)
    items = "".join(
        f"<li><a class='number' href='kiosk://numbers/?show={html.escape(n.digits)}' "
        f"id='n{html.escape(n.digits)}'><span class='digits'>{html.escape(n.number)}</span>"
        f"<span class='what'><strong>{html.escape(_(n.name))}</strong>"
        f"<span>{html.escape(_(n.purpose))}</span></span></a></li>"
        for n in NUMBERS
    )
    intro = _("Calls to these numbers are free. Touch a number to show it in large print.")
    source = _(
        "Source: service-public.fr, sheet F33954 (what numbers to call in an emergency), and"
        " the official sites of 119, 3919 and 3114."
    )
    body = (
        f"<main><h1>{html.escape(_(T_NUMBERS))}</h1>"
        f"<p>{html.escape(intro)}</p><ul class='numbers'>{items}</ul>"
        f"<p class='source'>{html.escape(source)}</p></main>"
    )
    return page_document(
        _("Useful and emergency numbers"), body, language, direction, high_contrast=high_contrast
    )
