"""The one primitive that changes a delivery's state, following the transition table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Table, update
from sqlmodel import Session

from core.delivery_table import Delivery
from core.states import DeliveryState, delivery_sources

DELIVERIES: Table = Delivery.__table__  # type: ignore[attr-defined]


def change(
    session: Session,
    target: DeliveryState,
    *where: ColumnElement[bool],
    **values: Any,
) -> list[int]:
    """Move the rows `where` selects to `target`, but only from the states the transition table
    allows (`core.states.DELIVERY_TRANSITIONS`), setting `values` too; the ids moved, sorted."""
    column = DELIVERIES.c
    allowed = [state.value for state in delivery_sources(target)]
    # An ORM-enabled UPDATE: rows this session already loaded see the change too.
    result = session.execute(
        update(Delivery)
        .where(*where, column.state.in_(allowed))
        .values(state=target.value, **values)
        .returning(column.id)
    )
    return sorted(int(row_id) for row_id in result.scalars())
