"""The help-places guide's data: places of digital mediation, in La MedNum's national format.

The national open data schema (``standard-mediation-num``, a Frictionless Table Schema, CSV with
``;`` between several values) describes each place; ``fleet content places import`` checks a
CSV against it and writes the valid places into a content bundle as ``places.json``, which the
terminal reads with :func:`load_places`. The closed vocabularies below are declared once: the
fleet builds the schema's patterns from them, and the terminal's filters use them.

Where the schema's published patterns contradict its own examples, the examples win (see
docs/content.md, "The help-places guide"): values are literal text (the published patterns leave
their parentheses unescaped, so "Langues étrangères (anglais)" never matched them), and the
short and long spellings the examples use are both accepted, kept under the short one.

No Qt here, nothing that needs the kiosk extra: the fleet imports this module too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

PLACES_FILE: Final = "places.json"
#: The schema the import checks against: La MedNum's repository, file ``schema.json``.
SCHEMA_NAME: Final = "standard-mediation-num"
SCHEMA_VERSION: Final = "0.2.0"
SCHEMA_LICENCE: Final = "etalab-2.0"
#: Several values in one cell are separated by ``;`` (spaces around it are tolerated). Later
#: versions of the schema, and the national exports made after them, use ``|``: both are read.
SEPARATOR: Final = ";"
SEPARATORS: Final = re.compile(r"\s*[;|]\s*")
#: A guide larger than this is refused: the terminal draws it on every filter change.
MAX_PLACES: Final = 5000


@dataclass(frozen=True)
class Vocabulary:
    """A closed list of values of one column; ``aliases`` maps other accepted spellings."""

    column: str
    values: tuple[str, ...]
    aliases: dict[str, str] = field(default_factory=dict)

    def accepted(self) -> tuple[str, ...]:
        """Every spelling a cell may hold (the values, then their aliases)."""
        return self.values + tuple(self.aliases)

    def pattern(self) -> str:
        """A regular expression for a cell of one or more accepted values separated by ``;``."""
        one = "|".join(re.escape(value) for value in sorted(self.accepted(), key=len, reverse=True))
        return rf"^\s*(?:{one})\s*(?:[;|]\s*(?:{one})\s*)*$"

    def parse(self, cell: str | None) -> tuple[str, ...]:
        """The values of a cell, each under its canonical spelling (unknown ones dropped)."""
        if not cell:
            return ()
        found: list[str] = []
        for part in SEPARATORS.split(cell.strip()):
            value = self.aliases.get(part, part)
            if value in self.values and value not in found:
                found.append(value)
        return tuple(found)


SERVICES: Final = Vocabulary(
    "services",
    (
        "Aide aux démarches administratives",
        "Maîtrise des outils numériques du quotidien",
        "Insertion professionnelle via le numérique",
        "Utilisation sécurisée du numérique",
        "Parentalité et éducation avec le numérique",
        "Loisirs et créations numériques",
        "Compréhension du monde numérique",
        "Accès internet et matériel informatique",
        "Acquisition de matériel informatique à prix solidaire",
    ),
    # The field's description spells it without the accent; its pattern with it.
    {"Comprehension du monde numérique": "Compréhension du monde numérique"},
)
PUBLICS: Final = Vocabulary(
    "publics_specifiquement_adresses",
    ("Jeunes", "Étudiants", "Familles et/ou enfants", "Seniors", "Femmes"),
)
SUPPORTS: Final = Vocabulary(
    "prise_en_charge_specifique",
    (
        "Surdité",
        "Handicaps moteurs",
        "Handicaps mentaux",
        "Illettrisme",
        "Langues étrangères (anglais)",
        "Langues étrangères (autres)",
        "Déficience visuelle",
    ),
    # The schema's own example writes "Illetrisme".
    {"Illetrisme": "Illettrisme"},
)
FEES: Final = Vocabulary(
    "frais_a_charge",
    ("Gratuit", "Gratuit sous condition", "Payant"),
    {
        "Gratuit : Je peux accéder gratuitement au lieu et à ses services": "Gratuit",
        "Gratuit sous condition : La gratuité est conditionnée à des critères (adhésion, "
        "situation familiale, convention avec un organisme social, pass numériques…)": (
            "Gratuit sous condition"
        ),
        "Payant : L’accès au lieu et/ou à ses services est payant": "Payant",
        "Payant : L'accès au lieu et/ou à ses services est payant": "Payant",
    },
)
PROGRAMMES: Final = Vocabulary(
    "dispositif_programmes_nationaux",
    (
        "Aidants Connect",
        "Bibliothèques numérique de référence",
        "Certification PIX",
        "Conseillers numériques",
        "Emmaüs Connect",
        "France Services",
        "Grande école du numérique",
        "La Croix Rouge",
        "Point d'accès numérique CAF",
        "Promeneurs du net",
        "Relais numérique (Emmaüs Connect)",
    ),
)
LABELS: Final = Vocabulary(
    "formations_labels",
    (
        "Formé à « Mon Espace Santé »",
        "Formé à « DUPLEX » (illetrisme)",
        "Arnia/MedNum BFC (Bourgogne-Franche-Comté)",
        "Collectif ressources et acteurs réemploi (Normandie)",
        "Fabriques de Territoire",
        "Les Éclaireurs du numérique (Drôme)",
        "Mes Papiers (Métropole de Lyon)",
        "ORDI 3.0",
        "SUD LABS (PACA)",
    ),
)
ROAMING: Final = Vocabulary("itinerance", ("Itinérant", "Fixe"))
ACCESS: Final = Vocabulary(
    "modalites_acces",
    (
        "Se présenter",
        "Téléphoner",
        "Contacter par mail",
        "Prendre un RDV en ligne",
        "Ce lieu n'accueille pas de public",
        "Envoyer un mail avec une fiche de prescription",
    ),
)
GUIDANCE: Final = Vocabulary(
    "modalites_accompagnement",
    ("En autonomie", "Accompagnement individuel", "Dans un atelier collectif", "À distance"),
    # The pattern lists the long forms, the example the short ones.
    {
        "Dans un atelier collectif : j'apprends collectivement à utiliser le numérique": (
            "Dans un atelier collectif"
        ),
        "À distance (par téléphone ou en visioconférence)": "À distance",
    },
)
#: Every closed vocabulary of the schema, by column.
VOCABULARIES: Final = {
    vocabulary.column: vocabulary
    for vocabulary in (
        SERVICES,
        PUBLICS,
        SUPPORTS,
        FEES,
        PROGRAMMES,
        LABELS,
        ROAMING,
        ACCESS,
        GUIDANCE,
    )
}

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S{1,500}$")]
#: A phone number as the schema writes it: international, no spaces (``+33556102613``).
Phone = Annotated[str, StringConstraints(pattern=r"^\+\d{7,14}$")]


class PlacesError(ValueError):
    """A ``places.json`` the terminal cannot show; the message names the file and the problem."""


class Place(BaseModel):
    """One place of digital mediation, as the terminal shows it (only the columns it uses)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    nom: Text
    adresse: Text
    complement_adresse: Text | None = None
    code_postal: Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
    commune: Text
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    telephone: Phone | None = None
    courriels: tuple[Annotated[str, StringConstraints(max_length=200)], ...] = ()
    site_web: tuple[Url, ...] = ()
    horaires: Annotated[str, StringConstraints(max_length=1000)] | None = None
    presentation_resume: Annotated[str, StringConstraints(max_length=280)] | None = None
    services: tuple[str, ...] = Field(min_length=1)
    publics: tuple[str, ...] = ()
    supports: tuple[str, ...] = ()
    fees: tuple[str, ...] = ()
    access: tuple[str, ...] = ()
    guidance: tuple[str, ...] = ()
    roaming: tuple[str, ...] = ()
    prise_rdv: Url | None = None
    date_maj: date
    source: Text | None = None

    @property
    def located(self) -> bool:
        """Whether the place has both coordinates (else it cannot be sorted by distance)."""
        return self.latitude is not None and self.longitude is not None


class PlacesFile(BaseModel):
    """``places.json`` of a content bundle: the guide's places, their source and licence."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    schema_name: Literal["standard-mediation-num"] = SCHEMA_NAME
    schema_version: Annotated[str, StringConstraints(max_length=20)] = SCHEMA_VERSION
    licence: Annotated[str, StringConstraints(max_length=40)] = SCHEMA_LICENCE
    #: Who published the data (shown on the page with its date).
    source: Text
    #: When the operator imported it.
    imported_at: date
    places: tuple[Place, ...] = Field(max_length=MAX_PLACES)

    @property
    def data_date(self) -> date | None:
        """The most recent update among the places (``date_maj``), shown as the data's date."""
        return max((place.date_maj for place in self.places), default=None)


def load_places(bundle_dir: Path) -> PlacesFile | None:
    """The bundle's guide (``None`` when it has no ``places.json``); raise :class:`PlacesError`."""
    path = bundle_dir / PLACES_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlacesError(f"{path}: cannot be read: {exc}") from exc
    try:
        return PlacesFile.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise PlacesError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PlacesError(f"{path}: {where}: {first['msg']}") from exc
