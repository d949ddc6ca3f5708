"""Theme macro-F1 and place accuracy of the tagger on a labelled set (JSON lines)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import taxonomy
from pipeline.places import resolve_place
from pipeline.themes import tag_themes


@dataclass(frozen=True, slots=True)
class Figures:
    """Evaluation figures for one subset of the labelled set."""

    n: int
    macro_f1: float
    place_accuracy: float
    per_theme_f1: dict[str, float]


def load_labelled(path: Path) -> list[dict[str, Any]]:
    """Read the labelled stories (id, text, themes, place, split)."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def evaluate(rows: Iterable[dict[str, Any]]) -> Figures:
    """Macro-F1 over the 13 themes and exact place-id accuracy (None must match None)."""
    themes = taxonomy.slugs()
    tp = dict.fromkeys(themes, 0)
    fp = dict.fromkeys(themes, 0)
    fn = dict.fromkeys(themes, 0)
    places_ok = n = 0
    for row in rows:
        n += 1
        want = set(row["themes"])
        got = {tag.slug for tag in tag_themes(row["text"])}
        for slug in themes:
            tp[slug] += slug in want and slug in got
            fp[slug] += slug in got and slug not in want
            fn[slug] += slug in want and slug not in got
        place = resolve_place(chat_point=None, photo_points=(), text=row["text"])
        places_ok += (place.id if place else None) == row["place"]
    per_theme = {}
    for slug in themes:
        denom = 2 * tp[slug] + fp[slug] + fn[slug]
        per_theme[slug] = 1.0 if denom == 0 else 2 * tp[slug] / denom
    return Figures(
        n=n,
        macro_f1=sum(per_theme.values()) / len(per_theme),
        place_accuracy=places_ok / n if n else 0.0,
        per_theme_f1=per_theme,
    )
