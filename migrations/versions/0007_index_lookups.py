"""lookups by index: duplicates, the card round, due notifications

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

- `media.phash_band0..6`: a perceptual hash in 7 bands (core.phash), each indexed, so a nearly
  identical photo is found by index instead of comparing every photo ever sent;
- `submissions.text_digest`: a digest of the normalised text (pipeline.duplicates), indexed;
- partial indexes for the bot's card round (stories needing a card, cards out of date) and for
  due notifications, which are a handful among a million rows.

Existing rows are filled in batches (a million stories take a few minutes).
"""

import hashlib
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BAND_BITS = (10, 9, 9, 9, 9, 9, 9)  # core.phash.BAND_BITS, frozen here as migrations must be
NEEDS_CARD = "card_message_id IS NULL AND state IN ('pending_review', 'quarantined')"
STALE_CARD = "card_message_id IS NOT NULL AND (card_version IS NULL OR card_version <> version)"
PENDING = "state = 'pending'"
BATCH = 20_000


def _bands(phash: str) -> list[int]:
    value, found, shift = int(phash, 16), [], 64
    for bits in BAND_BITS:
        shift -= bits
        found.append((value >> shift) & ((1 << bits) - 1))
    return found


def _digest(text: str) -> str:
    # pipeline.duplicates.text_digest, frozen: casefolded, punctuation and symbols as spaces.
    kept = [
        " " if unicodedata.category(char)[0] in "PSZC" else char
        for char in unicodedata.normalize("NFKC", text).casefold()
    ]
    normal = " ".join("".join(kept).split())
    return hashlib.sha256(normal.encode()).hexdigest()[:16]


def _backfill(connection: sa.Connection) -> None:
    media = sa.table("media", sa.column("id"), sa.column("phash"))
    bands = [f"phash_band{n}" for n in range(len(BAND_BITS))]
    target = sa.table("media", sa.column("id"), *(sa.column(name) for name in bands))
    last = 0
    while rows := connection.execute(
        sa.select(media.c.id, media.c.phash)
        .where(media.c.id > last, media.c.phash.is_not(None))
        .order_by(media.c.id)
        .limit(BATCH)
    ).all():
        connection.execute(
            target.update().where(target.c.id == sa.bindparam("row_id")),
            [{"row_id": row_id, **dict(zip(bands, _bands(phash), strict=True))} for row_id, phash in rows],
        )
        last = rows[-1][0]
    stories = sa.table("submissions", sa.column("id"), sa.column("text"), sa.column("text_digest"))
    last = 0
    while rows := connection.execute(
        sa.select(stories.c.id, stories.c.text)
        .where(stories.c.id > last, stories.c.text.is_not(None))
        .order_by(stories.c.id)
        .limit(BATCH)
    ).all():
        connection.execute(
            stories.update().where(stories.c.id == sa.bindparam("row_id")),
            [{"row_id": row_id, "text_digest": _digest(text)} for row_id, text in rows],
        )
        last = rows[-1][0]
    notifications = sa.table(
        "notifications", sa.column("next_attempt_at"), sa.column("created_at")
    )
    connection.execute(
        notifications.update()
        .where(notifications.c.next_attempt_at.is_(None))
        .values(next_attempt_at=notifications.c.created_at)
    )


def upgrade() -> None:
    with op.batch_alter_table("media") as batch:
        for number in range(len(BAND_BITS)):
            batch.add_column(sa.Column(f"phash_band{number}", sa.Integer(), nullable=True))
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("text_digest", sa.String(length=16), nullable=True))
    _backfill(op.get_bind())
    for number in range(len(BAND_BITS)):
        band = f"phash_band{number}"
        op.create_index(f"ix_media_{band}", "media", [band, "phash", "submission_id"])
    op.create_index("ix_submissions_text_digest", "submissions", ["text_digest"])
    for name, where in (("ix_submissions_needs_card", NEEDS_CARD), ("ix_submissions_stale_card", STALE_CARD)):
        op.create_index(
            name, "submissions", ["id"], sqlite_where=sa.text(where), postgresql_where=sa.text(where)
        )
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.create_index(
        "ix_notifications_pending",
        "notifications",
        ["next_attempt_at", "id"],
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_pending", table_name="notifications")
    op.create_index("ix_notifications_due", "notifications", ["state", "next_attempt_at"])
    op.drop_index("ix_submissions_stale_card", table_name="submissions")
    op.drop_index("ix_submissions_needs_card", table_name="submissions")
    op.drop_index("ix_submissions_text_digest", table_name="submissions")
    for number in range(len(BAND_BITS)):
        op.drop_index(f"ix_media_phash_band{number}", table_name="media")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("text_digest")
    with op.batch_alter_table("media") as batch:
        for number in range(len(BAND_BITS)):
            batch.drop_column(f"phash_band{number}")
