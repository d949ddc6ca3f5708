"""The deliveries table: one post of one story on one channel, the source of truth for publishing.

Only `publishers.deliveries` changes these rows and only it and `publishers.calendar` import this
module (an import-linter `protected` contract in pyproject.toml): a delivery's state moves only
as `core.states.DELIVERY_TRANSITIONS` allows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.db_types import UTCDateTime, created_column, json_nullable_column, ts_column


class Delivery(SQLModel, table=True):
    """One post of one story on one channel: the source of truth for publishing."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "state", "next_attempt_at"),
        Index("ix_deliveries_channel_claimed", "channel_id", "claimed_at"),
        UniqueConstraint("submission_id", "campaign_id", "channel_id"),
        # `pesisir posts list` pages by keyset on (time, id): all, one state, one campaign.
        Index("ix_deliveries_scheduled", "scheduled_at", "id"),
        Index("ix_deliveries_state_scheduled", "state", "scheduled_at", "id"),
        Index("ix_deliveries_campaign_scheduled", "campaign_id", "scheduled_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submissions.id", index=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaigns.id", index=True)
    channel_id: int = Field(foreign_key="channels.id", index=True)
    scheduled_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    state: str = Field(default="pending", max_length=12)
    attempts: int = 0
    next_attempt_at: datetime | None = ts_column()
    claimed_by: str | None = None
    claimed_at: datetime | None = ts_column()  # last claim; per-channel rate limits count these
    # When a send may first have gone out unconfirmed (a lost answer, a crash mid-send): a
    # platform's idempotency window (Mastodon: one hour) counts from here, across retries.
    uncertain_since: datetime | None = ts_column()
    lease_until: datetime | None = ts_column()
    idempotency_key: str | None = None
    remote_id: str | None = None
    remote_url: str | None = None
    receipt: dict[str, Any] | None = json_nullable_column()
    last_error: str | None = Field(default=None, sa_type=Text)
    # The campaign team's own caption for this post (None: the story's public text); the
    # composer still fits it to the channel's rules. Changed only by publishers.deliveries.
    caption_override: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = created_column()
    updated_at: datetime = created_column()
    sent_at: datetime | None = ts_column()
    # When the moderators' group was told this post is late (once per post; see late_posts).
    late_alerted_at: datetime | None = ts_column()
