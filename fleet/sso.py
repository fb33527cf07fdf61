"""Single sign-on with OpenID Connect: who the provider says a person is, and their role.

The metropole's directory is the OpenID provider; Authlib (fleet.api.routes.sso) runs the
authorization code flow with PKCE and checks the ID token (signature, issuer, audience, expiry,
nonce). Here the verified claims become a fleet user: linked by the provider's ``iss`` and
``sub`` (never by a name alone), their role taken at every login from the groups claim (the
highest role whose groups they are in), refused when they are in none of them.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet import audit
from fleet.core.config import FleetSettings
from fleet.models import User
from fleet.roles import SIGN_ON_ORDER, Role

if TYPE_CHECKING:
    from authlib.integrations.starlette_client import OAuth

#: The name Authlib registers the provider under.
PROVIDER_NAME: Final = "directory"
#: What a single sign-on user has instead of a password hash: argon2 never matches it.
NO_PASSWORD: Final = "!sso"
USERNAME_PATTERN: Final = re.compile(r"[A-Za-z0-9._@-]{1,64}")
#: From the highest role down: the first whose groups the person is in wins.
ROLE_ORDER: Final = SIGN_ON_ORDER
HTTP_TIMEOUT_S: Final = 10.0


class SignOnRefused(Exception):
    """The provider vouched for someone the fleet will not let in; ``reason`` says why."""

    def __init__(self, reason: str, who: str = "-") -> None:
        super().__init__(reason)
        self.reason = reason
        self.who = who


def _groups(text: str) -> frozenset[str]:
    return frozenset(item.strip() for item in text.split(",") if item.strip())


def role_for(groups: object, settings: FleetSettings) -> str | None:
    """The role the groups give, or ``None``."""
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list | tuple):
        return None
    member_of = {group for group in groups if isinstance(group, str)}
    mapping = {
        Role.ADMIN: _groups(settings.oidc_admin_groups),
        Role.OPERATOR: _groups(settings.oidc_operator_groups),
        Role.VIEWER: _groups(settings.oidc_viewer_groups),
    }
    for role in ROLE_ORDER:
        if member_of & mapping[role]:
            return role
    return None


def oauth_registry(settings: FleetSettings) -> OAuth | None:
    """The Authlib registry with the provider, or ``None`` when single sign-on is off."""
    if not settings.sso_enabled():
        return None
    # Imported here: a fleet without single sign-on never loads Authlib (nor its HTTP client).
    from authlib.integrations.starlette_client import OAuth

    verify: ssl.SSLContext | bool = True
    if settings.oidc_ca_file is not None:
        verify = ssl.create_default_context(cafile=str(settings.oidc_ca_file))
    oauth = OAuth()
    oauth.register(
        name=PROVIDER_NAME,
        client_id=settings.oidc_client_id,
        client_secret=settings.resolved_oidc_client_secret(),
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": settings.oidc_scopes,
            "code_challenge_method": "S256",
            "verify": verify,
            "timeout": HTTP_TIMEOUT_S,
        },
    )
    return oauth


@dataclass(frozen=True)
class Identity:
    subject: str
    username: str
    role: str


def identity_of(claims: Mapping[str, Any], settings: FleetSettings) -> Identity:
    """The person the verified claims describe; :class:`SignOnRefused` when unusable."""
    issuer = str(claims.get("iss") or settings.oidc_issuer)
    sub = claims.get("sub")
    username = claims.get(settings.oidc_username_claim)
    if not isinstance(sub, str) or not sub:
        raise SignOnRefused("no_subject")
    if not isinstance(username, str) or not USERNAME_PATTERN.fullmatch(username):
        raise SignOnRefused("bad_username", str(username)[:64])
    role = role_for(claims.get(settings.oidc_groups_claim), settings)
    if role is None:
        raise SignOnRefused("no_role", username)
    return Identity(f"{issuer}|{sub}"[:255], username, role)


def sign_in(session: Session, identity: Identity, now: datetime) -> User:
    """The fleet user for ``identity``, created or brought up to date; the caller commits.

    A local account of the same name is never taken over; a disabled user stays out.
    """
    user = session.scalar(select(User).where(User.oidc_subject == identity.subject))
    if user is None:
        if session.scalar(select(User).where(User.username == identity.username)) is not None:
            raise SignOnRefused("name_taken", identity.username)
        user = User(
            username=identity.username,
            password_hash=NO_PASSWORD,
            role=identity.role,
            created_at=now,
            oidc_subject=identity.subject,
        )
        session.add(user)
        session.flush()
        audit.record(session, "sso", "user_created", identity.username, identity.role, at=now)
    if user.disabled:
        raise SignOnRefused("disabled", user.username)
    if user.role != identity.role:
        audit.record(session, "sso", "user_role_changed", user.username, identity.role, at=now)
        user.role = identity.role
    return user
