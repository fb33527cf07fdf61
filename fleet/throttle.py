"""Throttling of password and enrolment-code guesses: growing delays, never a lock.

Failures are rows in the database (``auth_failures``), so every fleet process sees the same
counts. Two counters slow a guesser down:

- per **address**: after ``free_failures`` failures from one client address (on any account),
  each further attempt from it waits a delay that doubles with every failure;
- per **account**: the failures on one account (from every address) set the delay that each
  address which has itself failed on that account must wait before trying it again.

An address that has not failed on an account is never held back by that account's counter, so
whoever attacks an account from elsewhere cannot keep its owner out: the owner's right password
from their own address goes through. Failures are forgotten after ``window_s``, which also
bounds every delay. A refused (throttled) attempt is not counted, or waiting would never end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from fleet.core.config import FleetSettings
from fleet.models import AuthFailure

MAX_ADDRESS_CHARS = 64
MAX_ACCOUNT_CHARS = 100


class Scope(StrEnum):
    """What is being guessed (the ``auth_failures.scope`` column)."""

    LOGIN = "login"
    ENROLMENT = "enrolment"


@dataclass(frozen=True)
class Policy:
    """How many failures are free, and how the delay grows after them."""

    free_failures: int
    base_delay_s: float
    max_delay_s: float
    window_s: float

    def delay_after(self, failures: int) -> float:
        """The wait after ``failures`` failures: 0 while free, then doubling up to the cap."""
        if failures < self.free_failures:
            return 0.0
        doublings = min(failures - self.free_failures, 60)
        return min(self.base_delay_s * 2.0**doublings, self.max_delay_s, self.window_s)


def login_policy(settings: FleetSettings) -> Policy:
    return Policy(
        settings.login_free_failures,
        settings.login_delay_base_s,
        settings.login_delay_max_s,
        settings.login_window_s,
    )


def account_key(name: str) -> str:
    """The account a login attempt is charged to: the name typed, trimmed, lower case."""
    return name.strip().lower()[:MAX_ACCOUNT_CHARS]


def _address(address: str) -> str:
    return address[:MAX_ADDRESS_CHARS]


def wait_s(
    session: Session,
    scope: Scope,
    policy: Policy,
    address: str,
    account: str | None,
    now: datetime,
) -> float:
    """Seconds before ``address`` may try (``account``) again; 0.0: it may try now."""
    since = now - timedelta(seconds=policy.window_s)
    recent = and_(AuthFailure.scope == scope.value, AuthFailure.at > since)
    count, last = session.execute(
        select(func.count(), func.max(AuthFailure.at)).where(
            recent, AuthFailure.address == _address(address)
        )
    ).one()
    wait = _remaining(last, policy.delay_after(int(count)), now)
    if account is not None:
        account_failures = session.scalar(
            select(func.count()).where(recent, AuthFailure.account == account)
        )
        last_here = session.scalar(
            select(func.max(AuthFailure.at)).where(
                recent, AuthFailure.account == account, AuthFailure.address == _address(address)
            )
        )
        wait = max(wait, _remaining(last_here, policy.delay_after(int(account_failures or 0)), now))
    return wait


def _remaining(last: datetime | None, delay_s: float, now: datetime) -> float:
    if last is None or delay_s <= 0:
        return 0.0
    if last.tzinfo is None:  # SQLite's MAX() comes back as the stored text, without a zone
        last = last.replace(tzinfo=now.tzinfo)
    return max((last + timedelta(seconds=delay_s) - now).total_seconds(), 0.0)


def retry_after_header(wait: float) -> str:
    """``Retry-After`` in whole seconds, never 0 for a refusal."""
    return str(max(math.ceil(wait), 1))


def record_failure(
    session: Session,
    scope: Scope,
    policy: Policy,
    address: str,
    account: str | None,
    now: datetime,
) -> None:
    """Count a failure, and forget those past the window; the caller commits."""
    session.execute(
        delete(AuthFailure).where(AuthFailure.at <= now - timedelta(seconds=policy.window_s))
    )
    session.add(AuthFailure(scope=scope.value, address=_address(address), account=account, at=now))


def forget_account_failures_from(
    session: Session, scope: Scope, address: str, account: str
) -> None:
    """After a success: this address's failures on this account no longer hold it back.

    Its failures on other accounts still count (logging in to one's own account must not wipe
    the guesses made on others), and the account's failures from elsewhere age out.
    """
    session.execute(
        delete(AuthFailure).where(
            AuthFailure.scope == scope.value,
            AuthFailure.account == account,
            AuthFailure.address == _address(address),
        )
    )


@dataclass(frozen=True)
class Attempt:
    """One try at a secret (a password, a code) from ``address`` on ``account``, at ``now``."""

    session: Session
    scope: Scope
    policy: Policy
    address: str
    account: str | None
    now: datetime

    def wait_s(self) -> float:
        """Seconds this address must wait before trying; 0.0: it may try now."""
        return wait_s(self.session, self.scope, self.policy, self.address, self.account, self.now)

    def failed(self) -> None:
        """Count this try as a failure; the caller commits."""
        record_failure(self.session, self.scope, self.policy, self.address, self.account, self.now)

    def succeeded(self) -> None:
        """The secret was right: this address's failures on this account are forgotten."""
        if self.account is not None:
            forget_account_failures_from(self.session, self.scope, self.address, self.account)
