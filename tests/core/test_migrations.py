"""Tables come only from Alembic migrations, and the migrations match the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import core.delivery_table
import core.models  # noqa: F401 - registers the other tables
from core.db import current_revision, declared_in_models, make_engine, migrate


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression")
def test_migrated_schema_matches_models(engine: Engine) -> None:
    """Autogenerate finds nothing to add: models and migrations agree (SQLAlchemy cannot
    reflect expression indexes on SQLite: their names are compared below)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": declared_in_models}
        )
        diff = compare_metadata(context, SQLModel.metadata)
    expressions = {
        index.name
        for table in SQLModel.metadata.tables.values()
        for index in table.indexes
        if any(not hasattr(item, "name") for item in index.expressions)
    }
    assert expressions  # the perceptual-hash quarters (core.phash)
    if engine.dialect.name == "sqlite":
        diff = [d for d in diff if not (d[0] == "add_index" and d[1].name in expressions)]
        with engine.connect() as connection:
            made = {
                name
                for (name,) in connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'index'"
                )
            }
        assert expressions <= made
    assert diff == []


def test_migrate_is_idempotent_and_records_head(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Running the migrations twice is harmless and leaves the head revision recorded."""
    url = f"sqlite:///{tmp_path / 'x' / 'pesisir.db'}"
    migrate(url)
    migrate(url)
    engine = make_engine(url)
    assert current_revision(engine) is not None
    assert "submissions" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert mode == "wal"
    engine.dispose()


def test_database_errors_do_not_repeat_the_data(engine) -> None:  # type: ignore[no-untyped-def]
    """A failing statement's error does not list the values sent (a contributor's words)."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError) as raised, engine.begin() as connection:
        connection.execute(
            text("INSERT INTO submissions (ref, contributor_id, text) VALUES (:r, :c, :t)"),
            {"r": "SP-X", "c": 424242, "t": "rumah Mama Yuli di RT 05"},
        )
    message = str(raised.value)
    assert "parameters hidden" in message
    if engine.dialect.name == "sqlite":  # PostgreSQL's own DETAIL may quote the row
        assert "Mama Yuli" not in message
