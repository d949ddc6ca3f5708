"""SQLModel tables. Tables are created and changed only by Alembic migrations (migrations/).

Privacy: columns marked *private* (exact coordinates, Telegram ids, original EXIF) are for
moderators and the bot only; nothing that builds a post, an export or a log may read them.

The deliveries table lives apart, in `core.delivery_table`, so that import-linter can keep it to
the one module that changes it (`publishers.deliveries`) and the calendar that reads it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from core.db_types import (
    UTCDateTime,
    created_column,
    json_column,
    json_nullable_column,
    ts_column,
)
from core.phash import QUARTERS, quarter_sql


class Contributor(SQLModel, table=True):
    """A person who tells stories through the bot; shown to moderators only as a pseudonym."""

    __tablename__ = "contributors"

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int | None = Field(
        default=None, sa_type=BigInteger, unique=True, index=True
    )  # private; NULL once erased
    telegram_chat_id: int | None = Field(default=None, sa_type=BigInteger)  # private
    public_name: str | None = None  # the name used when consent is "named"
    language: str = Field(default="id", max_length=5)
    awaiting: str | None = None  # core.states.Awaiting: what the conversation waits for next
    awaiting_data: dict[str, Any] | None = json_nullable_column()
    bot_blocked_at: datetime | None = ts_column()
    created_at: datetime = created_column()
    erased_at: datetime | None = ts_column()


#: Stories the bot's card round looks for every few seconds, written out so the queries and
#: their partial indexes say exactly the same (SQLite uses a partial index only then).
NEEDS_CARD = "card_message_id IS NULL AND state IN ('pending_review', 'quarantined')"
STALE_CARD = "card_message_id IS NOT NULL AND (card_version IS NULL OR card_version <> version)"
PENDING_NOTIFICATION = "state = 'pending'"
#: Stories waiting for a moderator: the queue's default view, with its own partial index.
REVIEW_QUEUE = "state IN ('pending_review', 'needs_info', 'quarantined')"


def _partial(name: str, columns: tuple[str, ...], where: str) -> Index:
    """An index of only the rows `where` holds, on SQLite and PostgreSQL alike."""
    return Index(name, *columns, sqlite_where=text(where), postgresql_where=text(where))


class Submission(SQLModel, table=True):
    """A story, from its first message (draft) to publication or erasure."""

    __tablename__ = "submissions"
    __table_args__ = (
        _partial("ix_submissions_needs_card", ("id",), NEEDS_CARD),
        _partial("ix_submissions_stale_card", ("id",), STALE_CARD),
        # The story list's keyset orders (submission time, id): all states, one state, and the
        # stories waiting for review; a page seeks to its cursor instead of reading what precedes.
        Index("ix_submissions_submitted", "submitted_at", "id"),
        Index("ix_submissions_state_submitted", "state", "submitted_at", "id"),
        _partial("ix_submissions_review", ("submitted_at", "id"), REVIEW_QUEUE),
        # The map's counts by period, state, place and main theme, from this index alone.
        Index("ix_submissions_map", "submitted_at", "state", "place_id", "main_theme"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(unique=True, index=True, max_length=16)  # SP-7K3Q
    contributor_id: int = Field(foreign_key="contributors.id", index=True)
    state: str = Field(default="draft", index=True, max_length=20)
    version: int = Field(default=1)

    text: str | None = Field(default=None, sa_type=Text)  # as the contributor wrote it
    public_text: str | None = Field(default=None, sa_type=Text)  # moderator's edit, if any
    lang: str | None = Field(default=None, max_length=10)  # detected language

    consent: str | None = Field(default=None, max_length=20)  # core.states.Consent
    consent_version: str | None = None
    consent_at: datetime | None = ts_column()
    force_anonymous: bool = False

    # Place as given in the chat
    chat_lat: float | None = None  # private: shared Telegram location
    chat_lon: float | None = None  # private
    place_text: str | None = None  # typed place name
    place_skipped: bool = False
    # Place as resolved by the pipeline or a moderator
    place_id: str | None = Field(default=None, index=True)  # gazetteer id (public granularity)
    place_name: str | None = None
    place_kind: str | None = None
    place_source: str | None = None  # chat | photo | text | moderator
    place_evidence: str | None = None
    exact_lat: float | None = None  # private: the exact point, moderators only
    exact_lon: float | None = None  # private

    themes: list[dict[str, Any]] = json_column([])  # [{slug, score, evidence: [..]}]
    # The first theme's slug, kept by a database trigger from `themes` (migration 0010): never
    # set it; the map counts by it.
    main_theme: str | None = Field(default=None, max_length=64)
    flags: list[dict[str, Any]] = json_column([])  # [{kind, span, detail}]
    spam_score: float | None = None
    duplicate_of_id: int | None = Field(default=None, foreign_key="submissions.id")
    # A digest of the normalised text (pipeline.duplicates): the same text found by index.
    text_digest: str | None = Field(default=None, index=True, max_length=16)
    pipeline_errors: dict[str, Any] = json_column({})  # step -> error message
    pipeline_version: str | None = None

    reject_reason: str | None = None
    reject_note: str | None = None
    # Moderator questions and the contributor's answers:
    # [{question, asked_by, asked_at, answer, answered_at}]
    questions: list[dict[str, Any]] = json_column([])
    decided_by: str | None = None  # moderator display name
    decided_at: datetime | None = ts_column()
    pinned_at: datetime | None = ts_column()  # a moderator pinned it to be quoted in briefs

    # The moderators' review card (private)
    card_chat_id: int | None = Field(default=None, sa_type=BigInteger)
    card_message_id: int | None = Field(default=None, sa_type=BigInteger)
    card_media_message_ids: list[int] = json_column([])
    card_version: int | None = None  # the story version the card shows; stale card → redraw

    created_at: datetime = created_column()
    updated_at: datetime = created_column()
    submitted_at: datetime | None = ts_column()
    processed_at: datetime | None = ts_column()
    published_at: datetime | None = ts_column()
    withdrawn_at: datetime | None = ts_column()
    erased_at: datetime | None = ts_column()


class SubmissionTheme(SQLModel, table=True):
    """One theme of one story: `Submission.themes` as rows, so the story list filters a theme
    by index. Database triggers (migration 0008) write it whenever `themes` is written; nothing
    else does."""

    __tablename__ = "submission_themes"
    __table_args__ = (Index("ix_submission_themes_slug", "slug", "submission_id"),)

    submission_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
        )
    )
    slug: str = Field(primary_key=True, max_length=40)


class Media(SQLModel, table=True):
    """A photo, image file or voice note of a story; the original lives in private storage."""

    __tablename__ = "media"
    __table_args__ = (
        UniqueConstraint("submission_id", "file_unique_id"),
        # One per quarter of the perceptual hash, covering the hash and its story (core.phash):
        # near-duplicate candidates come from the indexes alone.
        *(
            Index(f"ix_media_phash_q{n}", text(quarter_sql(n, "phash")), "phash", "submission_id")
            for n in range(QUARTERS)
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submissions.id", index=True)
    kind: str = Field(max_length=12)  # core.states.MediaKind
    position: int = 0
    file_unique_id: str | None = Field(default=None, index=True)  # Telegram's stable id
    telegram_file_id: str | None = None
    media_group_id: str | None = None
    sha256: str | None = Field(default=None, index=True, max_length=64)
    mime_type: str | None = None
    file_name: str | None = None
    size_bytes: int | None = None
    path: str | None = None  # relative to the data directory; private
    duration_seconds: int | None = None
    # Recordings: what the speech model heard (private: the contributor's words, for moderators;
    # never published as it is) and core.states.TranscriptStatus.
    transcript: str | None = Field(default=None, sa_type=Text)
    transcript_status: str | None = Field(default=None, max_length=12)

    width: int | None = None
    height: int | None = None
    taken_at: str | None = None  # ISO-8601 with offset when the camera wrote one
    gps_lat: float | None = None  # private
    gps_lon: float | None = None  # private
    exif: dict[str, Any] | None = json_nullable_column()  # private: what the original says
    phash: str | None = Field(default=None, index=True, max_length=32)
    renditions: dict[str, Any] = json_column({})  # name -> {path, width, height, bytes}
    error: str | None = None  # why the pipeline refused it

    created_at: datetime = created_column()
    deleted_at: datetime | None = ts_column()


class AuditEvent(SQLModel, table=True):
    """Who did what, when, with before and after; never deleted."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int | None = Field(default=None, foreign_key="submissions.id", index=True)
    actor: str  # "contributor", "pipeline", "moderator:<name>", "cli:<user>", "system"
    action: str = Field(index=True)  # submit, approve, reject, edit_text, erase, refused, ...
    from_state: str | None = None
    to_state: str | None = None
    reason: str | None = None
    before: dict[str, Any] | None = json_nullable_column()
    after: dict[str, Any] | None = json_nullable_column()
    created_at: datetime = created_column()


