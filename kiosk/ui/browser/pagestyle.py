"""The look of the kiosk's own pages: the kiosk's palettes as CSS, pictograms drawn as SVG.

Pictograms are inline SVG, never emoji: the terminal has no emoji font, and a missing glyph is
a box on the screen. Colours come from :mod:`kiosk.ui.theme` (every text at 7:1 or more), and
high contrast follows the resident's choice. A strict Content-Security-Policy keeps each page to
itself: no script, style or image from elsewhere, no form sent anywhere.
"""

from __future__ import annotations

import html
from typing import Final

from kiosk.ui.theme import HIGH_CONTRAST, NORMAL, Palette

#: The pages the kiosk draws need no script at all (the refusal page's "Go back" excepted).
CONTENT_SECURITY_POLICY: Final = (
    "default-src kiosk:; script-src {scripts}; style-src 'unsafe-inline' kiosk:; "
    "img-src kiosk: data:; form-action 'none'; base-uri 'none'"
)


def _svg(body: str, view_box: str = "0 0 96 96") -> str:
    return (
        f"<svg viewBox='{view_box}' width='96' height='96' role='img' aria-hidden='true' "
        "fill='none' stroke='currentColor' stroke-width='6' stroke-linecap='round' "
        f"stroke-linejoin='round'>{body}</svg>"
    )


#: A circle barred: this page is not available here.
ICON_REFUSED: Final = _svg("<circle cx='48' cy='48' r='38'/><path d='M21 75 75 21'/>")
#: Signal bars with a cross: no connection.
ICON_OFFLINE: Final = _svg(
    "<path d='M14 80v-8M30 80V60M46 80V46'/><path d='M60 28l24 24M84 28 60 52'/>"
)
#: A map pin with a person's head: help near here.
ICON_HELP: Final = _svg(
    "<path d='M48 88S20 58 20 38a28 28 0 0 1 56 0c0 20-28 50-28 50z'/>"
    "<circle cx='48' cy='37' r='10'/>"
)
#: A telephone handset.
ICON_PHONE: Final = _svg(
    "<path d='M30 14l10 16-7 8a42 42 0 0 0 25 25l8-7 16 10-5 14c-32 2-63-29-61-61z'/>"
)
#: A speech bubble: a text message.
ICON_SMS: Final = _svg("<path d='M14 20h68v44H44L26 80V64H14z'/><path d='M30 36h36M30 48h24'/>")


