"""inbound updates

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Telegram updates stored before they are acknowledged, so a kill between fetching an update and
handling it loses nothing (bot.inbound).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.db_types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("received_at", core.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("handled_at", core.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id"),
    )
    op.create_index("ix_inbound_updates_handled_at", "inbound_updates", ["handled_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_updates_handled_at", table_name="inbound_updates")
    op.drop_table("inbound_updates")
