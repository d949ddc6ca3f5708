"""This installation's id: random per database, made by the migration that adds its table."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from core.models import Installation


def install_id(session: Session) -> str:
    """The installation id (made now if its row went missing, as after a table truncate)."""
    row = session.get(Installation, 1)
    if row is None:
        row = Installation(id=1, install_id=uuid.uuid4().hex)
        session.add(row)
        session.flush()
    return row.install_id
