"""Training of the theme model (`scripts/train-tagger`): development only, needs scikit-learn.

Train on the `train` split of the labelled stories, choose each theme's threshold on `dev` for
the best F1 (so macro-F1), never look at `heldout`. The artefact is an .npz written with fixed
zip timestamps, so the same data, code and library versions give the same bytes.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from core import taxonomy
from pipeline.safety import is_spam
from pipeline.theme_model import (
    RULE_PREFIX,
    Features,
    FloatArray,
    arrays_digest,
    text_features,
    vectorize,
)
from pipeline.theme_rules import rule_hits, rules_version

SEED = 14
C = 8.0  # inverse regularisation strength, chosen by 5-fold cross-validation on `train`
MIN_DF = 2  # a text feature must occur in at least this many training stories
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)


@dataclass(frozen=True)
class Trained:
    """A trained model's arrays and what the training saw."""

    arrays: dict[str, npt.NDArray[Any]]
    meta: dict[str, Any]


def featurize(texts: Sequence[str]) -> list[Features]:
    """The model features of each text (the rules run once per text)."""
    return [text_features(text, rule_hits(text)) for text in texts]


def labels(rows: Sequence[dict[str, Any]], slugs: Sequence[str]) -> npt.NDArray[np.int64]:
    """Rows x themes matrix of 0/1 labels."""
    return np.array([[int(s in row["themes"]) for s in slugs] for row in rows], dtype=np.int64)


def vocabulary_of(
    features: Sequence[Features], slugs: Sequence[str]
) -> tuple[list[str], FloatArray]:
    """Text features in at least MIN_DF stories (sorted) plus one per theme's rules; their idf."""
    df: dict[str, int] = {}
    for f in features:
        for name in f.counts:
            if not name.startswith(RULE_PREFIX):
                df[name] = df.get(name, 0) + 1
    vocab = sorted(name for name, n in df.items() if n >= MIN_DF)
    n = len(features)
    idf = [np.log((1 + n) / (1 + df[name])) + 1.0 for name in vocab]
    vocab += [RULE_PREFIX + slug for slug in slugs]
    idf += [1.0] * len(slugs)
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


def fit(x: Any, y: npt.NDArray[np.int64], c: float = C) -> tuple[FloatArray, FloatArray]:
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


def cross_validated_c(
    features: Sequence[Features], y: npt.NDArray[np.int64], grid: Sequence[float]
) -> dict[float, float]:
    """Mean macro-F1 at 0.5 over 5 folds of `train` for each C (how C was chosen)."""
    rng = np.random.default_rng(SEED)
    fold = rng.permutation(len(features)) % 5
    out = {}
    for c in grid:
        scores = []
        for k in range(5):
            tr = [f for f, i in zip(features, fold, strict=True) if i != k]
            te = [f for f, i in zip(features, fold, strict=True) if i == k]
            vocab, idf = vocabulary_of(tr, taxonomy.slugs())
            coef, icpt = fit(matrix(tr, vocab, idf), y[fold != k], c)
            p = probabilities(matrix(te, vocab, idf), coef, icpt) >= 0.5
            want = y[fold == k]
            scores.append(np.mean([f1(p[:, t], want[:, t]) for t in range(y.shape[1])]))
        out[c] = float(np.mean(scores))
    return out


def train(rows: Sequence[dict[str, Any]]) -> Trained:
    """Train on `train`, thresholds on `dev` (spam rows count as no theme, as at run time)."""
    slugs = taxonomy.slugs()
    train_rows = [r for r in rows if r["split"] == "train"]
    dev_rows = [r for r in rows if r["split"] == "dev"]
    train_f = featurize([r["text"] for r in train_rows])
    vocab, idf = vocabulary_of(train_f, slugs)
    coef, intercept = fit(matrix(train_f, vocab, idf), labels(train_rows, slugs))
    dev_x = matrix(featurize([r["text"] for r in dev_rows]), vocab, idf)
    dev_p = probabilities(dev_x, coef, intercept)
    dev_p[[is_spam(r["text"]) for r in dev_rows]] = 0.0
    thresholds = choose_thresholds(dev_p, labels(dev_rows, slugs))
    arrays: dict[str, npt.NDArray[Any]] = {
        "vocabulary": np.array(vocab, dtype=np.str_),
        "idf": idf.astype(np.float32),
        "coef": coef.astype(np.float32),
        "intercept": intercept.astype(np.float32),
        "thresholds": thresholds.astype(np.float32),
    }
    meta = {
        "version": "lr-" + arrays_digest(arrays)[:12],
        "slugs": list(slugs),
        "rules_version": rules_version(),
        "trained_on": {"train": len(train_rows), "dev (thresholds)": len(dev_rows)},
        "features": "char_wb 2-5, words (negation-marked), word pairs, rule strength per theme",
        "classifier": f"LogisticRegression(C={C}, liblinear, balanced), one per theme",
        "seed": SEED,
        "min_df": MIN_DF,
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
