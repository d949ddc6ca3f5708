"""A sliding-window limit per key (a contributor's messages, login attempts from one address),
with a single "slow down" notice per flood."""

from __future__ import annotations

import time
from collections import deque
from enum import Enum


class Verdict(Enum):
    """What to do with one message."""

    ACCEPT = "accept"
    NOTICE = "notice"  # refuse, and say so (once per flood)
    DROP = "drop"  # refuse quietly: the contributor was already told


class RateLimiter:
    """At most `per_minute` messages per user in any 60 seconds (memory only: a restart forgets)."""

    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self._seen: dict[int | str, deque[float]] = {}
        self._told: set[int | str] = set()

    def check(self, user_id: int | str, now: float | None = None) -> Verdict:
        """Count one message from `user_id` and judge it."""
        moment = time.monotonic() if now is None else now
        stamps = self._seen.setdefault(user_id, deque())
        while stamps and moment - stamps[0] >= self.window:
            stamps.popleft()
        if len(stamps) < self.per_minute:
            stamps.append(moment)
            self._told.discard(user_id)
            return Verdict.ACCEPT
        if user_id in self._told:
            return Verdict.DROP
        self._told.add(user_id)
        return Verdict.NOTICE
