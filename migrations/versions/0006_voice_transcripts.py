"""voice transcripts

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

A recording's automatic transcript and what became of it, beside the recording (pipeline step
`transcribe`); erased with the recording.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.add_column(sa.Column("transcript", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column(
                "transcript_status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.drop_column("transcript_status")
        batch.drop_column("transcript")
