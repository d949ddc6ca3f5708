"""The climate taxonomy: themes, their labels, the campaign hashtags they bring, the tagger's rules.

One data file (`core/data/taxonomy.toml`, kept in step with shared/TAXONOMY.md by a test) and this
module; everything else asks here. A slug is stored with stories and used in exports.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from core.i18n import normalize_language


@dataclass(frozen=True)
class Theme:
    """One climate theme."""

    slug: str
    label_id: str
    label_en: str
    covers: str  # what it covers, as TAXONOMY.md says
    hashtags: tuple[str, ...]  # campaign hashtags of posts with this theme, without '#'

    def label(self, lang: str | None) -> str:
        """The theme's label in `lang` (Indonesian by default)."""
        return self.label_en if normalize_language(lang) == "en" else self.label_id


@cache
def data() -> dict[str, Any]:
    """The taxonomy file, parsed (the tagger reads its rules from here)."""
    text = resources.files("core").joinpath("data/taxonomy.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def themes() -> tuple[Theme, ...]:
    """Every theme, in the taxonomy's order."""
    return tuple(
        Theme(
            slug=slug,
            label_id=str(entry["label_id"]),
            label_en=str(entry["label_en"]),
            covers=str(entry["covers"]),
            hashtags=tuple(str(tag) for tag in entry.get("hashtags", ())),
        )
        for slug, entry in data()["themes"].items()
    )


@cache
def by_slug() -> dict[str, Theme]:
    """Themes by slug."""
    return {theme.slug: theme for theme in themes()}


def slugs() -> tuple[str, ...]:
    """Every theme's slug, in the taxonomy's order."""
    return tuple(theme.slug for theme in themes())


def is_theme(slug: str) -> bool:
    """True for a slug of the taxonomy."""
    return slug in by_slug()


def label(slug: str, lang: str | None) -> str:
    """A theme's label in `lang`; the slug itself for one the taxonomy does not know."""
    theme = by_slug().get(slug)
    return theme.label(lang) if theme is not None else slug


def theme_hashtags() -> dict[str, tuple[str, ...]]:
    """Theme slug → campaign hashtags its posts get (TAXONOMY.md "Campaign hashtags")."""
    return {theme.slug: theme.hashtags for theme in themes() if theme.hashtags}


def project_hashtag() -> str:
    """The project's own, optional hashtag (the first a long post gives up)."""
    return str(data()["project_hashtag"])
