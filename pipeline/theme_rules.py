"""Climate theme rules of the taxonomy file (`core/data/taxonomy.toml`): terms, negation, scores.

`pipeline.themes` combines them with the learned model; `tag_rules()` is the rules alone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from core import taxonomy
from core.errors import ConfigError
from pipeline.safety import is_spam

_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
_CLAUSE_PUNCT = re.compile(r"[.,;:!?()\n]")
_PARTICLES = ("nya", "lah", "kah", "pun", "ku", "mu")
_SUFFIXES = ("kan", "an", "i")
# prefix -> what the stem may start with instead (nasal assimilation: menanam -> tanam)
_PREFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("meng", ("", "k")),
    ("meny", ("s",)),
    ("mem", ("", "p")),
    ("men", ("", "t")),
    ("me", ("",)),
    ("peng", ("", "k")),
    ("peny", ("s",)),
    ("pem", ("", "p")),
    ("pen", ("", "t")),
    ("per", ("",)),
    ("pe", ("",)),
    ("ber", ("", "r")),
    ("be", ("",)),
    ("ter", ("", "r")),
    ("te", ("",)),
    ("di", ("",)),
    ("ke", ("",)),
)  # no se-: it would turn "sekarang" into "karang"
MIN_STEM = 3


@dataclass(frozen=True, slots=True)
class Evidence:
    """Words that suggested a theme: where they are, whether typed or spoken, and to whom."""

    text: str
    start: int  # character span in the text that was tagged
    end: int
    source: str = "text"  # "text" (typed) or "speech" (a voice note's transcript)
    by: str = "rules"  # "rules" (a taxonomy term) or "model" (the words the model leaned on)


@dataclass(frozen=True, slots=True)
class ThemeTag:
    """One theme with its score (0-1) and the words that triggered it."""

    slug: str
    score: float
    evidence: tuple[str, ...]
    by: str = "rules"  # "rules", "model" or "rules+model": who chose the theme
    items: tuple[Evidence, ...] = ()  # the evidence with spans and sources


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A theme's summed rule weight in a text and where its terms matched (character spans)."""

    slug: str
    raw: float
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class _Rule:
    slug: str
    terms: tuple[tuple[tuple[str, ...], float], ...]
    negatable: frozenset[tuple[str, ...]]
    exclude: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class _Rules:
    version: str
    min_score: float
    relative_cutoff: float
    max_themes: int
    repeat_weight: float
    negation_window: int
    negators: frozenset[str]
    clause_breaks: frozenset[str]
    themes: tuple[_Rule, ...]


@dataclass(frozen=True, slots=True)
class Tok:
    """A word of a text: lower case, its candidate stems, clause number and character span."""

    word: str  # lower case, reduplication collapsed
    stems: frozenset[str]
    clause: int
    start: int
    end: int


def _word_forms(raw: str) -> list[str]:
    """Lower-cased words of one written token: 'rumah-rumah' -> ['rumah'], 'clean-up' -> 2."""
    word = raw.lower()
    word = re.sub(r"(?<=[a-z])2$", "", word)  # anak2 -> anak
    parts = word.split("-")
    if len(parts) == 2 and parts[0] == parts[1]:
        return [parts[0]]
    if len(parts) == 2 and parts[1].startswith(parts[0]):  # sayur-sayuran, rame-ramenya
        return [parts[0]]
    return [p for p in parts if p]


@cache
def stems(word: str) -> frozenset[str]:
    """Candidate stems of a lower-case word, by stripping Indonesian affixes."""
    bases = {word}
    for particle in _PARTICLES:
        if word.endswith(particle) and len(word) - len(particle) >= MIN_STEM:
            bases.add(word[: -len(particle)])
    for base in list(bases):
        for suffix in _SUFFIXES:
            if base.endswith(suffix) and len(base) - len(suffix) >= MIN_STEM:
                bases.add(base[: -len(suffix)])
    # English inflections (boats, flooded, planting): extra candidates, Indonesian terms rarely
    # end in a form these could produce
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            bases.add(word[: -len(suffix)])
    out = set(bases)
    for _ in range(2):  # two layers: di-per-, ke-ber-, mem-per-
        for base in list(out):
            for prefix, restores in _PREFIXES:
                if base.startswith(prefix):
                    rest = base[len(prefix) :]
                    for restore in restores:
                        stem = restore + rest
                        if len(stem) >= MIN_STEM:
                            out.add(stem)
    return frozenset(out)


def tokenize(text: str, clause_breaks: frozenset[str] = frozenset()) -> list[Tok]:
    """The words of a text with stems and clause numbers (punctuation and `clause_breaks` split)."""
    return list(_tokenize(text, clause_breaks))


@lru_cache(maxsize=64)  # the rules and the model read the same text one after the other
def _tokenize(text: str, clause_breaks: frozenset[str]) -> tuple[Tok, ...]:
    toks: list[Tok] = []
    clause = 0
    last_end = 0
    for m in _WORD.finditer(text):
        if _CLAUSE_PUNCT.search(text[last_end : m.start()]):
            clause += 1
        last_end = m.end()
        for form in _word_forms(m.group()):
            if form in clause_breaks:
                clause += 1
            toks.append(Tok(form, stems(form) | {form}, clause, m.start(), m.end()))
    return tuple(toks)


def _phrase(term: str) -> tuple[str, ...]:
    return tuple(t.word for t in tokenize(term))