def _css(palette: Palette) -> str:
    p = palette
    return f"""
:root {{ color-scheme: dark; }}
body {{ margin: 0; background: {p.background}; color: {p.text};
       font-family: 'Noto Sans', 'Noto Sans Arabic', sans-serif; font-size: 24px; }}
main {{ max-width: 60em; margin: 0 auto; padding: 1.2em 1.5em 3em; }}
main.center {{ text-align: center; display: flex; flex-direction: column;
              justify-content: center; align-items: center; padding-top: .6em; }}
main.center .icon svg {{ width: 3.6em; height: 3.6em; }}
main.center h1 {{ margin: .2em 0 .3em; }}
main.center p {{ margin: .35em 0; }}
p.help {{ display: flex; flex-wrap: wrap; justify-content: center; gap: .2em .6em;
  margin-top: .8em; }}
p.help a.button {{ font-size: 1.05em; }}
h1 {{ font-size: 2.2em; margin: .3em 0 .4em; line-height: 1.2; }}
h2 {{ font-size: 1.5em; margin: 1em 0 .4em; }}
p, li {{ font-size: 1.2em; line-height: 1.45; }}
.icon {{ color: {p.accent}; }}
.icon svg {{ width: 5em; height: 5em; }}
a {{ color: {p.accent}; }}
a.button, button {{ display: inline-block; font: inherit; font-size: 1.25em; font-weight: bold;
  min-height: 2.6em; line-height: 2.6em; padding: 0 1.2em; margin: .4em .3em; border-radius: .5em;
  border: 3px solid {p.buttonBorder}; background: {p.button}; color: {p.buttonText};
  text-decoration: none; }}
a.button.prominent {{ background: {p.prominent}; color: {p.prominentText};
  border-color: {p.prominent}; }}
a.button svg {{ width: 1.4em; height: 1.4em; vertical-align: -.3em; margin-inline-end: .3em; }}
.chips a {{ display: inline-block; font-size: 1.05em; min-height: 2.4em; line-height: 2.4em;
  padding: 0 .9em; margin: .25em; border-radius: 1.2em; border: 3px solid {p.buttonBorder};
  background: {p.card}; color: {p.cardText}; text-decoration: none; }}
.chips a[aria-pressed='true'] {{ background: {p.prominent}; color: {p.prominentText};
  border-color: {p.prominent}; font-weight: bold; }}
.chips h2 {{ font-size: 1.1em; margin: .6em 0 .1em; }}
.chips summary {{ font-size: 1.1em; font-weight: bold; min-height: 2.4em; line-height: 2.4em;
  margin: .3em 0; cursor: pointer; color: {p.accent}; }}
header.title {{ display: flex; gap: .8em; align-items: center; }}
header.title .icon svg {{ width: 3.2em; height: 3.2em; }}
header.title h1 {{ margin: 0; }}
header.title p {{ margin: .2em 0; }}
ul.numbers, ul.places {{ list-style: none; padding: 0; margin: 0; }}
ul.numbers a, ul.places a.place {{ display: flex; gap: 1em; align-items: center;
  margin: .6em 0; padding: .7em 1em; border-radius: .6em; background: {p.card};
  color: {p.cardText}; text-decoration: none; border: 3px solid {p.cardBorder}; }}
.digits {{ font-size: 2.2em; font-weight: bold; flex: 0 0 3.4em; text-align: center;
  direction: ltr; unicode-bidi: isolate; white-space: nowrap; }}
.what {{ display: flex; flex-direction: column; }}
.what strong {{ font-size: 1.25em; }}
.what span, .place .meta {{ color: {p.cardSubtext}; }}
main.full {{ text-align: center; }}
.huge {{ font-size: 7em; font-weight: bold; margin: .1em 0; color: {p.accent}; direction: ltr;
  unicode-bidi: isolate; line-height: 1.1; }}
.phone {{ font-size: 3.2em; font-weight: bold; color: {p.accent}; margin: .2em 0; }}
.how {{ font-weight: bold; }}
.source {{ font-size: 1em; opacity: .95; margin-top: 2em; }}
.badge {{ display: inline-block; font-weight: bold; padding: .1em .6em; border-radius: .4em;
  background: {p.prominent}; color: {p.prominentText}; margin-inline-end: .4em; }}
.place h3 {{ font-size: 1.35em; margin: 0 0 .2em; }}
.qr {{ background: #ffffff; display: inline-block; padding: 16px; border-radius: 8px; }}
.qr svg {{ display: block; }}
.columns {{ display: flex; flex-wrap: wrap; gap: 2em; align-items: flex-start; }}
.columns > div {{ flex: 1 1 20em; }}
table.week td {{ padding: .15em .8em .15em 0; font-size: 1.1em; vertical-align: top; }}
"""


CSS: Final = {False: _css(NORMAL), True: _css(HIGH_CONTRAST)}


def page_document(
    title: str,
    body: str,
    language: str,
    direction: str,
    *,
    high_contrast: bool,
    scripts: bool = False,
) -> str:
    """A whole kiosk page: ``body`` (already escaped HTML) in the kiosk's style."""
    policy = CONTENT_SECURITY_POLICY.format(scripts="'unsafe-inline'" if scripts else "'none'")
    return (
        f"<!doctype html><html lang='{html.escape(language)}' dir='{direction}'>"
        "<head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{policy}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{CSS[high_contrast]}</style></head>"
        f"<body>{body}</body></html>"
    )
