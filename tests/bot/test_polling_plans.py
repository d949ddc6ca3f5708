"""The bot's rounds every few seconds read only what they look for: their queries use the
partial indexes (no scan of every story or every notification ever sent)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select

from benchmarks.corpus import build
from bot.moderation_cards import NEEDS_CARD_QUERY, STALE_CARD_QUERY
from bot.notifier import due_query


def _plan(engine: Engine, statement: Select) -> str:  # type: ignore[type-arg]
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as connection:
        return " ".join(str(row[-1]) for row in connection.exec_driver_sql(prefix + sql))


def test_the_card_round_and_the_notification_claim_read_their_partial_indexes(
    engine: Engine,
) -> None:
    build(engine, stories=3000)  # every reviewed story carded, one notification each (ANALYZEd)
    assert "ix_submissions_needs_card" in _plan(engine, NEEDS_CARD_QUERY)
    assert "ix_submissions_stale_card" in _plan(engine, STALE_CARD_QUERY)
    due = _plan(engine, due_query(datetime(2026, 12, 6, tzinfo=UTC)))
    assert "ix_notifications_pending" in due
