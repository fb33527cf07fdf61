"""The words the templates of several pages share: alerts, rollout and target states, roles.

Each returns labels in the reader's language; the states' own labels are in :mod:`fleet.states`
and :mod:`fleet.alerts.labels`, this only hands them to the templates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fleet import roles, states
from fleet.alerts.labels import alert_kind_label, alert_since, alert_state_label, alert_text
from fleet.api import formatting
from fleet.api.deps import Language
from fleet.i18n import Words
from fleet.rollouts import reasons
from fleet.states import RolloutState, TargetState


def alert_words(language: str) -> dict[str, Any]:
    """What a template needs to show alerts in ``language`` (alerts page, terminal page)."""
    words = Words(language)
    _ = words.gettext
    return {
        "kind_label": lambda kind: alert_kind_label(kind, _),
        "alert_state_label": lambda state: alert_state_label(state, _),
        "alert_text": lambda alert: alert_text(alert, words),
        "alert_since": alert_since,
    }


def rollout_state_label(state: str, _: Callable[[str], str]) -> str:
    return states.label(RolloutState, state, _)


def target_state_label(state: str, _: Callable[[str], str]) -> str:
    return states.label(TargetState, state, _)


def rollout_labels(language: Language) -> dict[str, Any]:
    """The label functions the rollout templates use."""
    _ = language.gettext
    return {
        "rollout_state_label": lambda state: rollout_state_label(state, _),
        "target_state_label": lambda state: target_state_label(state, _),
        "target_states": tuple(TargetState),
        "stored_reason": lambda text: formatting.stored_text(text, reasons.STORED_REASONS, _),
    }


def role_label(role: str, _: formatting.Gettext) -> str:
    return roles.role_label(role, _)
