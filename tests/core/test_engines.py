"""The process's shared engines (`core.db.get_engine`)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from core.db import ENGINES_KEPT, get_engine


def test_an_engine_pushed_out_of_the_cache_is_closed(tmp_path: Path) -> None:
    """An engine dropped from the cache closes its connections at once: left to the garbage
    collector, PostgreSQL's would warn "deleted while still open" in whatever runs then."""
    first = get_engine(f"sqlite:///{tmp_path / 'first.db'}")
    with first.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert first.pool.checkedin() == 1  # type: ignore[attr-defined]
    assert get_engine(f"sqlite:///{tmp_path / 'first.db'}") is first
    for n in range(ENGINES_KEPT):
        get_engine(f"sqlite:///{tmp_path / f'other-{n}.db'}")
    assert first.pool.checkedin() == 0  # type: ignore[attr-defined]
    assert get_engine(f"sqlite:///{tmp_path / 'first.db'}") is not first
