"""web dashboard: people, one-time login links, a per-post caption

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

People who use the dashboard (a role each, a session epoch for "log out everywhere"), the
one-time login links (only a token's SHA-256 is kept), and the campaign team's own caption for
one post (`deliveries.caption_override`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.db_types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=True),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", core.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_people_telegram_user_id"), ["telegram_user_id"], unique=True
        )
    op.create_table(
        "login_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("issued_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", core.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", core.db_types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", core.db_types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_tokens_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_login_tokens_token_hash"), ["token_hash"], unique=True
        )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caption_override", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("caption_override")
    op.drop_table("login_tokens")
    op.drop_table("people")
