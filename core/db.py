"""Engine, sessions and migrations. SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import ColumnElement, Select, Table, event, inspect, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
#: The full-text index of stories (migration 0008): an FTS5 table on SQLite (with its shadow
#: tables), a tsvector table on PostgreSQL. No model can declare it, so autogenerate skips it.
SEARCH_TABLE = "submission_search"


def declared_in_models(name: str | None, type_: str, _parents: object = None) -> bool:
    """False for the tables only migrations know (the search index); Alembic's `include_name`."""
    return not (type_ == "table" and name is not None and name.startswith(SEARCH_TABLE))


def is_sqlite(url: str) -> bool:
    """True when `url` points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite files get WAL, foreign keys and a busy timeout."""
    # Database errors must not carry story text or ids into logs and error columns.
    kwargs.setdefault("hide_parameters", True)
    if is_sqlite(url):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the bot write while the CLI or a worker reads; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


ENGINES_KEPT = 8
_engines: OrderedDict[str, Engine] = OrderedDict()
_engines_lock = threading.Lock()


def get_engine(url: str) -> Engine:
    """A shared engine per URL for the process (the last ENGINES_KEPT URLs used)."""
    with _engines_lock:
        engine = _engines.pop(url, None) or make_engine(url)
        _engines[url] = engine
        while len(_engines) > ENGINES_KEPT:
            # close the oldest's connections now, not whenever the garbage collector gets to it
            _engines.popitem(last=False)[1].dispose()
        return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str) -> Config:
    """Alembic configuration pointing at our migrations and `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Create or upgrade the database schema to `revision` (the only way tables are made)."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def optimize(engine: Engine) -> None:
    """Refresh the planner's statistics where the database does not do it itself (SQLite's
    `PRAGMA optimize`, cheap, as its documentation advises for long-running processes): the
    partial indexes of the bot's rounds are chosen from these statistics."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA optimize")
            # Merge a little of what the day's writes left in small pieces in the full-text
            # index (FTS5 `merge`, bounded work): a word's lookup then reads fewer b-trees.
            connection.exec_driver_sql(
                "INSERT INTO submission_search (submission_search, rank) VALUES ('merge', 500)"
            )


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None when it has never been migrated."""
    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as connection:
        row = connection.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    return None if row is None else str(row[0])


def head_revision() -> str | None:
    """The newest migration's revision: what `migrate` brings a database to."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


@dataclass(frozen=True)
class Readiness:
    """Whether a database can be used as it is: `detail` says what was found, `hint` the fix."""

    ready: bool
    detail: str
    hint: str | None = None


def describe_url(url: str) -> str:
    """The URL with any password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL and in-memory SQLite)."""
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def readiness(url: str) -> tuple[Engine | None, Readiness]:
    """Open the database at `url` without creating or changing anything; its engine when it
    exists and is at the newest migration."""
    init = "create or upgrade it with: pesisir init"
    shown = describe_url(url)
    path = sqlite_file(url)
    # Connecting to SQLite would create an empty file: say plainly that there is none instead.
    if path is not None and not path.exists():
        hint = f"{init} (or set PESISIR_DATA_DIR / PESISIR_DATABASE_URL to where your data is)"
        return None, Readiness(False, f"no database at {path}", hint)
    engine = make_engine(url)
    try:
        current = current_revision(engine)
    except SQLAlchemyError as error:
        engine.dispose()
        reason = str(getattr(error, "orig", None) or type(error).__name__).strip().splitlines()
        return None, Readiness(
            False,
            f"{shown} does not answer: {reason[0] if reason else type(error).__name__}",
            "check PESISIR_DATABASE_URL (host, port, user, database) and that the server runs",
        )
    head = head_revision()
    if current is None:
        engine.dispose()
        return None, Readiness(False, f"{shown} has no Suara Pesisir tables yet", init)
    if current != head:
        engine.dispose()
        return None, Readiness(
            False, f"{shown} is at migration {current}, this version needs {head}", init
        )
    return engine, Readiness(True, f"{shown} at migration {current} (the newest)")


def claim_rows(
    connection: Connection,
    table: Table,
    due: Select[Any],
    *,
    still: ColumnElement[bool],
    values: dict[str, Any],
) -> list[int]:
    """Atomically set `values` on the rows `due` selects (a query of `table.c.id`) that are
    `still` claimable; the ids taken, sorted. Several processes may claim at once: each row
    goes to one of them."""
    ids = table.c.id
    if connection.dialect.name == "postgresql":
        # Rows another process is claiming right now are skipped, not waited for. The locked
        # selection must be computed once: as `IN (subquery)` PostgreSQL may rescan it per row,
        # skip the rows this very UPDATE just changed, and claim more than the limit.
        chosen = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        statement = update(table).where(ids == chosen.c.id, still)
    else:  # SQLite: one writer at a time, the statement is atomic
        statement = update(table).where(ids.in_(due.scalar_subquery()), still)
    claimed = connection.execute(statement.values(**values).returning(ids))
    return sorted(int(row_id) for row_id in claimed.scalars())
