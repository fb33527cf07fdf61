"""A command button's form on the terminal page (its commands, its "See the terminal" panel):
checked (an operator's, with this session's CSRF token), then sent, audited and committed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from fleet import audit, commands
from fleet.api.deps import (
    FormText,
    Language,
    LanguageDep,
    PageUser,
    PublisherDep,
    SessionDep,
)
from fleet.api.operator_form import check_operator_form
from fleet.commands import Publisher
from fleet.models import CommandRecord, User

#: What the page says after a form POST (kept in the session across the redirect).
FLASH_SESSION_KEY: Final = "command_flash"


def check_command_form(request: Request, user: User, language: Language, token: str) -> None:
    """Refuse a command form from a viewer (403) or without this session's CSRF token (400)."""
    _ = language.gettext
    refusal = _("Only operators and administrators may send commands.")
    check_operator_form(request, user, language, token, refusal)


@dataclass(frozen=True)
class CommandForm:
    """A checked command form: who sent it, from which request, to be answered in which
    language."""

    request: Request
    user: User
    session: Session
    language: Language
    publisher: Publisher | None

    def send(
        self,
        terminal_id: str,
        name: str,
        allowed: Collection[str],
        args: dict[str, Any] | None = None,
        ttl_s: int = commands.DEFAULT_TTL_S,
    ) -> CommandRecord:
        """Send the command ``name`` (422 unless ``allowed``) to the terminal (404 if none)."""
        _ = self.language.gettext
        if name not in allowed:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, _("Unknown command."))
        try:
            row = commands.send_command(
                self.session,
                self.publisher,
                terminal_id,
                name,
                args or {},
                self.user.username,
                ttl_s=ttl_s,
            )
        except commands.UnknownTerminal as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, _("No such terminal.")) from exc
        audit.record(
            self.session, self.user.username, "command_sent", terminal_id, f"{row.name} ({row.id})"
        )
        self.session.commit()
        return row


def get_command_form(
    request: Request,
    user: PageUser,
    session: SessionDep,
    language: LanguageDep,
    publisher: PublisherDep,
    csrf_token: FormText = "",
) -> CommandForm:
    check_command_form(request, user, language, csrf_token)
    return CommandForm(request, user, session, language, publisher)


CommandFormDep = Annotated[CommandForm, Depends(get_command_form)]
