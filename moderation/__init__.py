"""The review queue, what moderators may do and doing it, consent rules, withdrawal and erasure.

`actions.available_actions` and `actions.apply` are the one policy the Telegram card, the CLI and
the web dashboard share; the faces import what they need from here or from `moderation.actions`,
never `moderation.decisions` itself (an import-linter contract). The lifecycle function, the
audit log and the notification outbox live in `core` because every layer (publishers marking a
story published, the pipeline routing it to review) moves stories.
"""

from core.lifecycle import transition
from core.states import RejectReason
from moderation.actions import Action, Outcome, apply, available_actions, check_version
from moderation.answers import answer_pending_question
from moderation.decisions import LATE_PHOTO_FLAG, Conflict, actor_name
from moderation.permissions import is_moderator
from moderation.withdrawal import withdraw_and_erase

__all__ = [
    "LATE_PHOTO_FLAG",
    "Action",
    "Conflict",
    "Outcome",
    "RejectReason",
    "actor_name",
    "answer_pending_question",
    "apply",
    "available_actions",
    "check_version",
    "is_moderator",
    "transition",
    "withdraw_and_erase",
]
