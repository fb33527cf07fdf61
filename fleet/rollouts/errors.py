"""Why a rollout cannot be created or an operator's action cannot be done: the errors, in English
with fields, that say so in a reader's language."""

from __future__ import annotations

from collections.abc import Callable


class RolloutError(ValueError):
    """A rollout that cannot be created or an action that cannot be done; says why.

    ``message`` is English with ``%(name)s`` fields (``str()`` fills them, for logs and the
    API); :meth:`translated` says it in a reader's language.
    """

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params)
        self.message = message
        self.params = params

    def translated(
        self, _: Callable[[str], str], state_label: Callable[[str], str] | None = None
    ) -> str:
        params = dict(self.params)
        if state_label is not None and isinstance(params.get("state"), str):
            params["state"] = state_label(str(params["state"]))
        return _(self.message) % params


class UnknownRollout(RolloutError):
    """No rollout has this id."""


class InvalidPlan(RolloutError):
    """The plan itself breaks a rule (a size, a threshold, the canary)."""


class UnknownCanary(RolloutError):
    """A canary terminal is unknown or decommissioned."""


class UnpublishedVersion(InvalidPlan):
    """The version is not among those the fleet's content repository publishes, signed."""
