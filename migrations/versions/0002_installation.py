"""installation id

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

An installation id, random per database, made here once: idempotency keys include it, so two
installations posting to the same account never take each other's posts for their own.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import core.db_types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("install_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", core.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    made = datetime.now(UTC)
    op.bulk_insert(table, [{"id": 1, "install_id": uuid.uuid4().hex, "created_at": made}])


def downgrade() -> None:
    op.drop_table("installation")
