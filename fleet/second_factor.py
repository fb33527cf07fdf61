"""The second factor: TOTP (RFC 6238, with pyotp) and one-time recovery codes.

A code is accepted for the current 30-second step or the one either side (a phone's clock may
be a little off), and never twice: the step of the last accepted code is kept, and a code of
that step or an earlier one is refused, so a code seen over a shoulder cannot be replayed.
Recovery codes stand in for the phone: ten, shown once, each used once, only their SHA-256 kept.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import Final

import pyotp
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from fleet.models import RecoveryCode, User
from fleet.roles import SECOND_FACTOR_ROLES

ISSUER: Final = "Bornes"
#: Steps either side of now that are still accepted.
VALID_WINDOW: Final = 1
RECOVERY_CODE_COUNT: Final = 10
#: Unambiguous letters and digits, as for enrolment codes.
RECOVERY_ALPHABET: Final = "ACDEFHJKMNPRTUVWXY3479"
RECOVERY_GROUPS: Final = 3
RECOVERY_GROUP_LENGTH: Final = 4


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://`` address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str, title: str) -> str:
    """The QR code of ``uri`` as inline SVG (no script, no style: fits the page's CSP)."""
    import segno  # only the setup page draws one

    return str(
        segno.make(uri, error="m").svg_inline(scale=4, border=2, title=title, omitsize=False)
    )


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _digits(code: str) -> str:
    return re.sub(r"\s", "", code)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is (around ``now``), else ``None``."""
    code = _digits(code)
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    found: int | None = None
    for candidate in range(step - VALID_WINDOW, step + VALID_WINDOW + 1):
        # Every candidate is compared, in constant time: no early exit to time.
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            found = candidate
    return found


def verify_totp(user: User, code: str, now: datetime) -> bool:
    """Whether ``code`` is the user's current one and not used before; notes its step."""
    if user.totp_secret is None:
        return False
    step = matching_step(user.totp_secret, code, now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def enable(session: Session, user: User, secret: str, step: int, now: datetime) -> list[str]:
    """Turn the second factor on with ``secret`` (confirmed at ``step``); returns the recovery
    codes to show once. The caller commits."""
    user.totp_secret = secret
    user.totp_enabled_at = now
    user.totp_last_step = step
    return new_recovery_codes(session, user)


def disable(session: Session, user: User) -> None:
    """Turn the second factor off and drop its recovery codes; the caller commits."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def _normalize_recovery(code: str) -> str:
    return re.sub(r"[\s\-_.]", "", code).upper()


def _hash(code: str) -> str:
    return hashlib.sha256(_normalize_recovery(code).encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(
        secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUPS * RECOVERY_GROUP_LENGTH)
    )
    return "-".join(
        raw[i : i + RECOVERY_GROUP_LENGTH] for i in range(0, len(raw), RECOVERY_GROUP_LENGTH)
    )


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace the user's recovery codes with fresh ones (shown once); the caller commits."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(code)) for code in codes)
    return codes


def looks_like_recovery_code(code: str) -> bool:
    normalized = _normalize_recovery(code)
    return len(normalized) == RECOVERY_GROUPS * RECOVERY_GROUP_LENGTH and all(
        character in RECOVERY_ALPHABET for character in normalized
    )


def use_recovery_code(session: Session, user: User, code: str, now: datetime) -> bool:
    """Spend one recovery code; False when it is not one of the user's unused codes."""
    if not looks_like_recovery_code(code):
        return False
    claimed = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return int(getattr(claimed, "rowcount", 0) or 0) == 1


def unused_recovery_codes(session: Session, user: User) -> int:
    query = select(func.count()).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
    )
    return int(session.scalar(query) or 0)


def required_for(user: User, required: bool) -> bool:
    """Whether this user must have a second factor before using the dashboard."""
    return required and user.role in SECOND_FACTOR_ROLES and not user.uses_single_sign_on
