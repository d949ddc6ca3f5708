"""Place resolution: chat location, photo GPS, names in the text, in that order.

Rules (documented in README "Pipeline: themes, places and safety"):
- A coordinate maps to the nearest kelurahan/desa centroid within `VILLAGE_RADIUS_KM`; beyond it,
  to the nearest kecamatan/kota within `AREA_RADIUS_KM` (flag `far_from_any_place`), else to the
  province. Points outside NTT are flagged `outside_ntt` and never put on the map.
- Text: gazetteer names and aliases after normalisation (case, punctuation, hyphens, apostrophes),
  longest match first, then fuzzy matching for typos. Names that are also ordinary words
  (`weak_names`, e.g. "Merdeka", "Tanah Merah", "Roti") count only when capitalised and either
  after a place cue ("di", "kelurahan", "pantai", ...) or not at the start of a sentence. Short
  all-capital acronyms ("OB", "TDM", "LLBK") count only when written in capitals.
- Several places: the highest salience wins; salience = specificity of the kind (landmark/beach 5,
  kelurahan/desa 4, kecamatan 3, town 2, kabupaten or a large island 1, province 0) + 2 after a
  locative cue ("di", "in", "at", "kelurahan", "desa") or + 0.5 after a weaker cue ("ke", "dari",
  "dekat", "pesisir", ...) + 1 when one of its ancestors is also named + 0.5 per extra mention
  - 0.5 for a fuzzy match; ties go to the first mentioned. A name shared by an island and a
  kecamatan ("Semau") means the island.
- A beach/market/harbour word before a kelurahan ("pantai di Lasiana", "Pasar Oesapa") or an
  English one after it ("Lasiana beach") picks the named landmark inside that kelurahan.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from rapidfuzz import fuzz, process

from pipeline.gazetteer import (
    LANDMARK_KINDS,
    VILLAGE_KINDS,
    Place,
    ancestors,
    by_id,
    distance_km,
    places,
)

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
    (-9.52, -9.14, 124.03, 124.50),  # Oecusse exclave (Timor-Leste)
)

FUZZY_CUTOFF = 85.0
_KIND_RANK = {
    "pantai": 5,
    "landmark": 5,
    "kelurahan": 4,
    "desa": 4,
    "kecamatan": 3,
    "kota": 2,
    "kabupaten": 1,
    "provinsi": 0,
}
# Same text naming two places (e.g. Kelurahan and Kecamatan Alak): prefer the finer one.
_KIND_ORDER = ("kelurahan", "desa", "pantai", "landmark", "pulau", "kecamatan", "kota", "kabupaten")
STRONG_CUES = frozenset({"di", "in", "at", "kelurahan", "kel", "desa", "kampung", "dusun"})
WEAK_CUES = frozenset(
    {"ke", "dari", "dekat", "sekitar", "pesisir", "near", "from", "to", "warga", "pantai", "pulau"}
    | {"kecamatan", "kec", "wilayah", "daerah", "sampai", "sampe", "of"}
)
# Words naming a kind of landmark: before a kelurahan in Indonesian, after it in English.
_TYPE_BEFORE = frozenset(
    {"pantai", "pasar", "pelabuhan", "dermaga", "mangrove", "bakau", "tpa", "pltu", "nelayan"}
)
_TYPE_AFTER = {
    "beach": "pantai",
    "market": "pasar",
    "harbour": "pelabuhan",
    "harbor": "pelabuhan",
    "port": "pelabuhan",
    "mangrove": "mangrove",
    "mangroves": "mangrove",
    "landfill": "tpa",
}
_WORD = re.compile(r"[^\W_]+(?:['’`][^\W_]+)*")
_SENTENCE_END = re.compile(r"[.!?\n]\s*$")


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


def normalize(text: str) -> str:
    """Lower case, accents and apostrophes removed, punctuation as spaces."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = re.sub(r"['’`]", "", folded.lower())
    return " ".join(re.findall(r"[^\W_]+", folded))


@dataclass(frozen=True, slots=True)
class _Token:
    norm: str
    start: int
    end: int
    raw: str


def _tokens(text: str) -> list[_Token]:
    out = []
    for m in _WORD.finditer(text):
        norm = normalize(m.group())
        for part in norm.split():
            out.append(_Token(part, m.start(), m.end(), m.group()))
    return out


@dataclass(frozen=True, slots=True)
class _Entry:
    place_id: str
    weak: bool
    acronym: bool


@cache
def _index() -> dict[tuple[str, ...], tuple[_Entry, ...]]:
    index: dict[tuple[str, ...], list[_Entry]] = {}
    for place in places():
        weak = {normalize(w) for w in place.weak_names}
        for name in (place.name, *place.aliases):
            key = tuple(normalize(name).split())
            if not key:
                continue
            acronym = name.isupper() and len(name.replace(".", "")) <= 4 and " " not in name
            entry = _Entry(place.id, " ".join(key) in weak, acronym)
            bucket = index.setdefault(key, [])
            if all(e.place_id != place.id for e in bucket):
                bucket.append(entry)
    return {k: tuple(v) for k, v in index.items()}


@cache
def _fuzzy_choices() -> dict[str, tuple[str, ...]]:
    """Strong (not weak, not acronym) names of at least 5 letters, for typo matching."""
    return {
        " ".join(key): key
        for key, entries in _index().items()
        if len(" ".join(key)) >= 5 and any(not e.weak and not e.acronym for e in entries)
    }


@cache
def _weak_squashed() -> frozenset[str]:
    """Weak names without spaces: 'air mata' must not come back as a typo of 'Airmata'."""
    return frozenset(normalize(w).replace(" ", "") for place in places() for w in place.weak_names)


@cache
def _max_key_len() -> int:
    return max(len(k) for k in _index())


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


def _rank(place: Place) -> int:
    if place.kind == "pulau":
        parent = by_id().get(place.parent_id or "")
        # a small island inside a desa is as specific as the desa; a big one is like a kabupaten
        return 4 if parent is not None and parent.kind in VILLAGE_KINDS else 1
    return _KIND_RANK.get(place.kind, 0)


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


@dataclass(slots=True)
class _Mention:
    start: int  # token index
    end: int
    candidates: list[str]
    fuzzy: bool
    text: str


def _is_sentence_start(text: str, token: _Token) -> bool:
    return token.start == 0 or bool(_SENTENCE_END.search(text[: token.start]))


def _entry_ok(entry: _Entry, text: str, toks: list[_Token], i: int, j: int) -> bool:
    raw = text[toks[i].start : toks[j - 1].end]
    if entry.acronym:
        return raw.isupper()
    if entry.weak:
        if not raw[:1].isupper():
            return False
        cue = i > 0 and toks[i - 1].norm in STRONG_CUES | WEAK_CUES
        return cue or not _is_sentence_start(text, toks[i])
    return True


def _find_mentions(text: str) -> list[_Mention]:
    toks = _tokens(text)
    index = _index()
    found: list[tuple[int, int, list[str]]] = []
    for i in range(len(toks)):
        for n in range(min(_max_key_len(), len(toks) - i), 0, -1):
            key = tuple(t.norm for t in toks[i : i + n])
            entries = index.get(key)
            if not entries:
                continue
            ok = [e.place_id for e in entries if _entry_ok(e, text, toks, i, i + n)]
            if ok:
                found.append((i, i + n, ok))
    # longest first, then leftmost; keep non-overlapping spans
    found.sort(key=lambda f: (-(f[1] - f[0]), f[0]))
    taken: set[int] = set()
    mentions: list[_Mention] = []
    for i, j, ids in found:
        if taken.intersection(range(i, j)):
            continue
        taken.update(range(i, j))
        mentions.append(_Mention(i, j, ids, False, text[toks[i].start : toks[j - 1].end]))
    mentions.extend(_fuzzy_mentions(text, toks, taken))
    mentions.sort(key=lambda m: m.start)
    place_index = by_id()
    for mention in mentions:
        islands = [pid for pid in mention.candidates if place_index[pid].kind == "pulau"]
        if islands:  # "Semau" is the island; the kecamatan sharing its name is written "Kec. Semau"
            mention.candidates = islands
        _prefer_landmark(mention, toks)
    return mentions


def _fuzzy_mentions(text: str, toks: list[_Token], taken: set[int]) -> list[_Mention]:
    choices = _fuzzy_choices()
    out: list[_Mention] = []
    i = 0
    while i < len(toks):
        best: tuple[float, int, str] | None = None
        for n in (3, 2, 1):
            j = i + n
            if j > len(toks) or taken.intersection(range(i, j)):
                continue
            phrase = " ".join(t.norm for t in toks[i:j])
            if len(phrase) < 5 or any(t.norm.isdigit() or len(t.norm) < 3 for t in toks[i:j]):
                continue  # "pantai di" is no typo of "Pantai LLBK"
            if tuple(phrase.split()) in _index() or phrase.replace(" ", "") in _weak_squashed():
                continue  # an exact name refused by the weak-name rules stays refused
            hit = process.extractOne(phrase, choices.keys(), scorer=fuzz.ratio)
            good = hit is not None and hit[1] >= FUZZY_CUTOFF and hit[0][0] == phrase[0]
            if hit is not None and good and (best is None or hit[1] > best[0]):
                best = (hit[1], j, hit[0])
        if best is None:
            i += 1
            continue
        _, j, name = best
        entries = _index()[choices[name]]
        ids = [e.place_id for e in entries if not e.weak and not e.acronym]
        out.append(_Mention(i, j, ids, True, text[toks[i].start : toks[j - 1].end]))
        taken.update(range(i, j))
        i = j
    return out


def _prefer_landmark(mention: _Mention, toks: list[_Token]) -> None:
    """'pantai di Lasiana', 'Pasar Oesapa', 'Lasiana beach': the landmark inside the kelurahan."""
    index = by_id()
    type_words: set[str] = set()
    k = mention.start - 1
    if k >= 0 and toks[k].norm == "di":
        k -= 1
    if k >= 0 and toks[k].norm in _TYPE_BEFORE:
        type_words.add(toks[k].norm)
    if mention.end < len(toks) and toks[mention.end].norm in _TYPE_AFTER:
        type_words.add(_TYPE_AFTER[toks[mention.end].norm])
    if not type_words:
        return
    for pid in mention.candidates:
        parent = index[pid]
        if parent.kind not in VILLAGE_KINDS:
            continue
        for child in places():
            if child.parent_id != parent.id or child.kind not in LANDMARK_KINDS:
                continue
            words = {w for name in (child.name, *child.aliases) for w in normalize(name).split()}
            if type_words <= words:
                mention.candidates = [child.id]
                return


def _salience(place: Place, mention: _Mention, cue: str, others: set[str], count: int) -> float:
    """How likely this mention is the story's place (rule in the module docstring)."""
    cue_bonus = 2.0 if cue in STRONG_CUES else 0.5 if cue in WEAK_CUES else 0.0
    ancestor_named = any(a.id in others for a in ancestors(place))
    return (
        _rank(place)
        + cue_bonus
        + (1.0 if ancestor_named else 0.0)
        + 0.5 * (count - 1)
        - (0.5 if mention.fuzzy else 0.0)
    )


def _choose(mentions: list[_Mention], text: str) -> tuple[Place, _Mention] | None:
    index = by_id()
    toks = _tokens(text)
    counts: dict[str, int] = {}
    for m in mentions:
        for pid in m.candidates:
            counts[pid] = counts.get(pid, 0) + 1
    best: tuple[tuple[float, int, int], Place, _Mention] | None = None
    for order, m in enumerate(mentions):
        others = {pid for other in mentions if other is not m for pid in other.candidates}
        cue = toks[m.start - 1].norm if m.start > 0 else ""
        for pid in m.candidates:
            place = index[pid]
            score = _salience(place, m, cue, others, counts[pid])
            # ties: the first mention; within one mention the finer kind (kelurahan Alak first)
            finer = _KIND_ORDER.index(place.kind) if place.kind in _KIND_ORDER else 99
            key = (score, -order, -finer)
            if best is None or key > best[0]:
                best = (key, place, m)
    return (best[1], best[2]) if best else None


def place_from_text(text: str) -> PlaceResult | None:
    """The most specific, most salient place named in the text, or None."""
    mentions = _find_mentions(text)
    chosen = _choose(mentions, text)
    if chosen is None:
        return None
    place, mention = chosen
    evidence = mention.text + (" (fuzzy)" if mention.fuzzy else "")
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
            score += _rank(place) / 100
            if score >= 75 and score > scored.get(place.id, (0.0, ""))[0]:
                scored[place.id] = (score, name)
    ranked = sorted(scored.items(), key=lambda item: -item[1][0])[:limit]
    return [_result(by_id()[pid], "moderator", f"matches {name!r}") for pid, (_, name) in ranked]
