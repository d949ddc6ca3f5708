"""A story's public place in the administrative hierarchy: kelurahan/desa, kecamatan,
kabupaten/kota, province, from the gazetteer (`pipeline.gazetteer`).

The point of a place is the gazetteer's centroid of the kelurahan/desa or the named landmark,
never the story's exact point (README, Privacy).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pipeline import gazetteer
from pipeline.gazetteer import LANDMARK_KINDS, VILLAGE_KINDS, Place

REGENCY_KINDS = frozenset({"kabupaten", "kota"})


@dataclass(frozen=True)
class Area:
    """A gazetteer place and the administrative areas it lies in."""

    place: Place
    village: Place | None  # kelurahan or desa
    kecamatan: Place | None
    regency: Place | None  # kabupaten or kota
    province: Place | None

    @property
    def point(self) -> tuple[float, float] | None:
        """(lat, lon) of the public place when it is fine enough to stand for a story (a
        kelurahan/desa, landmark, beach or kecamatan), else None."""
        return (self.place.lat, self.place.lon) if is_mappable(self.place) else None


def _first(chain: list[Place], kinds: frozenset[str]) -> Place | None:
    return next((place for place in chain if place.kind in kinds), None)


@cache
def area_of(place_id: str | None) -> Area | None:
    """The area of a gazetteer place id; None for a place typed by hand or no place."""
    place = gazetteer.by_id().get(place_id) if place_id else None
    if place is None:
        return None
    chain = [place, *gazetteer.ancestors(place)]
    return Area(
        place=place,
        village=_first(chain, VILLAGE_KINDS),
        kecamatan=_first(chain, frozenset({"kecamatan"})),
        regency=_first(chain, REGENCY_KINDS),
        province=_first(chain, frozenset({"provinsi"})),
    )


def is_mappable(place: Place) -> bool:
    """Whether a place is fine enough to be a point on a map or in an export (not an island,
    a whole regency or the province, whose centroid would mislead)."""
    return place.kind in VILLAGE_KINDS | LANDMARK_KINDS | {"kecamatan"}
