"""The learned half of the theme tagger: a linear model over character n-grams and words.

One logistic regression per theme (one-vs-rest), trained by `scripts/train-tagger`
(`pipeline/theme_training.py`, scikit-learn) and shipped as package data
(`pipeline/data/theme-model.npz`: vocabulary, idf, coefficients, per-theme thresholds). Scoring
here needs only numpy: no pickle, no scikit-learn at run time.

Features of a text (`text_features`), all from `theme_rules.tokenize` (lower case, reduplication
collapsed):
- character n-grams of 2-5 letters inside each word padded with spaces (`c: ban`), so spelling
  variants and affixes share features ("gigit", "digigit", "gigi");
- words (`w:ombak`), and words shortly after a negator in the same clause marked as negated
  (`n:banjir` in "sonde banjir lai"), the rules' own negation;
- word pairs (`b:su makan`);
- the rules' strength per theme (`rules:abrasi`, 0-1), so the model learns how far to trust them,
  and the strength of each theme's terms the rules found only negated (`rules:negated:abrasi`),
  so "sumur sonde asin" counts against a dry-well story.
Term frequencies are sublinear (1 + ln count), weighted by idf and scaled to unit length; the
rule strengths are multiplied by their own entry in the idf array, the rule weight training
chose (a smaller weight makes the model lean less on the rules).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from core.errors import ConfigError
from pipeline.theme_rules import RuleHit, negated, rule_strength, rules, tokenize

ARTEFACT = "data/theme-model.npz"
CHAR_NGRAMS = (2, 5)
RULE_PREFIX = "rules:"
NEGATED_PREFIX = RULE_PREFIX + "negated:"  # taken as it is, like the rules' strength

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Features:
    """A text's feature counts and, per feature, the indexes of the words it came from."""

    counts: dict[str, float]
    owners: dict[str, tuple[int, ...]]
    words: tuple[tuple[int, int], ...]  # character span of each word


def _char_ngrams(word: str) -> list[str]:
    padded = f" {word} "
    low, high = CHAR_NGRAMS
    return [
        padded[i : i + n] for n in range(low, high + 1) for i in range(max(1, len(padded) - n + 1))
    ]


def text_features(
    text: str, hits: Sequence[RuleHit], negations: Mapping[str, float] | None = None
) -> Features:
    """The model's features of a text, given the rules' hits on it and the weight of each
    theme's terms found only negated (see the module docstring)."""
    r = rules()
    toks = tokenize(text, r.clause_breaks)
    counts: dict[str, float] = {}
    owners: dict[str, list[int]] = {}  # word indexes, ascending, each once

    def own(feature: str, word: int) -> None:
        owned = owners.get(feature)
        if owned is None:
            owners[feature] = [word]
        elif owned[-1] != word:  # words come in order: a repeat is always the last one
            owned.append(word)

    def add(feature: str, word: int) -> None:
        counts[feature] = counts.get(feature, 0.0) + 1.0
        own(feature, word)

    for i, tok in enumerate(toks):
        for gram in _char_ngrams(tok.word):
            add("c:" + gram, i)
        add(("n:" if negated(toks, i, r) else "w:") + tok.word, i)
        if i + 1 < len(toks):
            pair = f"b:{tok.word} {toks[i + 1].word}"
            add(pair, i)
            own(pair, i + 1)
    for hit in hits:
        counts[RULE_PREFIX + hit.slug] = rule_strength(hit.raw)
    for slug, weight in (negations or {}).items():
        counts[NEGATED_PREFIX + slug] = rule_strength(weight)
    return Features(
        counts=counts,
        owners={f: tuple(o) for f, o in owners.items()},
        words=tuple((t.start, t.end) for t in toks),
    )


