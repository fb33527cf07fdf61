"""The privacy wipe between two sessions, as a small state machine with named steps.

The order is the guarantee: the session's pages go first, then its profile (a profile deleted
while a page still uses it survives in Chromium), and only then is the next session's fresh
off-the-record profile made, and probed on every origin the ended session used::

      IDLE  (the kiosk started; no session ended yet)
       |  SESSION_ENDED           the session is closed; QML unloads its view
       v
      DESTROYING_PAGES  --------  waits for the session's view and the probe's view to go
       |  PAGES_GONE
       v
      DESTROYING_PROFILE  ------  the old profile is deleted; waits for its ``destroyed``
       |  PROFILE_GONE
       v
      MAKING_PROFILE  ----------  the new profile is made and checked; ``sessionEnded``
       |  PROFILE_MADE            (the home screen is usable from here)
       v
      PROBING  -----------------  the probe looks for the ended session's origins in it
       |  PROBE_REPORTED
       v
      DONE  --------------------  SESSION_ENDED starts the next wipe, as from IDLE

Each step's work is an action of the controller (see :data:`Action`), done when the step is
entered; the controller says when that work is over with the step's completion event. An
event that does not belong to the current step (a ``destroyed`` arriving twice or late, a
session ending in the middle of a wipe) is refused and changes nothing. The module knows
nothing of Qt: the controller wires Qt's signals to :meth:`Wipe.advance`.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

log = logging.getLogger(__name__)


class Step(enum.Enum):
    """Where a wipe is."""

    IDLE = "idle"
    DESTROYING_PAGES = "destroying-pages"
    DESTROYING_PROFILE = "destroying-profile"
    MAKING_PROFILE = "making-profile"
    PROBING = "probing"
    DONE = "done"


class Event(enum.Enum):
    """What moves a wipe on."""

    SESSION_ENDED = "session-ended"
    PAGES_GONE = "pages-gone"
    PROFILE_GONE = "profile-gone"
    PROFILE_MADE = "profile-made"
    PROBE_REPORTED = "probe-reported"


#: Every allowed move: (step, event) -> next step. Nothing else is.
TRANSITIONS: Final[Mapping[tuple[Step, Event], Step]] = {
    (Step.IDLE, Event.SESSION_ENDED): Step.DESTROYING_PAGES,
    (Step.DONE, Event.SESSION_ENDED): Step.DESTROYING_PAGES,
    (Step.DESTROYING_PAGES, Event.PAGES_GONE): Step.DESTROYING_PROFILE,
    (Step.DESTROYING_PROFILE, Event.PROFILE_GONE): Step.MAKING_PROFILE,
    (Step.MAKING_PROFILE, Event.PROFILE_MADE): Step.PROBING,
    (Step.PROBING, Event.PROBE_REPORTED): Step.DONE,
}

#: The steps during which no session may start and no profile may be made but the wipe's own.
BUSY: Final = frozenset({Step.DESTROYING_PAGES, Step.DESTROYING_PROFILE, Step.MAKING_PROFILE})


@dataclass(frozen=True, slots=True)
class Ending:
    """The session being wiped: what the agent may be told of it, and (for the probe only,
    never logged nor sent) the origins of the documents it loaded."""

    session_id: str
    reason: str
    duration_s: float
    tiles_used: tuple[str, ...]
    origins: tuple[str, ...] = field(default=(), repr=False)


#: The controller's work on entering a step, given the session being wiped:
#:
#: - ``close_session`` (DESTROYING_PAGES): forget the session, let QML unload its view; then
#:   PAGES_GONE once neither the session's view nor the probe's is left;
#: - ``destroy_profile`` (DESTROYING_PROFILE): delete the old profile; then PROFILE_GONE from
#:   its ``destroyed`` (at once when there was none);
#: - ``make_profile`` (MAKING_PROFILE): make and check the fresh profile, say the session
#:   ended; then PROFILE_MADE;
#: - ``probe`` (PROBING): probe the new profile on ``ending.origins``; then PROBE_REPORTED.
Action = Callable[[Ending], None]


class Wipe:
    """One kiosk's wipes, one after the other."""

    def __init__(
        self,
        *,
        close_session: Action,
        destroy_profile: Action,
        make_profile: Action,
        probe: Action,
    ) -> None:
        self._step = Step.IDLE
        self._ending: Ending | None = None
        self._entries: dict[Step, Action] = {
            Step.DESTROYING_PAGES: close_session,
            Step.DESTROYING_PROFILE: destroy_profile,
            Step.MAKING_PROFILE: make_profile,
            Step.PROBING: probe,
        }

    @property
    def step(self) -> Step:
        return self._step

    @property
    def busy(self) -> bool:
        """Between a session's end and its fresh profile: no tile opens, no profile is made."""
        return self._step in BUSY

    @property
    def ending(self) -> Ending | None:
        """The session being wiped, until its probe reports."""
        return self._ending

    def session_ended(self, ending: Ending) -> bool:
        """A session ended: start its wipe (refused while another wipe is under way)."""
        if (self._step, Event.SESSION_ENDED) not in TRANSITIONS:
            log.warning("session %s ended during a wipe (%s)", ending.session_id, self._step.value)
            return False
        self._ending = ending
        return self.advance(Event.SESSION_ENDED)

    def advance(self, event: Event) -> bool:
        """Move on with ``event`` and do the next step's work; ``False`` (and nothing done)
        when ``event`` does not belong to the current step.

        The step changes before its work is done, so work that ends at once may advance
        again from inside it."""
        target = TRANSITIONS.get((self._step, event))
        if target is None or (event is Event.SESSION_ENDED and self._ending is None):
            log.debug("wipe: %s refused in step %s", event.value, self._step.value)
            return False
        self._step = target
        log.debug("wipe: %s", target.value)
        if target is Step.DONE:
            self._ending = None  # the origins go with it
            return True
        entry = self._entries.get(target)
        if entry is not None:
            assert self._ending is not None  # set by session_ended, kept until DONE
            entry(self._ending)
        return True
