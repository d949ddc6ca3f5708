"""What the composer needs of a story: public fields only, never private data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Rendition:
    """One metadata-free JPEG made by the pipeline."""

    path: Path
    width: int
    height: int
    size_bytes: int


@dataclass(frozen=True)
class StoryImage:
    """One photo of a story: its renditions by name (web, feed, square, thumb)."""

    renditions: dict[str, Rendition]
    alt: str | None = None  # alt text, when a moderator wrote one


@dataclass(frozen=True)
class StoryContent:
    """A story as it may be published: built from the database by the scheduler."""

    ref: str
    text: str  # the public text (a moderator's edit, or the original)
    lang: str = "id"
    credit_name: str | None = None  # None unless consent is "named" and not forced anonymous
    place_name: str | None = None  # public place: kelurahan/desa or a named landmark
    themes: tuple[str, ...] = ()  # theme slugs, most relevant first
    images: tuple[StoryImage, ...] = field(default_factory=tuple)
