"""Climate themes of a story: the taxonomy's rules and the learned model, together.

The rules (`pipeline.theme_rules`, terms in `core/data/taxonomy.toml`) know the words the
coalition listed and their negation; the model (`pipeline.theme_model`) generalises beyond
them from the labelled stories and takes the rules' strength per theme as features. A theme is
given when the model's probability reaches that theme's threshold (chosen by cross-validation on
the train and dev splits, see `pipeline.theme_training`), or, if the artefact says `rules_or`,
when the rules alone give it; best first by probability over threshold, at most three; spam
gets none.

Evidence a moderator sees: the rule terms that matched, and for a theme the rules did not find,
the words that pushed the model towards it most. A voice note's transcript is tagged with the
typed text; evidence found in it says `source: "speech"`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.safety import is_spam
from pipeline.theme_model import FloatArray, model, model_version, text_features
from pipeline.theme_rules import (
    Evidence,
    RuleHit,
    ThemeTag,
    chosen_by_rules,
    rules,
    rules_version,
    scan_rules,
    tag_rules,
)

__all__ = [
    "Evidence",
    "ThemeTag",
    "rules_version",
    "tag_rules",
    "tag_themes",
    "tagger_version",
]

SPEECH_SEPARATOR = "\n\n"
MODEL_EVIDENCE_WORDS = 3
MODEL_EVIDENCE_SHARE = 0.25  # a word must weigh at least this share of the strongest word


@dataclass(frozen=True, slots=True)
class _Document:
    text: str
    speech_from: int  # offset where the transcript starts (len(text) + 1 when there is none)

    def source(self, start: int) -> str:
        return "speech" if start >= self.speech_from else "text"

    def local(self, start: int, end: int) -> tuple[int, int]:
        """A span relative to the part (typed text or transcript) it lies in."""
        if start >= self.speech_from:
            return start - self.speech_from, end - self.speech_from
        return start, end


def _document(text: str, transcript: str | None) -> _Document:
    if not transcript or not transcript.strip():
        return _Document(text, len(text) + 1)
    if not text.strip():
        return _Document(transcript, 0)
    return _Document(text + SPEECH_SEPARATOR + transcript, len(text) + len(SPEECH_SEPARATOR))


def tagger_version() -> str:
    """The version stored with a story's tags: rules and model (`rules 2026.11.1 + lr-…`)."""
    return f"rules {rules_version()} + {model_version()}"


def tag_themes(text: str, *, transcript: str | None = None) -> list[ThemeTag]:
    """0-3 climate themes for a story (typed text and/or a voice transcript), best first."""
    doc = _document(text, transcript)
    if not doc.text.strip() or is_spam(doc.text):
        return []
    found, negations = scan_rules(doc.text)
    hits = {hit.slug: hit for hit in found}
    features = text_features(doc.text, found, negations)
    m = model()
    probs = m.probabilities(features)
    margin = probs / m.thresholds
    forced = {h.slug for h in chosen_by_rules(list(hits.values()))} if m.rules_or else set()
    chosen = [
        t
        for t in np.argsort(-margin, kind="stable")
        if probs[t] >= m.thresholds[t] or m.slugs[t] in forced
    ]
    tags = []
    for t in chosen[: rules().max_themes]:
        slug = m.slugs[t]
        hit = hits.get(slug)
        if hit is not None:
            items = _rule_evidence(doc, hit)
        else:
            items = _model_evidence(doc, m.word_weights(features, int(t)), features.words)
        by = "rules+model" if hit is not None else "model"
        words = tuple(dict.fromkeys(item.text for item in items))
        tags.append(ThemeTag(slug, round(float(probs[t]), 2), words, by, items))
    return tags


def _rule_evidence(doc: _Document, hit: RuleHit) -> tuple[Evidence, ...]:
    return tuple(_evidence(doc, start, end, "rules") for start, end in hit.spans)


def _model_evidence(
    doc: _Document, weights: FloatArray, words: tuple[tuple[int, int], ...]
) -> tuple[Evidence, ...]:
    """The words that pushed the model towards a theme most (first occurrence of each)."""
    if not len(weights) or weights.max() <= 0:
        return ()
    floor = MODEL_EVIDENCE_SHARE * float(weights.max())
    seen: set[str] = set()
    items: list[Evidence] = []
    for w in np.argsort(-weights, kind="stable"):
        if weights[w] < floor or len(items) == MODEL_EVIDENCE_WORDS:
            break
        start, end = words[w]
        if doc.text[start:end].lower() in seen:
            continue
        seen.add(doc.text[start:end].lower())
        items.append(_evidence(doc, start, end, "model"))
    return tuple(sorted(items, key=lambda e: (e.source, e.start)))


def _evidence(doc: _Document, start: int, end: int, by: str) -> Evidence:
    local_start, local_end = doc.local(start, end)
    return Evidence(doc.text[start:end], local_start, local_end, doc.source(start), by)
