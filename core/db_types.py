"""Column types and column helpers that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field

from core.clock import utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets tz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Store aware values in UTC; naive values are taken as UTC."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        aware: datetime = value if value.tzinfo else value.replace(tzinfo=UTC)
        aware = aware.astimezone(UTC)
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Give back an aware UTC datetime."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def ts_column(*, nullable: bool = True, index: bool = False) -> Any:
    """A nullable UTC timestamp column."""
    return Field(
        default=None,
        sa_type=UTCDateTime,
        nullable=nullable,
        index=index,
    )


def created_column() -> Any:
    """A UTC timestamp column set to now when the row is made."""
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def json_column(default: Any) -> Any:
    """A JSON column that is never NULL (an empty list or object by default)."""
    factory = (lambda: list(default)) if isinstance(default, list) else (lambda: dict(default))
    # A server default too, so rows inserted without the ORM (bulk loads, older code) are valid.
    empty = "[]" if isinstance(default, list) else "{}"
    return Field(
        default_factory=factory,
        sa_column=Column(JSON, nullable=False, server_default=text(f"'{empty}'")),
    )


def json_nullable_column() -> Any:
    """A JSON column that may be NULL."""
    return Field(default=None, sa_column=Column(JSON, nullable=True))