@cache
def rules() -> _Rules:
    """The tagger's rules from the taxonomy file (loaded once)."""
    return parse_rules(taxonomy.data())


def parse_rules(data: dict[str, Any]) -> _Rules:
    """Build rules from the parsed taxonomy file (a theme the taxonomy lacks is refused)."""
    settings = data["settings"]
    themes = []
    for slug, body in data["themes"].items():
        if not taxonomy.is_theme(slug):
            raise ConfigError(f"taxonomy.toml: unknown theme {slug!r}")
        themes.append(
            _Rule(
                slug=slug,
                terms=tuple((_phrase(t), float(w)) for t, w in body["terms"].items() if w > 0),
                negatable=frozenset(_phrase(t) for t in body.get("negatable", [])),
                exclude=tuple(_phrase(t) for t in body.get("exclude", [])),
            )
        )
    return _Rules(
        version=str(data["version"]),
        min_score=float(settings["min_score"]),
        relative_cutoff=float(settings["relative_cutoff"]),
        max_themes=int(settings["max_themes"]),
        repeat_weight=float(settings["repeat_weight"]),
        negation_window=int(settings["negation_window"]),
        negators=frozenset(settings["negators"]),
        clause_breaks=frozenset(settings["clause_breaks"]),
        themes=tuple(themes),
    )


def rules_version() -> str:
    """The version string of the rules file in use."""
    return rules().version


def _positions(toks: list[Tok]) -> dict[str, list[int]]:
    """Where each word or stem of the text stands (so a term is looked up, not searched for)."""
    out: dict[str, list[int]] = {}
    for i, tok in enumerate(toks):
        for form in tok.stems:
            out.setdefault(form, []).append(i)
    return out


def _matches(toks: list[Tok], at: dict[str, list[int]], phrase: tuple[str, ...]) -> list[int]:
    """Start indexes where the phrase occurs (each word matching a token or one of its stems)."""
    if not phrase:
        return []
    n = len(phrase)
    return [
        i
        for i in at.get(phrase[0], ())
        if i + n <= len(toks) and all(phrase[k] in toks[i + k].stems for k in range(1, n))
    ]


def negated(toks: list[Tok], i: int, r: _Rules) -> bool:
    """Whether a negator stands shortly before word `i` in the same clause ("sonde banjir")."""
    for k in range(max(0, i - r.negation_window), i):
        if toks[k].word in r.negators and toks[k].clause == toks[i].clause:
            return True
    return False


def _score(raw: float) -> float:
    return round(1 - math.exp(-raw / 4), 2)


def rule_hits(text: str) -> list[RuleHit]:
    """Every theme whose terms occur in the text (negated and excluded uses not counted)."""
    return scan_rules(text)[0]


def scan_rules(text: str) -> tuple[list[RuleHit], dict[str, float]]:
    """The rule hits of `rule_hits` and, per theme, the summed weight of its terms that occur
    only negated ("sonde asin": the rules' own reading, a feature of the model)."""
    r = rules()
    toks = tokenize(text, r.clause_breaks)
    at = _positions(toks)
    hits: list[RuleHit] = []
    negations: dict[str, float] = {}
    for rule in r.themes:
        excluded: set[int] = set()
        for phrase in rule.exclude:
            if phrase and phrase[0] not in at:
                continue  # most terms are absent: skip them before any matching
            for i in _matches(toks, at, phrase):
                excluded.update(range(i, i + len(phrase)))
        raw = 0.0
        spans: list[tuple[int, int]] = []
        # each term counts once (plus a little per repeat); a phrase adds to its words' weight
        for phrase, weight in rule.terms:
            if phrase and phrase[0] not in at:
                continue
            found = [
                i
                for i in _matches(toks, at, phrase)
                if not excluded.intersection(range(i, i + len(phrase)))
            ]
            counted = [i for i in found if not (phrase in rule.negatable and negated(toks, i, r))]
            if found and not counted:
                negations[rule.slug] = negations.get(rule.slug, 0.0) + weight
            if not counted:
                continue
            raw += weight * (1 + r.repeat_weight * (len(counted) - 1))
            first = counted[0]
            spans.append((toks[first].start, toks[first + len(phrase) - 1].end))
        if raw > 0:
            hits.append(RuleHit(rule.slug, raw, tuple(dict.fromkeys(spans))))
    return hits, negations


def rule_strength(raw: float) -> float:
    """A rule sum as a 0-1 score: `1 - exp(-raw / 4)`."""
    return _score(raw)


def chosen_by_rules(hits: list[RuleHit]) -> list[RuleHit]:
    """The hits the rules alone keep: sum >= min_score and >= relative_cutoff x best, at most 3."""
    r = rules()
    ranked = sorted(hits, key=lambda h: -h.raw)
    if not ranked:
        return []
    best = ranked[0].raw
    kept = [h for h in ranked if h.raw >= r.min_score and h.raw >= r.relative_cutoff * best]
    return kept[: r.max_themes]


def tag_rules(text: str) -> list[ThemeTag]:
    """0-3 themes by the rules alone, best first; none for spam and off-topic messages."""
    if not text.strip() or is_spam(text):
        return []
    tags = []
    for hit in chosen_by_rules(rule_hits(text)):
        items = tuple(Evidence(text[a:b], a, b) for a, b in hit.spans)
        words = tuple(dict.fromkeys(item.text for item in items))
        tags.append(ThemeTag(hit.slug, _score(hit.raw), words, "rules", items))
    return tags
