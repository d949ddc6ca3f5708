"""Figures of the tagger on labelled stories (JSON lines): theme macro-F1, per-theme precision
and recall, place accuracy; the combined tagger beside the rules alone (`scripts/eval-tagging`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import taxonomy
from pipeline.places import resolve_place
from pipeline.theme_rules import ThemeTag
from pipeline.themes import tag_rules, tag_themes

# The labelled stories and their labelling rules (LABELLING.md beside them).
LABELLED = Path(__file__).resolve().parents[1] / "tests" / "data" / "tagging" / "stories.jsonl"

Tagger = Callable[[str], Sequence[ThemeTag]]


@dataclass(frozen=True, slots=True)
class ThemeFigures:
    """Precision, recall and F1 of one theme (1.0 when there was nothing to claim or find)."""

    precision: float
    recall: float
    f1: float
    support: int  # stories labelled with the theme


@dataclass(frozen=True, slots=True)
class Figures:
    """Evaluation figures for one set of labelled stories."""

    n: int
    macro_f1: float
    place_accuracy: float
    per_theme: dict[str, ThemeFigures]

    @property
    def per_theme_f1(self) -> dict[str, float]:
        """F1 per theme."""
        return {slug: fig.f1 for slug, fig in self.per_theme.items()}


def load_labelled(path: Path) -> list[dict[str, Any]]:
    """Read labelled stories (id, text, themes, place; split and lang_mix where known)."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _ratio(num: int, den: int) -> float:
    return num / den if den else 1.0


def evaluate(rows: Iterable[dict[str, Any]], tagger: Tagger = tag_themes) -> Figures:
    """Macro-F1 over the 13 themes and exact place-id accuracy (None must match None)."""
    themes = taxonomy.slugs()
    tp = dict.fromkeys(themes, 0)
    fp = dict.fromkeys(themes, 0)
    fn = dict.fromkeys(themes, 0)
    places_ok = n = 0
    for row in rows:
        n += 1
        want = set(row["themes"])
        got = {tag.slug for tag in tagger(row["text"])}
        for slug in themes:
            tp[slug] += slug in want and slug in got
            fp[slug] += slug in got and slug not in want
            fn[slug] += slug in want and slug not in got
        place = resolve_place(chat_point=None, photo_points=(), text=row["text"])
        places_ok += (place.id if place else None) == row["place"]
    per_theme = {
        slug: ThemeFigures(
            precision=_ratio(tp[slug], tp[slug] + fp[slug]),
            recall=_ratio(tp[slug], tp[slug] + fn[slug]),
            f1=_ratio(2 * tp[slug], 2 * tp[slug] + fp[slug] + fn[slug]),
            support=tp[slug] + fn[slug],
        )
        for slug in themes
    }
    return Figures(
        n=n,
        macro_f1=sum(f.f1 for f in per_theme.values()) / len(per_theme),
        place_accuracy=places_ok / n if n else 0.0,
        per_theme=per_theme,
    )


def compare(rows: Sequence[dict[str, Any]]) -> tuple[Figures, Figures]:
    """Figures of the combined tagger and of the rules alone on the same stories."""
    return evaluate(rows), evaluate(rows, tag_rules)


def report(name: str, rows: Sequence[dict[str, Any]]) -> list[str]:
    """The lines `scripts/eval-tagging` prints for one set: totals, then per theme."""
    combined, rules_only = compare(rows)
    lines = [
        f"{name}: {combined.n} stories",
        f"  theme macro-F1   combined {combined.macro_f1:.3f}"
        f"   rules alone {rules_only.macro_f1:.3f}",
        f"  place accuracy   {combined.place_accuracy:.3f}",
        f"  {'theme':<18} {'n':>3}   {'combined P / R / F1':>20}   {'rules alone P / R / F1':>22}",
    ]
    for slug, fig in combined.per_theme.items():
        base = rules_only.per_theme[slug]
        lines.append(
            f"  {slug:<18} {fig.support:>3}   "
            f"{fig.precision:>6.2f} {fig.recall:>6.2f} {fig.f1:>6.2f}   "
            f"{base.precision:>8.2f} {base.recall:>6.2f} {base.f1:>6.2f}"
        )
    return lines
