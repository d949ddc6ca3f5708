"""Training of the theme model (`scripts/train-tagger`): development only, needs scikit-learn.

Every choice is made by cross-validation on `train` + `dev` together (5 folds, repeated with
different shuffles): the weight of the rules' strength features, the regularisation C, the
per-theme thresholds (each theme's best-F1 threshold on the out-of-fold probabilities, shrunk
towards one shared threshold by a weight that is itself chosen by cross-validation over the
folds) and whether a theme the rules alone would give is kept whatever the model says. The
shipped model is then refit on all of `train` + `dev`. `heldout` is never read. The artefact is
an .npz written with fixed zip timestamps, so the same data, code and library versions give the
same bytes.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import sklearn
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from core import taxonomy
from pipeline.safety import is_spam
from pipeline.theme_model import (
    NEGATED_PREFIX,
    RULE_PREFIX,
    Features,
    FloatArray,
    arrays_digest,
    text_features,
    vectorize,
)
from pipeline.theme_rules import chosen_by_rules, rule_hits, rules_version, scan_rules

SEED = 14
C_GRID = (4.0, 8.0, 16.0, 32.0, 64.0, 128.0)  # inverse regularisation strengths tried
# How far a theme's own best threshold is trusted: weight n / (n + k) for a theme with n
# positive stories, the rest going to the shared threshold (k = 0: own only; inf: shared only)
SHRINK_GRID = (0.0, 10.0, 30.0, 100.0, math.inf)
# Weight of the rules' strength features against the unit-length text features (1: as they are)
RULE_WEIGHT_GRID = (1.0, 0.5, 0.25, 0.15)
FOLDS = 5
REPEATS = 2
# chosen by `cross_validate` (scripts/train-tagger --cv; README "Figures"), the fourth round's
# full grid on 1,785 stories: rule weight 0.25, C = 16, one shared threshold (0.8684)
CHOSEN_C = 16.0
CHOSEN_SHRINK = math.inf  # one shared threshold: per-theme offsets did not help out of fold
CHOSEN_RULES_OR = False
CHOSEN_RULE_WEIGHT = 0.25  # the rules at a quarter of their strength (0.868 against 0.853)
TIE = 0.001  # scores closer than this to the best are a tie, won by the smallest C (`best`)
MIN_DF = 2  # a text feature must occur in at least this many training stories
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Trained:
    """A trained model's arrays and what the training saw."""

    arrays: dict[str, npt.NDArray[Any]]
    meta: dict[str, Any]


@dataclass(frozen=True)
class Choice:
    """One configuration tried by cross-validation and its mean out-of-fold macro-F1."""

    c: float
    shrink: float
    rules_or: bool
    macro_f1: float
    rule_weight: float = 1.0


def featurize(texts: Sequence[str]) -> list[Features]:
    """The model features of each text (the rules run once per text)."""
    return [text_features(text, *scan_rules(text)) for text in texts]


def labels(rows: Sequence[dict[str, Any]], slugs: Sequence[str]) -> npt.NDArray[np.int64]:
    """Rows x themes matrix of 0/1 labels."""
    return np.array([[int(s in row["themes"]) for s in slugs] for row in rows], dtype=np.int64)


def vocabulary_of(
    features: Sequence[Features], slugs: Sequence[str], rule_weight: float = CHOSEN_RULE_WEIGHT
) -> tuple[list[str], FloatArray]:
    """Text features in at least MIN_DF stories (sorted) plus one per theme's rules; their idf
    (for the rules' features: `rule_weight`)."""
    df: dict[str, int] = {}
    for f in features:
        for name in f.counts:
            if not name.startswith(RULE_PREFIX):
                df[name] = df.get(name, 0) + 1
    vocab = sorted(name for name, n in df.items() if n >= MIN_DF)
    n = len(features)
    idf = [np.log((1 + n) / (1 + df[name])) + 1.0 for name in vocab]
    vocab += [RULE_PREFIX + slug for slug in slugs] + [NEGATED_PREFIX + slug for slug in slugs]
    idf += [rule_weight] * 2 * len(slugs)
    return vocab, np.asarray(idf, dtype=np.float64)


