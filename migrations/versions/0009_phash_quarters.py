"""near-duplicate photos by four quarters of the hash, indexed by expression

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

0007's seven 9-bit bands left about 4,000 photos behind each band value at a million stories:
a duplicate check read some 30,000 index entries per photo. Four 16-bit quarters, each probed
at its value and its 16 one-bit neighbours (core.phash), read about 2,000. The quarters are
expressions of the hash itself (`substr(phash, start, 4)`, covering the hash and the story),
so the band columns go: nothing has to be kept in step, and nothing is backfilled.

The columns are dropped in place (SQLite 3.35+ `DROP COLUMN`), not by rebuilding `media`,
which would drop the triggers of 0008.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_BAND_BITS = (10, 9, 9, 9, 9, 9, 9)  # 0007's bands, frozen for the downgrade
BATCH = 20_000


def _quarter(number: int) -> sa.TextClause:
    # core.phash.quarter_sql, frozen: the query must spell it the same for SQLite to match it.
    return sa.text(f"substr(phash, {number * 4 + 1}, 4)")


def upgrade() -> None:
    for number in range(len(OLD_BAND_BITS)):
        op.drop_index(f"ix_media_phash_band{number}", table_name="media")
        op.drop_column("media", f"phash_band{number}")
    for number in range(4):
        op.create_index(
            f"ix_media_phash_q{number}", "media", [_quarter(number), "phash", "submission_id"]
        )


def _old_bands(phash: str) -> list[int]:
    value, found, shift = int(phash, 16), [], 64
    for bits in OLD_BAND_BITS:
        shift -= bits
        found.append((value >> shift) & ((1 << bits) - 1))
    return found


def downgrade() -> None:
    for number in range(4):
        op.drop_index(f"ix_media_phash_q{number}", table_name="media")
    names = [f"phash_band{n}" for n in range(len(OLD_BAND_BITS))]
    for name in names:
        op.add_column("media", sa.Column(name, sa.Integer(), nullable=True))
    connection = op.get_bind()
    media = sa.table("media", sa.column("id"), sa.column("phash"), *map(sa.column, names))
    last = 0
    while rows := connection.execute(
        sa.select(media.c.id, media.c.phash)
        .where(media.c.id > last, media.c.phash.is_not(None))
        .order_by(media.c.id)
        .limit(BATCH)
    ).all():
        connection.execute(
            media.update().where(media.c.id == sa.bindparam("row_id")),
            [{"row_id": i, **dict(zip(names, _old_bands(h), strict=True))} for i, h in rows],
        )
        last = rows[-1][0]
    for name in names:
        op.create_index(f"ix_media_{name}", "media", [name, "phash", "submission_id"])
