"""Place resolution: chat location, photo GPS, names in the text, in that order.

Rules (documented in README "Pipeline: themes, places and safety"):
- A coordinate maps to the nearest kelurahan/desa centroid within `VILLAGE_RADIUS_KM`; beyond it,
  to the nearest kecamatan/kota within `AREA_RADIUS_KM` (flag `far_from_any_place`), else to the
  province. Points outside NTT are flagged `outside_ntt` and never put on the map.
- Text: the names in it (`pipeline.place_names`: gazetteer names, typos, weak names, cues and
  salience).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rapidfuzz import fuzz

from pipeline.gazetteer import (
    VILLAGE_KINDS,
    Place,
    by_id,
    distance_km,
    places,
)
from pipeline.place_names import choose_place, normalize, rank

Source = Literal["chat", "photo", "text", "moderator"]

# Kelurahan in Kota Kupang span about 1-3 km from centroid to edge; rural desa up to ~5 km. A point
# further than this from every village centroid is at sea or in country the gazetteer does not
# cover in detail, and is mapped only to a coarser area.
VILLAGE_RADIUS_KM = 4.0
AREA_RADIUS_KM = 25.0
AREA_KINDS = frozenset({"kecamatan", "kota"})

# A rough outline of NTT: the bounding box of its islands (Komodo to Alor, Flores to Rote),
# minus Timor-Leste's main part and the Oecusse exclave. Good to about 10 km at the edges.
NTT_BOX = (-11.10, -8.00, 119.20, 125.20)  # south, north, west, east
EXCLUDED_BOXES = (
    (-9.60, -8.10, 124.95, 125.20),  # Timor-Leste east of the border (Batugade/Maliana)
    # Oecusse exclave (Timor-Leste) in three steps: its coast, then narrower inland, so that the
    # Amfoang Timur desa west of its border (the Netemnanu desa) stay inside NTT
    (-9.30, -9.14, 124.03, 124.50),
    (-9.45, -9.30, 124.13, 124.50),
    (-9.52, -9.45, 124.20, 124.50),
)


@dataclass(frozen=True, slots=True)
class PlaceResult:
    """A resolved place: the public place plus, from coordinates, the private exact point."""

    id: str | None  # None: a point with no public place (e.g. outside NTT)
    name: str | None
    kind: str | None
    lat: float | None  # the public place's coordinates, never the exact point
    lon: float | None
    source: Source
    evidence: str
    exact_lat: float | None = None  # private: moderators only
    exact_lon: float | None = None
    flags: tuple[str, ...] = field(default=())

    def public(self) -> dict[str, Any] | None:
        """The fields that may leave the moderation room (no exact point, no flags)."""
        if self.id is None:
            return None
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "lat": self.lat,
            "lon": self.lon,
            "source": self.source,
            "evidence": self.evidence,
        }


def in_ntt(lat: float, lon: float) -> bool:
    """Whether a point lies in the rough outline of NTT (see NTT_BOX)."""
    south, north, west, east = NTT_BOX
    if not (south <= lat <= north and west <= lon <= east):
        return False
    return not any(s <= lat <= n and w <= lon <= e for s, n, w, e in EXCLUDED_BOXES)


def _valid_point(point: tuple[float, float]) -> bool:
    lat, lon = point
    return (
        math.isfinite(lat)
        and math.isfinite(lon)
        and -90 <= lat <= 90
        and -180 <= lon <= 180
        and (lat, lon) != (0.0, 0.0)
    )


def _result(place: Place, source: Source, evidence: str, **extra: Any) -> PlaceResult:
    return PlaceResult(
        id=place.id,
        name=place.name,
        kind=place.kind,
        lat=place.lat,
        lon=place.lon,
        source=source,
        evidence=evidence,
        **extra,
    )


def place_from_point(lat: float, lon: float, source: Source) -> PlaceResult:
    """Map a coordinate to its public place (see module docstring for the radii)."""
    if not in_ntt(lat, lon):
        return PlaceResult(
            id=None,
            name=None,
            kind=None,
            lat=None,
            lon=None,
            source=source,
            evidence="point outside NTT",
            exact_lat=lat,
            exact_lon=lon,
            flags=("outside_ntt",),
        )
    exact = {"exact_lat": lat, "exact_lon": lon}

    def nearest(kinds: frozenset[str]) -> tuple[float, Place] | None:
        pool = [p for p in places() if p.kind in kinds]
        return min(((distance_km(lat, lon, p.lat, p.lon), p) for p in pool), default=None)

    village = nearest(VILLAGE_KINDS)
    if village is not None and village[0] <= VILLAGE_RADIUS_KM:
        km, place = village
        return _result(place, source, f"nearest {place.kind} {km:.1f} km", **exact)
    area = nearest(AREA_KINDS)
    if area is not None and area[0] <= AREA_RADIUS_KM:
        km, place = area
        evidence = (
            f"no kelurahan/desa within {VILLAGE_RADIUS_KM:g} km; nearest {place.kind} {km:.1f} km"
        )
        return _result(place, source, evidence, flags=("far_from_any_place",), **exact)
    province = by_id()["ntt"]
    evidence = (
        f"no kelurahan/desa within {VILLAGE_RADIUS_KM:g} km nor town within {AREA_RADIUS_KM:g} km"
    )
    return _result(province, source, evidence, flags=("far_from_any_place",), **exact)


def place_from_text(text: str) -> PlaceResult | None:
    """The most specific, most salient place named in the text, or None."""
    chosen = choose_place(text)
    if chosen is None:
        return None
    place, evidence = chosen
    return _result(place, "text", evidence)


def resolve_place(
    *,
    chat_point: tuple[float, float] | None,
    photo_points: Sequence[tuple[float, float]],
    text: str | None,
) -> PlaceResult | None:
    """Resolve a story's place: shared chat location, photo GPS, names in the text, none."""
    flags: list[str] = []
    outside: PlaceResult | None = None
    if chat_point is not None:
        if _valid_point(chat_point):
            found = place_from_point(*chat_point, "chat")
            if found.id is not None:
                return found
            outside = outside or found
            flags.append("chat_outside_ntt")
        else:
            flags.append("invalid_point")
    valid_photos = [p for p in photo_points if _valid_point(p)]
    if len(valid_photos) < len(photo_points):
        flags.append("invalid_point")
    for point in valid_photos:
        found = place_from_point(*point, "photo")
        if found.id is None:
            outside = outside or found
            if "photo_outside_ntt" not in flags:
                flags.append("photo_outside_ntt")
            continue
        spread = max(distance_km(*point, *other) for other in valid_photos)
        if spread > 2 * VILLAGE_RADIUS_KM:
            flags.append("photos_disagree")
        return _with_flags(found, flags)
    if text:
        found_text = place_from_text(text)
        if found_text is not None:
            return _with_flags(found_text, flags)
    if outside is not None:
        return _with_flags(outside, flags)
    return None


