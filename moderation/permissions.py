"""Who may moderate: PESISIR_MODERATOR_IDS and the admins of the moderators' group."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable

from sqlmodel import Session, select

from core import audit
from core.config import Settings
from core.installation import install_id
from core.models import AuditEvent, Contributor

#: How long a fetched list of group admins is trusted before the bot asks Telegram again.
ADMIN_CACHE_SECONDS = 300.0


class AdminCache:
    """The moderators' group admins as last fetched by the bot, kept briefly."""

    def __init__(
        self,
        ttl_seconds: float = ADMIN_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._ids: frozenset[int] = frozenset()
        self._fetched_at: float | None = None

    def fresh(self) -> bool:
        """True while the last fetched list is recent enough to use."""
        return self._fetched_at is not None and (
            self._clock() - self._fetched_at < self.ttl_seconds
        )

    def store(self, admin_ids: Iterable[int]) -> None:
        """Remember the admins the bot just fetched."""
        self._ids = frozenset(admin_ids)
        self._fetched_at = self._clock()

    def invalidate(self) -> None:
        """Forget the list (e.g. after a chat_member update)."""
        self._fetched_at = None

    @property
    def ids(self) -> frozenset[int]:
        """The admins last fetched (possibly stale; check `fresh()` first)."""
        return self._ids


def is_moderator(settings: Settings, user_id: int, admin_ids: Iterable[int] = ()) -> bool:
    """True when `user_id` is in PESISIR_MODERATOR_IDS or among the group's admins."""
    return user_id in settings.moderator_ids or user_id in set(admin_ids)


def record_refusal(
    session: Session, *, actor: str, attempted: str, submission_id: int | None = None
) -> AuditEvent:
    """Audit a refused attempt (action `refused`, what was tried in `reason`). Caller commits."""
    return audit.record(
        session,
        actor=actor,
        action="refused",
        submission_id=submission_id,
        reason=attempted,
    )


def refusal_actor(session: Session, telegram_user_id: int) -> str:
    """How a refused person appears in the audit: their contributor pseudonym, else a stable
    keyed digest of their Telegram id (repeated attempts line up; the id and name do not
    appear)."""
    contributor = session.exec(
        select(Contributor.id).where(Contributor.telegram_user_id == telegram_user_id)
    ).first()
    if contributor is not None:
        return f"telegram:Kontributor #{contributor}"
    key = install_id(session).encode()
    digest = hmac.new(key, str(telegram_user_id).encode(), hashlib.sha256).hexdigest()[:8]
    return f"telegram:anon-{digest}"
