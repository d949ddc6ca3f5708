"""The review queue, decisions with reasons, edits, consent rules, withdrawal and erasure.

The lifecycle function, the audit log and the notification outbox live in `core` because every
layer (publishers marking a story published, the pipeline routing it to review) moves stories.
"""

from core.lifecycle import transition
from moderation.decisions import (
    Conflict,
    RejectReason,
    accept_late_photos,
    answer_pending_question,
    approve,
    ask,
    attach_answer,
    edit_text,
    force_anonymous,
    quarantine,
    reject,
    release,
    set_place,
    story_awaiting_answer,
    toggle_theme,
)
from moderation.permissions import is_moderator
from moderation.withdrawal import withdraw_and_erase

__all__ = [
    "Conflict",
    "RejectReason",
    "accept_late_photos",
    "answer_pending_question",
    "approve",
    "ask",
    "attach_answer",
    "edit_text",
    "force_anonymous",
    "is_moderator",
    "quarantine",
    "reject",
    "release",
    "set_place",
    "story_awaiting_answer",
    "toggle_theme",
    "transition",
    "withdraw_and_erase",
]
