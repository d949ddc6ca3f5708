"""Names of places in a story's text: gazetteer names, typos, cues, and which place is meant.

Rules (documented in README "Pipeline: themes, places and safety"):
- Gazetteer names and aliases after normalisation (case, punctuation, hyphens, apostrophes,
  everyday spellings such as "pante", "psr", "jln"), longest match first, then fuzzy matching for
  typos (same number of words, same first letter, and the words that are not generic — kampung,
  pantai, pasar, ... — must match too); a phrase of everyday words (`common-words.txt`:
  "tumpukan" is no Tuapukan) or one running across a full stop is never a typo. Names that are
  also ordinary words (`weak_names`, e.g. "Merdeka", "Tanah Merah", "Roti") count only when
  capitalised and either after a place cue ("di", "kelurahan", "pantai", ...), before the
  Kupang Malay possessive "pung", not at the start of a sentence, or written as a proper name
  that starts with a kind word ("Pantai Warna", "Kota Kasih"); never after a word that makes it
  a day ("Hari Merdeka", "abis Merdeka", "Promo Merdeka"). Short all-capital acronyms ("OB",
  "TDM", "LLBK") count only in capitals; initials with dots ("W.Z.") read as one word.
- Several places: the highest salience wins; salience = specificity of the kind (landmark, beach
  or dusun 5, kelurahan/desa 4, kecamatan 3, town 2, kabupaten or a large island 1) + 2 after a
  locative cue ("di", "in", "at", "kelurahan", "desa") or + 0.5 after a weaker cue ("ke", "dari",
  "dekat", "pesisir", ...) + 1 when one of its ancestors is also named + 0.5 per extra mention
  - 0.5 for a fuzzy match; ties go to the first mentioned. A name shared by an island and a
  kecamatan ("Semau") means the island; "Camat Sulamu" and "kecamatan Sulamu" mean the
  kecamatan, "Bupati Kupang" the kabupaten. The province alone is no place.
- A beach/market/harbour word before a kelurahan ("pante di Lasiana", "Pasar Oesapa"), after it
  in English ("Lasiana beach") or as a Kupang Malay possessive ("Klapa Lima pung pante") picks
  the landmark of that name, else the one inside that kelurahan; "dekat pantai Lasiana" (near the
  beach) is the kelurahan behind it. A kind word elsewhere in the
  story ("cleaned the beach at Kelapa Lima") names no landmark: the kelurahan is the place
  (the labelling rule of tests/data/tagging/LABELLING.md, "Places").
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from rapidfuzz import fuzz, process

from pipeline.gazetteer import LANDMARK_KINDS, VILLAGE_KINDS, Place, ancestors, by_id, places

FUZZY_CUTOFF = 85.0
SHORT_NAME_CUTOFF = 92.0  # names of 6 letters or fewer: "papan" (a board) is no "Paspan"
_KIND_RANK = {
    "pantai": 5,
    "landmark": 5,
    "dusun": 5,
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
# ("nelayan Oesapa" is the fishers of the kelurahan, not the fishing village: no type word)
_TYPE_BEFORE = frozenset(
    {"pantai", "pasar", "pelabuhan", "dermaga", "mangrove", "bakau", "tpa", "pltu"}
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
# Everyday spellings and abbreviations of the words in place names ("pante Lasiana", "psr Oeba",
# "jln El Tari", "penyebrangan Bolok"), read as the gazetteer spells them.
_SPELLINGS = {
    "pante": "pantai",
    "psr": "pasar",
    "jl": "jalan",
    "jln": "jalan",
    "kmpg": "kampung",
    "kamp": "kampung",
    "penyebrangan": "penyeberangan",
    "plabuhan": "pelabuhan",
    "mesjid": "masjid",
    "bakau": "mangrove",
}
# "dekat pantai Lasiana", "near the beach at Lasiana": near a beach is in the kelurahan behind it
_NEAR = frozenset({"dekat", "near", "sekitar"})
# Words that only say what kind of place follows; a typo match must not rest on them
# ("kampung lama" is no typo of "Kampung Labat").
_GENERIC = frozenset(
    {"kampung", "pantai", "pasar", "desa", "kelurahan", "pulau", "gereja", "masjid", "jalan"}
    | {"kali", "tempat", "dusun", "pelabuhan", "kota", "teluk", "sungai", "gunung", "air"}
)
# Before a name: "Bupati Kupang" is the kabupaten, "kecamatan Sulamu" the kecamatan
_KIND_BEFORE = {
    "camat": "kecamatan",
    "kecamatan": "kecamatan",
    "kec": "kecamatan",
    "bupati": "kabupaten",
    "pemkab": "kabupaten",
}
# "Hari Merdeka" (Independence Day), "HUT Merdeka", "abis Merdeka", "Promo Merdeka": after
# these words a capitalised weak name is a day, not the kelurahan
_DAY_WORDS = frozenset(
    {"hari", "hut", "abis", "habis", "sejak", "setelah", "sesudah", "sebelum", "jelang"}
    | {"menjelang", "promo", "diskon", "since", "after", "before"}
)
_WORD = re.compile(r"[^\W_]+(?:['’`][^\W_]+)*")
# Initials written with dots ("RSUD W.Z. Johannes") read as one word ("WZ")
_INITIALS = re.compile(r"\b(?:[^\W\d_]\.){2,}")
_POSSESSIVE = re.compile(r"['’`]s$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?\n]\s*$")
_BREAK = re.compile(r"[.!?;:\n]")


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


def _without_initials_dots(text: str) -> str:
    """'W.Z. Johannes' as 'WZ   Johannes': the same length, so spans still fit the text."""
    return _INITIALS.sub(lambda m: m.group().replace(".", "") + " " * m.group().count("."), text)


@lru_cache(maxsize=64)
def _tokens(text: str) -> tuple[_Token, ...]:
    """The words of a text, normalised (cached: choosing a place reads them several times)."""
    text = _without_initials_dots(text)
    out = []
    for m in _WORD.finditer(text):
        raw = m.group()
        end = m.end()
        if _POSSESSIVE.search(raw) and len(raw) > 3:  # "Rote's lontar sugar"
            raw, end = raw[:-2], end - 2
        for part in normalize(raw).split():
            out.append(_Token(_SPELLINGS.get(part, part), m.start(), end, raw))
    return tuple(out)


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
def _fuzzy_choices() -> dict[tuple[int, str], dict[str, tuple[str, ...]]]:
    """Strong (not weak, not acronym) names of at least 5 letters for typo matching, by word
    count and first letter (a typo keeps both)."""
    out: dict[tuple[int, str], dict[str, tuple[str, ...]]] = {}
    for key, entries in _index().items():
        name = " ".join(key)
        if len(name) >= 5 and any(not e.weak and not e.acronym for e in entries):
            out.setdefault((len(key), name[0]), {})[name] = key
    return out


@cache
def _squashed_choices() -> dict[str, dict[str, tuple[str, ...]]]:
    """The typo-matching names without spaces, by first letter."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for group in _fuzzy_choices().values():
        for name, key in group.items():
            out.setdefault(name[0], {})[name.replace(" ", "")] = key
    return out


