"""Jinja2 environments, one per language, so that concurrent requests never share a catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.templating import Jinja2Templates, _TemplateResponse

from fleet.i18n import SUPPORTED_LANGUAGES, fleet_translations

TEMPLATES_DIR: Final = Path(__file__).resolve().parent.parent / "templates"


def _environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    # newstyle: _("... %(name)s", name=x) formats and escapes safely inside templates.
    env.install_gettext_translations(fleet_translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


class Templates:
    """Renders a template in the request's language."""

    def __init__(self) -> None:
        self._by_language = {
            language: Jinja2Templates(env=_environment(language))
            for language in SUPPORTED_LANGUAGES
        }

    def render(
        self,
        request: Request,
        language: str,
        name: str,
        context: dict[str, Any],
        status_code: int = 200,
    ) -> _TemplateResponse:
        templates = self._by_language[language]
        return templates.TemplateResponse(
            request, name, {"language": language, **context}, status_code=status_code
        )
