"""The NTT gazetteer (package data `pipeline/data/gazetteer-ntt.csv`), loaded once."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

KINDS = frozenset(
    {
        "provinsi",
        "kabupaten",
        "kota",
        "kecamatan",
        "kelurahan",
        "desa",
        "pulau",
        "pantai",
        "landmark",
        "dusun",
    }
)
# Kinds a coordinate may be mapped to: the public granularity of DESIGN.md (kelurahan/desa).
VILLAGE_KINDS = frozenset({"kelurahan", "desa"})
# Named spots a story may be published under (never finer than these); a dusun/kampung is named
# by the contributor like a beach or a market, and is no finer than one.
LANDMARK_KINDS = frozenset({"pantai", "landmark", "dusun"})

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True, slots=True)
class Place:
    """One gazetteer row."""

    id: str
    name: str
    kind: str
    parent_id: str | None
    lat: float
    lon: float
    coastal: bool
    aliases: tuple[str, ...]
    weak_names: tuple[str, ...]  # names of this place that are also ordinary words
    source: str


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(";") if part.strip())


def parse_gazetteer(text: str) -> list[Place]:
    """Parse gazetteer CSV text into places (no validation; see tests/pipeline/test_places.py)."""
    return [
        Place(
            id=row["id"].strip(),
            name=row["name"].strip(),
            kind=row["kind"].strip(),
            parent_id=row["parent_id"].strip() or None,
            lat=float(row["lat"]),
            lon=float(row["lon"]),
            coastal=row["coastal"].strip() == "yes",
            aliases=_split(row["aliases"]),
            weak_names=_split(row.get("weak_names") or ""),
            source=row["source"].strip(),
        )
        for row in csv.DictReader(io.StringIO(text))
    ]


def gazetteer_text() -> str:
    """The raw CSV shipped with the package."""
    return (
        resources.files("pipeline").joinpath("data/gazetteer-ntt.csv").read_text(encoding="utf-8")
    )


@cache
def places() -> tuple[Place, ...]:
    """Every place, in file order (loaded once per process)."""
    return tuple(parse_gazetteer(gazetteer_text()))


@cache
def by_id() -> dict[str, Place]:
    """Places by id."""
    return {place.id: place for place in places()}


def ancestors(place: Place) -> list[Place]:
    """Parent, grandparent, ... up to the province."""
    index = by_id()
    chain: list[Place] = []
    current = index.get(place.parent_id) if place.parent_id else None
    while current is not None and current not in chain:
        chain.append(current)
        current = index.get(current.parent_id) if current.parent_id else None
    return chain


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@cache
def _children() -> dict[str, tuple[Place, ...]]:
    """Places by their parent's id."""
    found: dict[str, list[Place]] = {}
    for place in places():
        if place.parent_id:
            found.setdefault(place.parent_id, []).append(place)
    return {parent: tuple(items) for parent, items in found.items()}


def descendants(place: Place) -> list[Place]:
    """Every place inside `place` (children, grandchildren, ...), not the place itself."""
    children = _children()
    found: list[Place] = []
    todo = list(children.get(place.id, ()))
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.append(current)
        todo.extend(children.get(current.id, ()))
    return found