def _with_flags(result: PlaceResult, flags: list[str]) -> PlaceResult:
    merged = tuple(dict.fromkeys((*result.flags, *flags)))
    return PlaceResult(
        id=result.id,
        name=result.name,
        kind=result.kind,
        lat=result.lat,
        lon=result.lon,
        source=result.source,
        evidence=result.evidence,
        exact_lat=result.exact_lat,
        exact_lon=result.exact_lon,
        flags=merged,
    )


def place_by_id(place_id: str) -> PlaceResult | None:
    """A gazetteer place as chosen by a moderator, or None for an unknown id."""
    place = by_id().get(place_id)
    if place is None:
        return None
    return _result(place, "moderator", "chosen by a moderator")


def search_places(query: str, limit: int = 10) -> list[PlaceResult]:
    """Places whose name or alias best matches what a moderator typed (typos allowed)."""
    q = normalize(query)
    if not q or limit <= 0:
        return []
    scored: dict[str, tuple[float, str]] = {}
    for place in places():
        for name in (place.name, *place.aliases):
            n = normalize(name)
            if n == q:
                score = 200.0
            elif n.startswith(q) or any(w.startswith(q) for w in n.split()):
                score = 150.0 + fuzz.ratio(q, n) / 10
            else:
                score = fuzz.WRatio(q, n)
            # a finer kind wins a tie (kelurahan Alak before kecamatan Alak)
            score += rank(place) / 100
            if score >= 75 and score > scored.get(place.id, (0.0, ""))[0]:
                scored[place.id] = (score, name)
    ranked = sorted(scored.items(), key=lambda item: -item[1][0])[:limit]
    return [_result(by_id()[pid], "moderator", f"matches {name!r}") for pid, (_, name) in ranked]