def matrix(features: Sequence[Features], vocab: Sequence[str], idf: FloatArray) -> Any:
    """Sparse rows x features matrix, exactly as `ThemeModel.vector` computes at run time."""
    index = {name: i for i, name in enumerate(vocab)}
    rows, cols, vals = [], [], []
    for r, f in enumerate(features):
        idx, values = vectorize(f, index, idf)
        rows += [r] * len(idx)
        cols += idx.tolist()
        vals += values.tolist()
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(features), len(vocab)))


def fit(x: Any, y: npt.NDArray[np.int64], c: float) -> tuple[FloatArray, FloatArray]:
    """One logistic regression per theme: coefficients (features x themes) and intercepts."""
    coefs, intercepts = [], []
    for t in range(y.shape[1]):
        clf = LogisticRegression(
            C=c, solver="liblinear", class_weight="balanced", random_state=SEED, max_iter=1000
        )
        clf.fit(x, y[:, t])
        coefs.append(clf.coef_[0])
        intercepts.append(clf.intercept_[0])
    return np.array(coefs, dtype=np.float64).T, np.array(intercepts, dtype=np.float64)


def probabilities(x: Any, coef: FloatArray, intercept: FloatArray) -> FloatArray:
    """Rows x themes probabilities."""
    z = np.asarray(x @ coef) + intercept
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