class Notification(SQLModel, table=True):
    """A message the bot owes someone (the outbox lower layers write, the bot drains)."""

    __tablename__ = "notifications"
    __table_args__ = (
        _partial("ix_notifications_pending", ("next_attempt_at", "id"), PENDING_NOTIFICATION),
    )

    id: int | None = Field(default=None, primary_key=True)
    audience: str = Field(default="contributor", max_length=12)  # core.states.Audience
    contributor_id: int | None = Field(default=None, foreign_key="contributors.id", index=True)
    submission_id: int | None = Field(default=None, foreign_key="submissions.id", index=True)
    kind: str  # message catalog key suffix: received, approved, rejected, question, published...
    params: dict[str, Any] = json_column({})
    state: str = Field(default="pending", max_length=12)
    attempts: int = 0
    next_attempt_at: datetime | None = ts_column()
    last_error: str | None = None
    created_at: datetime = created_column()
    sent_at: datetime | None = ts_column()


class CallbackToken(SQLModel, table=True):
    """An opaque token behind an inline button; callback data carries only the token."""

    __tablename__ = "callback_tokens"

    token: str = Field(primary_key=True, max_length=32)
    submission_id: int | None = Field(default=None, foreign_key="submissions.id", index=True)
    action: str
    payload: dict[str, Any] = json_column({})
    version: int | None = None  # the submission version the button was drawn for
    created_at: datetime = created_column()
    used_at: datetime | None = ts_column()


