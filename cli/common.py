"""Helpers shared by the CLI commands: settings, logging, database."""

from __future__ import annotations

from sqlalchemy.engine import Engine, make_url

from core.config import Settings
from core.db import get_engine, migrate
from core.logging_setup import configure_logging


def load_settings() -> Settings:
    """Read settings and configure logging once for this process."""
    settings = Settings()
    configure_logging(settings.log_level)
    return settings


def migrate_database(url: str) -> None:
    """Bring the schema to the newest migration."""
    migrate(url)


def engine_for(settings: Settings) -> Engine:
    """The migrated engine for these settings."""
    url = settings.effective_database_url
    migrate(url)
    return get_engine(url)


def describe_url(url: str) -> str:
    """The URL with any password hidden."""
    return make_url(url).render_as_string(hide_password=True)