def vectorize(
    features: Features, vocabulary: dict[str, int], idf: FloatArray | Sequence[float]
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Indexes and values of the known features: tf-idf of the text's features scaled to unit
    length, then the rule strengths times their weight (their idf entry)."""
    text_idx: list[int] = []
    text_vals: list[float] = []
    rule_idx: list[int] = []
    rule_vals: list[float] = []
    get, log = vocabulary.get, math.log
    for feature, count in features.counts.items():
        j = get(feature)
        if j is None:
            continue
        if feature.startswith(RULE_PREFIX):
            rule_idx.append(j)
            rule_vals.append(count * float(idf[j]))
        else:
            text_idx.append(j)
            text_vals.append((1.0 + log(count)) * float(idf[j]))
    tfidf = np.asarray(text_vals, dtype=np.float64)
    norm = float(np.sqrt(np.sum(tfidf**2))) or 1.0
    return (
        np.asarray(text_idx + rule_idx, dtype=np.int64),
        np.concatenate([tfidf / norm, np.asarray(rule_vals, dtype=np.float64)]),
    )


@dataclass(frozen=True)
class ThemeModel:
    """A trained model: vocabulary, idf, coefficients (features x themes), thresholds."""

    version: str
    slugs: tuple[str, ...]
    vocabulary: dict[str, int]
    idf: FloatArray
    coef: FloatArray
    intercept: FloatArray
    thresholds: FloatArray
    meta: dict[str, Any]
    rules_or: bool = False  # a theme the rules alone give is given whatever the probability

    @cached_property
    def _idf_list(self) -> list[float]:
        # a Python list: indexing it is several times faster than indexing the array
        return [float(v) for v in self.idf]

    def vector(self, features: Features) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """Indexes and values of the text's known features (see `vectorize`)."""
        return vectorize(features, self.vocabulary, self._idf_list)

    def probabilities(self, features: Features) -> FloatArray:
        """Per theme (in `slugs` order) the model's probability that the text is about it."""
        idx, vals = self.vector(features)
        z = self.intercept + vals @ self.coef[idx]
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def word_weights(self, features: Features, theme: int) -> FloatArray:
        """How much each word of the text pushed towards one theme (sum of its features)."""
        idx, vals = self.vector(features)
        out = np.zeros(len(features.words))
        by_index = {j: k for k, j in enumerate(idx.tolist())}
        for feature, owner in features.owners.items():
            j = self.vocabulary.get(feature)
            if j is None or not owner:
                continue
            share = vals[by_index[j]] * float(self.coef[j, theme]) / len(owner)
            for word in owner:
                out[word] += share
        return out


def artefact_bytes() -> bytes:
    """The shipped artefact as bytes."""
    return resources.files("pipeline").joinpath(ARTEFACT).read_bytes()


def load_model(data: bytes) -> ThemeModel:
    """Read a model artefact (an .npz without pickles), checking it fits the taxonomy."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
        vocabulary = [str(v) for v in npz["vocabulary"]]
        model = ThemeModel(
            version=str(meta["version"]),
            slugs=tuple(meta["slugs"]),
            vocabulary={feature: i for i, feature in enumerate(vocabulary)},
            idf=np.asarray(npz["idf"], dtype=np.float64),
            coef=np.asarray(npz["coef"], dtype=np.float64),
            intercept=np.asarray(npz["intercept"], dtype=np.float64),
            thresholds=np.asarray(npz["thresholds"], dtype=np.float64),
            meta=meta,
            rules_or="rules_or" in npz.files and bool(npz["rules_or"]),
        )
    if model.coef.shape != (len(vocabulary), len(model.slugs)):
        raise ConfigError(f"{ARTEFACT}: coefficients do not match the vocabulary")
    return model


@cache
def model() -> ThemeModel:
    """The shipped model (loaded once per process)."""
    return load_model(artefact_bytes())


def model_version() -> str:
    """The version of the shipped model (`lr-` and the start of its arrays' SHA-256)."""
    return model().version


def arrays_digest(arrays: dict[str, npt.NDArray[Any]]) -> str:
    """SHA-256 over the arrays' names, shapes and bytes, in name order (the model's identity)."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
