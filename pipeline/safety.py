"""Spam scoring (personal data is found by `core.personal_data`)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class _SpamRule:
    kind: str
    pattern: re.Pattern[str]
    weight: float


@cache
def _spam_rules() -> tuple[float, tuple[_SpamRule, ...]]:
    raw = resources.files("pipeline").joinpath("data/safety.toml").read_text(encoding="utf-8")
    data = tomllib.loads(raw)
    rules = tuple(
        _SpamRule(r["kind"], re.compile(r["pattern"], re.IGNORECASE), float(r["weight"]))
        for r in data["rules"]
    )
    return float(data["threshold"]), rules


def spam_reasons(text: str) -> list[str]:
    """The kinds of spam rules the text matches (selling, loan, chain, giveaway, crypto, ...)."""
    _, rules = _spam_rules()
    return list(dict.fromkeys(rule.kind for rule in rules if rule.pattern.search(text)))


@lru_cache(maxsize=64)  # the tagger asks for one text's score several times
def spam_score(text: str) -> float:
    """0.0 (a story) to 1.0 (certainly spam): matched rule weights added, capped at 1."""
    _, rules = _spam_rules()
    total = sum((rule.weight for rule in rules if rule.pattern.search(text)), 0.0)
    return round(min(1.0, total), 2)


def is_spam(text: str) -> bool:
    """Whether the story should go to `quarantined` instead of the review queue."""
    threshold, _ = _spam_rules()
    return spam_score(text) >= threshold