class ModeratorPrompt(SQLModel, table=True):
    """A moderator's next message in the group answers this (a reason, a question, a place)."""

    __tablename__ = "moderator_prompts"

    id: int | None = Field(default=None, primary_key=True)
    moderator_user_id: int = Field(sa_type=BigInteger, index=True)  # private
    chat_id: int = Field(sa_type=BigInteger)
    submission_id: int = Field(foreign_key="submissions.id")
    kind: str  # reject_other | question | place | edit_text | schedule_time
    payload: dict[str, Any] = json_column({})
    created_at: datetime = created_column()
    consumed_at: datetime | None = ts_column()


class Campaign(SQLModel, table=True):
    """A campaign: hashtags, dates, channels, time slots, optional filters."""

    __tablename__ = "campaigns"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True)
    name: str
    hashtags: list[str] = json_column([])
    starts_on: str | None = None  # ISO date, local
    ends_on: str | None = None
    channels: list[str] = json_column([])  # channel names
    slots: list[dict[str, Any]] = json_column([])  # [{"days": ["mon","wed"], "time": "09:00"}]
    timezone: str = "Asia/Makassar"
    theme_filter: list[str] = json_column([])
    place_filter: list[str] = json_column([])
    paused: bool = False
    created_at: datetime = created_column()


class Channel(SQLModel, table=True):
    """A place posts go (an outbox folder, a Telegram channel, a Mastodon account, ...)."""

    __tablename__ = "channels"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    kind: str  # registry name of the publisher
    config: dict[str, Any] = json_column({})  # non-secret settings only
    paused: bool = False
    paused_reason: str | None = None
    rate_per_minute: int | None = None
    created_at: datetime = created_column()


class Installation(SQLModel, table=True):
    """This installation, one row: its id makes idempotency keys unique to it, so two databases
    posting to the same account can never take each other's posts for their own."""

    __tablename__ = "installation"

    id: int | None = Field(default=None, primary_key=True)
    install_id: str = Field(max_length=32)  # random, made by the migration that creates the table
    created_at: datetime = created_column()


class InboundUpdate(SQLModel, table=True):
    """A Telegram update stored before Telegram is told it arrived (bot.inbound): replayed after
    a crash until handled; then only its id stays a while, so a redelivery is recognised."""

    __tablename__ = "inbound_updates"

    update_id: int = Field(
        primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    payload: dict[str, Any] | None = json_nullable_column()  # private: the whole update
    received_at: datetime = created_column()
    handled_at: datetime | None = ts_column(index=True)


class Person(SQLModel, table=True):
    """Someone who may use the web dashboard, with one role (moderator, campaign, admin, viewer).

    A person comes from `pesisir web link` or from `/masuk` in a private chat with the bot
    (then `telegram_user_id`, private, ties them to the moderators' rules). `session_epoch`
    grows on "log out everywhere": every session cookie signed with an older epoch stops working.
    """

    __tablename__ = "people"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    role: str = Field(max_length=12)  # moderation.access.Role
    telegram_user_id: int | None = Field(
        default=None, sa_type=BigInteger, unique=True, index=True
    )  # private
    session_epoch: int = 0
    created_at: datetime = created_column()
    disabled_at: datetime | None = ts_column()


class LoginToken(SQLModel, table=True):
    """A one-time login link: only the SHA-256 of its token is kept; single use, short-lived."""

    __tablename__ = "login_tokens"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    person_id: int = Field(foreign_key="people.id", index=True)
    issued_by: str  # the audit actor who asked for it (`telegram:/masuk`, `cli:<user>`, ...)
    created_at: datetime = created_column()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = ts_column()
