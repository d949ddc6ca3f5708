"""stories pinned for policy briefs

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

A moderator may pin an approved story to be quoted in policy briefs (`pesisir pin`, the card's
📌 button); `submissions.pinned_at` says when, and the audit log who.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db_types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(
            sa.Column("pinned_at", core.db_types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("pinned_at")