def _distinctive(phrase: str) -> str:
    return " ".join(w for w in phrase.split() if w not in _GENERIC)


def _typo_of(phrase: str, name: str) -> bool:
    """Whether a fuzzy hit still holds on the words that are not generic ("kampung", ...)."""
    if phrase[0] != name[0]:
        return False
    core, name_core = _distinctive(phrase), _distinctive(name)
    if core == phrase:
        return True
    return len(core) >= 4 and fuzz.ratio(core, name_core) >= FUZZY_CUTOFF


@cache
def _weak_squashed() -> frozenset[str]:
    """Weak names without spaces: 'air mata' must not come back as a typo of 'Airmata'."""
    return frozenset(normalize(w).replace(" ", "") for place in places() for w in place.weak_names)


@cache
def common_words() -> frozenset[str]:
    """Everyday words near a place name that are never its typo (`scripts/make-common-words`)."""
    data = resources.files("pipeline").joinpath("data/common-words.txt").read_text("utf-8")
    return frozenset(w for w in data.split("\n") if w and not w.startswith("#"))


def _everyday(toks: Sequence[_Token]) -> bool:
    """Whether a phrase is ordinary words ("tumpukan sampah", "pantai. Papan"), no typo."""
    words = [t.norm for t in toks if t.norm not in _GENERIC]
    return all(w in common_words() for w in words)


@cache
def _max_key_len() -> int:
    return max(len(k) for k in _index())


