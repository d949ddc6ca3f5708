"""Keyset pages: a list ordered by (time, id) continues after the last row it showed, so any
page costs what the first does and a row added between pages is neither lost nor shown twice.

The cursor is opaque to people (base64 of the time and the id); the story list and the
calendar of posts both use it.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, literal, tuple_

from core.clock import as_utc
from core.db_types import UTCDateTime
from core.errors import InvalidInput


def encode_cursor(moment: datetime, row_id: int) -> str:
    """The opaque cursor after a row: its sort time and id."""
    raw = f"{as_utc(moment).isoformat()}|{row_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The sort time and id a cursor holds; InvalidInput for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, _, row_id = base64.urlsafe_b64decode(padded).decode().partition("|")
        return as_utc(datetime.fromisoformat(moment)), int(row_id)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(f"not a page cursor: {cursor!r}") from None


def after_cursor(
    moment: Any, row_id: Any, cursor: str, *, descending: bool = False
) -> ColumnElement[bool]:
    """The rows after `cursor` in the order (moment, row_id), ascending or descending.

    A row value, `(moment, id) > (:t, :i)`: SQLite and PostgreSQL both seek an index on
    (moment, id) straight to it, where `moment > :t OR (moment = :t AND id > :i)` may scan.
    """
    at, last_id = decode_cursor(cursor)
    key = tuple_(moment, row_id)
    mark = tuple_(literal(at, UTCDateTime()), literal(last_id))
    return key < mark if descending else key > mark
