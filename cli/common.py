"""Helpers shared by the CLI commands: settings, logging, database."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from core.errors import ConfigError
from core.logging_setup import configure_logging

if TYPE_CHECKING:  # imported when used: `pesisir --help` starts without pydantic or SQLAlchemy
    from sqlalchemy.engine import Engine

    from core.config import Settings


def load_settings() -> Settings:
    """Read settings (ConfigError names a wrong variable) and configure logging once."""
    from core import config

    settings = config.load_settings()
    configure_logging(settings.log_level, settings.secret_values())
    return settings


def open_database(settings: Settings) -> Engine:
    """The database of these settings as it is, for commands that read or decide: never
    created or changed here; ConfigError says what is missing and how to make it."""
    from core.db import get_engine, readiness

    engine, found = readiness(settings.effective_database_url)
    if engine is None:
        raise ConfigError(f"{found.detail}: {found.hint}")
    engine.dispose()
    return get_engine(settings.effective_database_url)


def prepare_database(settings: Settings) -> Engine:
    """Create or upgrade the database, for the commands that may (init, run, worker, demo);
    says where it is when it had to be made."""
    from core.db import get_engine, migrate, sqlite_file

    url = settings.effective_database_url
    path = sqlite_file(url)
    if path is not None and not path.exists():
        typer.echo(f"Creating the database at {path}", err=True)
    migrate(url)
    return get_engine(url)
