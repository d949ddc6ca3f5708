"""Lifecycle states of submissions, deliveries and notifications, with allowed transitions."""

from __future__ import annotations

from enum import StrEnum


class SubmissionState(StrEnum):
    """Where a story is in its life (see DESIGN.md, 'Lifecycle of a submission')."""

    DRAFT = "draft"
    RECEIVED = "received"
    PENDING_REVIEW = "pending_review"
    NEEDS_INFO = "needs_info"
    APPROVED = "approved"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    QUARANTINED = "quarantined"
    WITHDRAWN = "withdrawn"
    ERASED = "erased"


S = SubmissionState

SUBMISSION_TRANSITIONS: dict[SubmissionState, frozenset[SubmissionState]] = {
    S.DRAFT: frozenset({S.RECEIVED, S.WITHDRAWN}),
    S.RECEIVED: frozenset({S.PENDING_REVIEW, S.QUARANTINED, S.WITHDRAWN}),
    S.PENDING_REVIEW: frozenset({S.APPROVED, S.REJECTED, S.NEEDS_INFO, S.QUARANTINED, S.WITHDRAWN}),
    S.NEEDS_INFO: frozenset({S.PENDING_REVIEW, S.APPROVED, S.REJECTED, S.QUARANTINED, S.WITHDRAWN}),
    S.APPROVED: frozenset({S.SCHEDULED, S.REJECTED, S.QUARANTINED, S.WITHDRAWN}),
    S.SCHEDULED: frozenset({S.PUBLISHED, S.APPROVED, S.WITHDRAWN}),
    S.QUARANTINED: frozenset({S.PENDING_REVIEW, S.REJECTED, S.WITHDRAWN}),
    S.REJECTED: frozenset({S.PENDING_REVIEW, S.WITHDRAWN}),
    S.PUBLISHED: frozenset({S.WITHDRAWN}),
    S.WITHDRAWN: frozenset({S.ERASED}),
    S.ERASED: frozenset(),
}

#: States in which a contributor's story still counts as "open" for editing in the chat.
OPEN_STATES = frozenset({S.DRAFT})
#: States before publication, from which /hapus withdraws a story.
WITHDRAWABLE_STATES = frozenset(
    {
        S.DRAFT,
        S.RECEIVED,
        S.PENDING_REVIEW,
        S.NEEDS_INFO,
        S.APPROVED,
        S.SCHEDULED,
        S.QUARANTINED,
        S.REJECTED,
        S.PUBLISHED,
    }
)


def can_move(current: SubmissionState, target: SubmissionState) -> bool:
    """True when the lifecycle allows `current → target`."""
    return target in SUBMISSION_TRANSITIONS[current]


class Consent(StrEnum):
    """What the contributor allowed, asked for every story."""

    NAMED = "named"  # publish with my name
    ANONYMOUS = "anonymous"  # publish without my name
    INTERNAL = "internal"  # only for the team and policy briefs, never on social media


#: Consents that allow a story on social media; "internal" (or none) never goes out.
SOCIAL_CONSENTS = frozenset({Consent.NAMED.value, Consent.ANONYMOUS.value})


class DeliveryState(StrEnum):
    """One post on one channel (see DESIGN.md, 'Deliveries')."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"


D = DeliveryState

DELIVERY_TRANSITIONS: dict[DeliveryState, frozenset[DeliveryState]] = {
    D.PENDING: frozenset({D.SENDING, D.CANCELLED}),
    # A worker holding a post may find its story withdrawn before sending: it cancels it.
    D.SENDING: frozenset({D.SENT, D.PENDING, D.FAILED, D.UNKNOWN, D.CANCELLED}),
    D.SENT: frozenset({D.CANCELLED}),  # cancelled after a published post was deleted
    D.FAILED: frozenset({D.PENDING, D.CANCELLED}),
    # A person checked the channel; or the worker the sweeper gave up on finished after all.
    D.UNKNOWN: frozenset({D.SENT, D.PENDING, D.FAILED, D.CANCELLED}),
    D.CANCELLED: frozenset({D.PENDING}),  # scheduled again: a new post (publishers.deliveries)
}


def delivery_sources(target: DeliveryState) -> frozenset[DeliveryState]:
    """The states a delivery may be in to move to `target`."""
    return frozenset(state for state, targets in DELIVERY_TRANSITIONS.items() if target in targets)


class NotificationState(StrEnum):
    """A message the bot owes a contributor or the moderators' group."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after retries
    BLOCKED = "blocked"  # the contributor blocked the bot (403); not retried


class Audience(StrEnum):
    """Who a notification is for."""

    CONTRIBUTOR = "contributor"
    MODERATORS = "moderators"


class MediaKind(StrEnum):
    """What a stored media file is."""

    PHOTO = "photo"  # sent as a compressed Telegram photo (metadata stripped by Telegram)
    DOCUMENT = "document"  # an image sent as a file (keeps its metadata)
    VOICE = "voice"
    AUDIO = "audio"


#: Media kinds that are pictures (they get renditions) and recordings (they never go out).
IMAGE_KINDS = (MediaKind.PHOTO.value, MediaKind.DOCUMENT.value)
AUDIO_KINDS = (MediaKind.VOICE.value, MediaKind.AUDIO.value)


class TranscriptStatus(StrEnum):
    """What became of a recording's automatic transcript (`Media.transcript_status`; None: the
    pipeline has not reached it yet)."""

    DONE = "done"  # `Media.transcript` holds what the model heard
    EMPTY = "empty"  # no speech was heard
    FAILED = "failed"  # the file could not be decoded, or the model could not be loaded
    OFF = "off"  # transcription is not installed or turned off here (PESISIR_TRANSCRIBE_MODEL)
    TOO_LONG = "too_long"  # longer than the pipeline transcribes (a person listens instead)


class Awaiting(StrEnum):
    """What the contributor conversation waits for next (`Contributor.awaiting`; None: story)."""

    PLACE = "place"  # the next text is the place name (or the skip word)
    CONSENT = "consent"  # the consent buttons are showing
    PUBLIC_NAME = "public_name"  # the next text is the name to publish with
    TEXT_REPLACE = "text_replace"  # the next text replaces the story text
    CONFIRM = "confirm"  # the summary with send / change / cancel is showing


class PromptKind(StrEnum):
    """What a moderator's next message in the group answers (`ModeratorPrompt.kind`)."""

    QUESTION = "question"  # a question for the contributor
    REJECT_OTHER = "reject_other"  # the reason of a rejection "for another reason"
    PLACE = "place"  # a place name
    EDIT_TEXT = "edit_text"  # the public text
    SCHEDULE_TIME = "schedule_time"  # a local time to schedule at


class RejectReason(StrEnum):
    """Why a story is not published (catalog `moderation.reason.<code>`, `notify.reason.<code>`)."""

    NOT_CLIMATE = "not_climate"
    PHOTO_UNCLEAR = "photo_unclear"
    DUPLICATE = "duplicate"
    COULD_ENDANGER = "could_endanger"
    CANNOT_VERIFY = "cannot_verify"
    OTHER = "other"