def rank(place: Place) -> int:
    """How specific a kind of place is (landmark, beach, dusun 5 ... province 0)."""
    if place.kind == "pulau":
        parent = by_id().get(place.parent_id or "")
        # a small island inside a desa is as specific as the desa; a big one is like a kabupaten
        return 4 if parent is not None and parent.kind in VILLAGE_KINDS else 1
    return _KIND_RANK.get(place.kind, 0)


@dataclass(slots=True)
class _Mention:
    start: int  # token index
    end: int
    candidates: list[str]
    fuzzy: bool
    text: str


def _is_sentence_start(text: str, token: _Token) -> bool:
    return token.start == 0 or bool(_SENTENCE_END.search(text[: token.start]))


def _entry_ok(entry: _Entry, text: str, toks: Sequence[_Token], i: int, j: int) -> bool:
    raw = text[toks[i].start : toks[j - 1].end]
    if entry.acronym:
        return raw.isupper()
    if entry.weak:
        if not raw[:1].isupper() or (i > 0 and toks[i - 1].norm in _DAY_WORDS):
            return False
        if j - i > 1 and toks[i].norm in _GENERIC and all(w[:1].isupper() for w in raw.split()):
            return True  # "Pantai Warna", "Kota Kasih" (not "Air mata") is a proper name
        cue = i > 0 and toks[i - 1].norm in STRONG_CUES | WEAK_CUES
        # Kupang Malay possessive: "Tarus pung jalan" names the place ("tarus" = "terus" never
        # owns anything)
        owns = j < len(toks) and toks[j].norm == "pung"
        return cue or owns or not _is_sentence_start(text, toks[i])
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
        _refine(mention, toks)
    return mentions


def _refine(mention: _Mention, toks: Sequence[_Token]) -> None:
    """'Camat Sulamu' is the kecamatan, 'Bupati Kupang' the kabupaten; 'dekat pantai Lasiana'
    is the kelurahan behind the beach."""
    index = by_id()
    before = [t.norm for t in toks[max(0, mention.start - 2) : mention.start]]
    kind = _KIND_BEFORE.get(before[-1]) if before else None
    if kind is not None:
        named = tuple(t.norm for t in toks[mention.start : mention.end])
        called = [e.place_id for e in _index().get((kind, *named), ())]  # "Kabupaten Kupang"
        of_kind = [pid for pid in mention.candidates if index[pid].kind == kind]
        mention.candidates = of_kind or called or mention.candidates
    if _NEAR.intersection(before) and all(
        index[pid].kind == "pantai" for pid in mention.candidates
    ):
        mention.candidates = list(
            dict.fromkeys(index[pid].parent_id or pid for pid in mention.candidates)
        )


def _fuzzy_mentions(text: str, toks: Sequence[_Token], taken: set[int]) -> list[_Mention]:
    choices = _fuzzy_choices()
    breaks = _sentence_breaks(text, toks)
    out: list[_Mention] = []
    i = 0
    while i < len(toks):
        best: tuple[float, int, tuple[str, ...]] | None = None
        for n in (3, 2, 1):
            j = i + n
            if j > len(toks) or taken.intersection(range(i, j)):
                continue
            phrase = " ".join(t.norm for t in toks[i:j])
            ends = (toks[i].norm, toks[j - 1].norm)
            if len(phrase) < 5 or any(t.norm.isdigit() for t in toks[i:j]):
                continue
            if any(len(end) < 3 for end in ends):
                continue  # "pantai di" is no typo of "Pantai LLBK" ("RSUD WZ Johanes" is)
            if tuple(phrase.split()) in _index() or phrase.replace(" ", "") in _weak_squashed():
                continue  # an exact name refused by the weak-name rules stays refused
            if _everyday(toks[i:j]) or any(breaks[i : j - 1]):
                continue
            # same number of words: "pendaratan ikan" is no typo of "pendaratan ikan Oeba"
            group = choices.get((n, phrase[0]), {})
            hit = process.extractOne(
                phrase, group.keys(), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF
            )
            good = (
                hit is not None
                and hit[1] >= (SHORT_NAME_CUTOFF if len(hit[0]) <= 6 else FUZZY_CUTOFF)
                and _typo_of(phrase, hit[0])
            )
            if hit is not None and good and (best is None or hit[1] > best[0]):
                best = (hit[1], j, group[hit[0]])
            # a space more or less ("Eltari", "Oesapa Barat" as "Oesapabarat"): nearly exact
            squashed_group = _squashed_choices().get(phrase[0], {})
            squashed = process.extractOne(
                phrase.replace(" ", ""), squashed_group.keys(), scorer=fuzz.ratio, score_cutoff=92
            )
            if squashed is not None and (best is None or squashed[1] > best[0]):
                best = (squashed[1], j, squashed_group[squashed[0]])
        if best is None:
            i += 1
            continue
        _, j, key = best
        entries = _index()[key]
        ids = [e.place_id for e in entries if not e.weak and not e.acronym]
        out.append(_Mention(i, j, ids, True, text[toks[i].start : toks[j - 1].end]))
        taken.update(range(i, j))
        i = j
    return out


