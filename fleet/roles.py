"""The roles a user or an API token holds, declared once: values, who may do what, and words.

The ``role_known`` constraints of ``users`` and ``api_tokens`` (:func:`fleet.states.check_sql`),
the forms that offer a role, the permission checks, single sign-on's group mapping and the pages'
words all read this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Final

from fleet.i18n import N_


class Role(StrEnum):
    """What a person of the operations team, or a token, may see and do."""

    #: Reads the dashboard.
    VIEWER = "viewer"
    #: Also sends commands, acknowledges alerts, runs rollouts.
    OPERATOR = "operator"
    #: Also manages users, tokens, notification channels, and reads the audit log.
    ADMIN = "admin"
    #: The observatory's people: the observatory's pages and nothing else.
    OBSERVATORY = "observatoire"


#: Who may send commands to terminals.
COMMAND_ROLES: Final = frozenset({Role.OPERATOR, Role.ADMIN})
#: Who must confirm a second factor at sign-in, where the fleet asks for one.
SECOND_FACTOR_ROLES: Final = COMMAND_ROLES
#: Single sign-on: from the highest role down, the first whose groups the person is in wins.
SIGN_ON_ORDER: Final = (Role.ADMIN, Role.OPERATOR, Role.VIEWER)

#: In English, the source language: the page puts them in the reader's.
LABELS: Final[Mapping[str, str]] = {
    Role.VIEWER: N_("viewer"),
    Role.OPERATOR: N_("operator"),
    Role.ADMIN: N_("administrator"),
    Role.OBSERVATORY: N_("observatory"),
}


def role_label(role: object, _: Callable[[str], str]) -> str:
    """``role`` in the reader's words; anything else as it is."""
    text = str(role)
    words = LABELS.get(text)
    return text if words is None else _(words)
