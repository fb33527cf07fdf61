"""The kiosk's two colour palettes, declared once; pure Python so contrast can be tested.

Every text of the UI is drawn in one of the ``TEXT_PAIRS`` (text colour on background colour),
and both palettes keep each pair at 7:1 or more (WCAG 2 AAA): the terminal is read outdoors, in
rain and glare, by residents who may see poorly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Palette:
    """The colours of one theme, as ``#rrggbb`` strings (QML reads them by field name)."""

    background: str
    text: str
    #: The bars (browsing bar, home footer) and their text.
    surface: str
    surfaceText: str
    card: str
    cardText: str
    cardSubtext: str
    cardBorder: str
    #: Behind the pictograms, which are drawn for a white card.
    pictogramBackground: str
    button: str
    buttonText: str
    buttonBorder: str
    prominent: str
    prominentText: str
    #: A touched button or tile, whatever its kind.
    pressed: str
    pressedText: str
    pressedBorder: str
    #: The countdown's seconds and other figures that must stand out on the background.
    accent: str
    warning: str
    warningText: str

    def as_qml(self) -> dict[str, str]:
        return asdict(self)


#: Each colour of a palette in the normal theme and in the high contrast one, whose yellow and
#: white on black is the combination low-vision readers ask for most.
_COLOURS: Final = {
    #  field: (normal, high contrast)
    "background": ("#0b2440", "#000000"),
    "text": ("#ffffff", "#ffffff"),
    "surface": ("#061629", "#000000"),
    "surfaceText": ("#ffffff", "#ffff00"),
    "card": ("#ffffff", "#000000"),
    "cardText": ("#0b2440", "#ffff00"),
    "cardSubtext": ("#2d3e50", "#ffffff"),
    "cardBorder": ("#ffffff", "#ffff00"),
    "pictogramBackground": ("#ffffff", "#ffffff"),
    "button": ("#ffffff", "#000000"),
    "buttonText": ("#0b2440", "#ffffff"),
    "buttonBorder": ("#ffffff", "#ffffff"),
    "prominent": ("#ffd34d", "#ffff00"),
    "prominentText": ("#0b2440", "#000000"),
    "pressed": ("#fff1c2", "#ffffff"),
    "pressedText": ("#0b2440", "#000000"),
    "pressedBorder": ("#e0a100", "#ffff00"),
    "accent": ("#ffd34d", "#ffff00"),
    "warning": ("#ffd34d", "#ffff00"),
    "warningText": ("#0b2440", "#000000"),
}

NORMAL: Final = Palette(**{field: normal for field, (normal, _) in _COLOURS.items()})
HIGH_CONTRAST: Final = Palette(**{field: high for field, (_, high) in _COLOURS.items()})

PALETTES: Final = {"normal": NORMAL, "high-contrast": HIGH_CONTRAST}

#: (text, background) field pairs: every text the QML draws uses one of them.
TEXT_PAIRS: Final = (
    ("text", "background"),
    ("accent", "background"),
    ("surfaceText", "surface"),
    ("cardText", "card"),
    ("cardSubtext", "card"),
    ("buttonText", "button"),
    ("prominentText", "prominent"),
    ("pressedText", "pressed"),
    ("warningText", "warning"),
)


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a ``#rrggbb`` colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    red, green, blue = linear
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio between two ``#rrggbb`` colours (1 to 21)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