def _sentence_breaks(text: str, toks: Sequence[_Token]) -> list[bool]:
    """Per word, whether a sentence ends right after it ("di pantai. Papan larangan")."""
    text = _without_initials_dots(text)
    gaps = [bool(_BREAK.search(text, a.end, b.start)) for a, b in itertools.pairwise(toks)]
    return [*gaps, True]


def _prefer_landmark(mention: _Mention, toks: Sequence[_Token]) -> None:
    """'pantai di Lasiana', 'Pasar Oesapa', 'Lasiana beach': the landmark inside the kelurahan."""
    index = by_id()
    type_words: set[str] = set()
    k = mention.start - 1
    if k >= 0 and toks[k].norm == "di":
        k -= 1
    if k >= 0 and toks[k].norm in _TYPE_BEFORE:
        type_words.add(toks[k].norm)
    after = [t.norm for t in toks[mention.end : mention.end + 2]]
    if after and after[0] in _TYPE_AFTER:
        type_words.add(_TYPE_AFTER[after[0]])
    if after[:1] == ["pung"] and len(after) == 2 and after[1] in _TYPE_BEFORE:
        type_words.add(after[1])  # Kupang Malay "Klapa Lima pung pante"
    if not type_words:
        return
    named = tuple(t.norm for t in toks[mention.start : mention.end])
    for word in sorted(type_words):  # a landmark called so: "pante di Nunhila" is Pantai Nunhila
        entries = _index().get((word, *named))
        if entries:
            mention.candidates = [e.place_id for e in entries]
            return
    for pid in mention.candidates:
        parent = index[pid]
        if parent.kind not in VILLAGE_KINDS:
            continue
        parent_words = _name_words(parent)
        fitting = [
            (_naming(child, parent_words), order, child.id)
            for order, child in enumerate(places())
            if child.parent_id == parent.id
            and child.kind in LANDMARK_KINDS
            and type_words <= _name_words(child)
        ]
        if fitting:  # several beaches in one kelurahan: the one called after it (Pantai Oesapa)
            mention.candidates = [min(fitting)[2]]
            return


def _naming(child: Place, parent_words: set[str]) -> int:
    """0: named after its kelurahan (Pantai Oesapa), 1: partly (Pantai Warna Oesapa), 2: not."""
    own = set(normalize(child.name).split()) - _GENERIC
    if own and own <= parent_words:
        return 0
    return 1 if parent_words & _name_words(child) else 2


def _name_words(place: Place) -> set[str]:
    return {w for name in (place.name, *place.aliases) for w in normalize(name).split()}


def _salience(place: Place, mention: _Mention, cue: str, others: set[str], count: int) -> float:
    """How likely this mention is the story's place (rule in the module docstring)."""
    cue_bonus = 2.0 if cue in STRONG_CUES else 0.5 if cue in WEAK_CUES else 0.0
    ancestor_named = any(a.id in others for a in ancestors(place))
    return (
        rank(place)
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


def choose_place(text: str) -> tuple[Place, str] | None:
    """The most specific, most salient place named in the text with its evidence, or None."""
    mentions = _find_mentions(text)
    # "NTT" alone says nothing about where: a province-wide story has no place on the map
    for mention in mentions:
        mention.candidates = [p for p in mention.candidates if by_id()[p].kind != "provinsi"]
    chosen = _choose([m for m in mentions if m.candidates], text)
    if chosen is None:
        return None
    place, mention = chosen
    return place, mention.text + (" (fuzzy)" if mention.fuzzy else "")