def f1(got: npt.NDArray[np.bool_], want: npt.NDArray[np.int64]) -> float:
    """F1 of one theme's decisions (1.0 when there is nothing to find and nothing found)."""
    tp = int(np.sum(got & (want == 1)))
    fp = int(np.sum(got & (want == 0)))
    fn = int(np.sum(~got & (want == 1)))
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def choose_thresholds(probs: FloatArray, y: npt.NDArray[np.int64]) -> FloatArray:
    """Per theme, the grid threshold with the best F1 (the middle one of a tie)."""
    out = []
    for t in range(y.shape[1]):
        scores = np.array([f1(probs[:, t] >= th, y[:, t]) for th in THRESHOLD_GRID])
        best = np.flatnonzero(scores == scores.max())
        out.append(float(THRESHOLD_GRID[best[len(best) // 2]]))
    return np.array(out, dtype=np.float64)


def decide(
    probs: FloatArray, thresholds: FloatArray, by_rules: BoolArray, rules_or: bool
) -> BoolArray:
    """The themes given: probability at its threshold, or (with `rules_or`) the rules' own."""
    got = probs >= thresholds
    return got | by_rules if rules_or else got


def macro_f1(got: BoolArray, want: npt.NDArray[np.int64]) -> float:
    """Mean F1 over the themes."""
    return float(np.mean([f1(got[:, t], want[:, t]) for t in range(want.shape[1])]))


def shared_threshold(probs: FloatArray, y: npt.NDArray[np.int64]) -> float:
    """The one grid threshold with the best macro-F1 over all themes (the middle one of a tie)."""
    scores = np.array([macro_f1(probs >= th, y) for th in THRESHOLD_GRID])
    best = np.flatnonzero(scores == scores.max())
    return float(THRESHOLD_GRID[best[len(best) // 2]])


def shrunk_thresholds(probs: FloatArray, y: npt.NDArray[np.int64], shrink: float) -> FloatArray:
    """Each theme's best threshold pulled towards the shared one (see SHRINK_GRID)."""
    own = choose_thresholds(probs, y)
    shared = shared_threshold(probs, y)
    n = y.sum(axis=0).astype(np.float64)
    weight = np.zeros_like(n) if math.isinf(shrink) else n / (n + shrink)
    return np.asarray(np.round(weight * own + (1 - weight) * shared, 3), dtype=np.float64)


def rules_chosen(rows: Sequence[dict[str, Any]], slugs: Sequence[str]) -> BoolArray:
    """Rows x themes: what the rules alone give (`tag_rules`), nothing for spam."""
    out = np.zeros((len(rows), len(slugs)), dtype=np.bool_)
    for r, row in enumerate(rows):
        if is_spam(row["text"]):
            continue
        for hit in chosen_by_rules(rule_hits(row["text"])):
            out[r, slugs.index(hit.slug)] = True
    return out


def fold_of(n: int, repeat: int) -> npt.NDArray[np.int64]:
    """Each story's fold in one repeat (a seeded shuffle)."""
    return np.asarray(np.random.default_rng(SEED + repeat).permutation(n) % FOLDS)


def out_of_fold(
    features: Sequence[Features],
    y: npt.NDArray[np.int64],
    spam: BoolArray,
    c: float,
    repeat: int,
    *,
    rule_weight: float = CHOSEN_RULE_WEIGHT,
) -> FloatArray:
    """Probabilities of each story from a model trained on the other folds (spam: 0)."""
    fold = fold_of(len(features), repeat)
    probs = np.zeros(y.shape, dtype=np.float64)
    for k in range(FOLDS):
        tr = [f for f, i in zip(features, fold, strict=True) if i != k]
        te = [f for f, i in zip(features, fold, strict=True) if i == k]
        vocab, idf = vocabulary_of(tr, taxonomy.slugs(), rule_weight)
        coef, icpt = fit(matrix(tr, vocab, idf), y[fold != k], c)
        probs[fold == k] = probabilities(matrix(te, vocab, idf), coef, icpt)
    probs[spam] = 0.0
    return probs


def _score(
    oof: Sequence[FloatArray],
    y: npt.NDArray[np.int64],
    by_rules: BoolArray,
    shrink: float,
    ro: bool,
) -> float:
    """Macro-F1 with thresholds chosen on the other folds' out-of-fold probabilities."""
    scores = []
    for repeat, probs in enumerate(oof):
        fold = fold_of(len(y), repeat)
        got = np.zeros(y.shape, dtype=np.bool_)
        for k in range(FOLDS):
            inner = fold != k
            th = shrunk_thresholds(probs[inner], y[inner], shrink)
            got[~inner] = decide(probs[~inner], th, by_rules[~inner], ro)
        scores.append(macro_f1(got, y))
    return float(np.mean(scores))


@dataclass(frozen=True)
class _Data:
    features: list[Features]
    y: npt.NDArray[np.int64]
    spam: BoolArray
    by_rules: BoolArray


def _data(rows: Sequence[dict[str, Any]]) -> _Data:
    slugs = taxonomy.slugs()
    return _Data(
        featurize([r["text"] for r in rows]),
        labels(rows, slugs),
        np.array([is_spam(r["text"]) for r in rows], dtype=np.bool_),
        rules_chosen(rows, slugs),
    )


def _oof(data: _Data, c: float, rule_weight: float = CHOSEN_RULE_WEIGHT) -> list[FloatArray]:
    return [
        out_of_fold(data.features, data.y, data.spam, c, r, rule_weight=rule_weight)
        for r in range(REPEATS)
    ]


def cross_validate(rows: Sequence[dict[str, Any]], progress: Any = None) -> list[Choice]:
    """Every rule weight x C x shrink x rules-or on `rows` (train + dev), REPEATS x FOLDS-fold:
    how the constants CHOSEN_* were chosen (`scripts/train-tagger --cv`)."""
    data = _data(rows)
    choices: list[Choice] = []
    for weight in RULE_WEIGHT_GRID:
        for c in C_GRID:
            oof = _oof(data, c, weight)
            for shrink in SHRINK_GRID:
                for ro in (False, True):
                    score = _score(oof, data.y, data.by_rules, shrink, ro)
                    choices.append(Choice(c, shrink, ro, score, weight))
                    if progress is not None:
                        progress(choices[-1])
    return choices


def best(choices: Sequence[Choice]) -> Choice:
    """The choice to ship: within TIE of the best score, the smallest C, then the best score."""
    top = max(ch.macro_f1 for ch in choices)
    return min(
        (ch for ch in choices if ch.macro_f1 >= top - TIE), key=lambda ch: (ch.c, -ch.macro_f1)
    )


def per_theme_figures(
    got: BoolArray, y: npt.NDArray[np.int64]
) -> dict[str, tuple[float, float, float]]:
    """Precision, recall and F1 per theme."""
    out = {}
    for t, slug in enumerate(taxonomy.slugs()):
        tp = int(np.sum(got[:, t] & (y[:, t] == 1)))
        precision = tp / max(1, int(got[:, t].sum()))
        recall = tp / max(1, int(y[:, t].sum()))
        out[slug] = (round(precision, 3), round(recall, 3), round(f1(got[:, t], y[:, t]), 3))
    return out


def train(rows: Sequence[dict[str, Any]]) -> Trained:
    """Refit on all of `rows` (train + dev) with the cross-validated choices (CHOSEN_*); the
    thresholds come from the out-of-fold probabilities, whose figures go into `meta`."""
    slugs = taxonomy.slugs()
    data = _data(rows)
    oof = _oof(data, CHOSEN_C)
    probs = np.mean(oof, axis=0)
    thresholds = shrunk_thresholds(probs, data.y, CHOSEN_SHRINK)
    cv_f1 = _score(oof, data.y, data.by_rules, CHOSEN_SHRINK, CHOSEN_RULES_OR)
    got = decide(probs, thresholds, data.by_rules, CHOSEN_RULES_OR)
    vocab, idf = vocabulary_of(data.features, slugs, CHOSEN_RULE_WEIGHT)
    coef, intercept = fit(matrix(data.features, vocab, idf), data.y, CHOSEN_C)
    arrays: dict[str, npt.NDArray[Any]] = {
        "vocabulary": np.array(vocab, dtype=np.str_),
        "idf": idf.astype(np.float32),
        "coef": coef.astype(np.float32),
        "intercept": intercept.astype(np.float32),
        "thresholds": thresholds.astype(np.float32),
        "rules_or": np.array(CHOSEN_RULES_OR),
    }
    meta = {
        "version": "lr-" + arrays_digest(arrays)[:12],
        "slugs": list(slugs),
        "rules_version": rules_version(),
        "trained_on": {"train + dev": len(rows)},
        "features": "char_wb 2-5, words (negation-marked), word pairs, rule strength and "
        "negated-rule strength per theme",
        "rule_weight": CHOSEN_RULE_WEIGHT,
        "classifier": f"LogisticRegression(C={CHOSEN_C:g}, liblinear, balanced), one per theme",
        "rules_or": CHOSEN_RULES_OR,
        "cross_validation": {
            "folds": FOLDS,
            "repeats": REPEATS,
            "shrink": None if math.isinf(CHOSEN_SHRINK) else CHOSEN_SHRINK,
            "macro_f1": round(cv_f1, 4),
            "rules_alone_macro_f1": round(macro_f1(data.by_rules, data.y), 4),
            "per_theme_out_of_fold": per_theme_figures(got, data.y),
        },
        "seed": SEED,
        "min_df": MIN_DF,
        "sklearn": sklearn.__version__,
    }
    return Trained(arrays=arrays, meta=meta)


def artefact(trained: Trained) -> bytes:
    """The .npz bytes, reproducible: fixed entry order and zip timestamps, no pickles."""
    out = io.BytesIO()
    entries = {**trained.arrays, "meta": np.array(json.dumps(trained.meta, sort_keys=True))}
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(entries):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(entries[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())
    return out.getvalue()
