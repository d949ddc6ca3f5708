"""Duplicates: the same photo (SHA-256), nearly the same photo (perceptual hash), the same text.

A duplicate is only linked (`Submission.duplicate_of_id`) for moderators to see; nothing is
dropped. Perceptual hashes are 64-bit DCT hashes (ImageHash `phash`) kept as 16 hex digits.
Every lookup goes through an index, so one new story costs the same against ten stories or a
million: photos by their SHA-256; nearly the same photo by the quarters of its hash
(`core.phash`: within 6 bits, one quarter differs by at most one bit), then the exact distance
on those few; the same text by a digest of its normalised form (`Submission.text_digest`).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

from sqlalchemy import literal_column, or_
from sqlmodel import Session, col, select

from core.models import Media, Submission
from core.phash import quarter_probes, quarter_sql
from core.states import SubmissionState
from pipeline.perceptual import perceptual_hash, phash_distance

__all__ = [
    "MIN_TEXT_CHARS",
    "PHASH_MAX_DISTANCE",
    "DuplicateMatch",
    "find_duplicate",
    "find_duplicate_match",
    "normalise_text",
    "perceptual_hash",
    "phash_distance",
    "text_digest",
]

# Hamming distance (of 64 bits) at or below which two photos count as the same picture.
# Re-encoding, Telegram's recompression, resizing and a light colour edit move a pHash by
# 0-4 bits; unrelated photos sit near 32 and two frames of the same burst from about 8 up.
# 6 catches the re-sends while leaving distinct shots of one scene apart.
PHASH_MAX_DISTANCE = 6
# Texts shorter than this after normalising ("banjir", "foto pantai") repeat innocently.
MIN_TEXT_CHARS = 24
_IGNORED_STATES = (SubmissionState.DRAFT, SubmissionState.ERASED)


@dataclass(frozen=True)
class DuplicateMatch:
    """The earlier story this one repeats, and why (sha256, phash or text)."""

    submission_id: int
    kind: str
    distance: int = 0  # pHash bits that differ (0 for sha256 and text)


def normalise_text(text: str | None) -> str:
    """Casefolded, punctuation and symbols removed, whitespace collapsed."""
    if not text:
        return ""
    kept = [
        " " if unicodedata.category(char)[0] in "PSZC" else char
        for char in unicodedata.normalize("NFKC", text).casefold()
    ]
    return " ".join("".join(kept).split())


def text_digest(text: str | None) -> str | None:
    """A digest of the normalised text (16 hex digits), None for an empty one."""
    normal = normalise_text(text)
    return hashlib.sha256(normal.encode()).hexdigest()[:16] if normal else None


def find_duplicate(session: Session, submission_id: int) -> int | None:
    """An earlier story with the same photo, nearly the same photo, or the same text."""
    match = find_duplicate_match(session, submission_id)
    return match.submission_id if match else None


def find_duplicate_match(session: Session, submission_id: int) -> DuplicateMatch | None:
    """Like `find_duplicate`, with the kind of match; the earliest story of the first kind found."""
    story = session.get(Submission, submission_id)
    if story is None:
        return None
    media = session.exec(
        select(Media).where(Media.submission_id == submission_id, col(Media.deleted_at).is_(None))
    ).all()
    earlier = (
        select(Media, Submission.id)
        .join(Submission, col(Submission.id) == col(Media.submission_id))
        .where(
            col(Submission.id) < submission_id,
            col(Submission.state).not_in(_IGNORED_STATES),
            col(Media.deleted_at).is_(None),
        )
        .order_by(col(Submission.id))
    )
    digests = {m.sha256 for m in media if m.sha256}
    if digests:
        row = session.exec(earlier.where(col(Media.sha256).in_(digests)).limit(1)).first()
        if row is not None and row[1] is not None:
            return DuplicateMatch(row[1], "sha256")
    hashes = [m.phash for m in media if m.phash]
    if hashes:
        match = _nearest_photo(session, submission_id, hashes)
        if match is not None:
            return match
    text = normalise_text(story.text)
    if len(text) >= MIN_TEXT_CHARS:
        other_id = session.exec(
            select(Submission.id)
            .where(
                Submission.text_digest == text_digest(story.text),
                col(Submission.id) < submission_id,
                col(Submission.state).not_in(_IGNORED_STATES),
            )
            .order_by(col(Submission.id))
            .limit(1)
        ).first()
        if other_id is not None:
            return DuplicateMatch(other_id, "text")
    return None


def _nearest_photo(
    session: Session, submission_id: int, hashes: list[str]
) -> DuplicateMatch | None:
    """The earliest story with a photo within PHASH_MAX_DISTANCE bits of one of `hashes`:
    candidates are within one bit in a quarter of the hash (from the covering quarter indexes
    alone, no row read), the exact distance decides, and only the stories of the few close ones
    are read."""
    mine = [int(phash, 16) for phash in hashes]
    near_quarter = [
        literal_column(quarter_sql(number)).in_(values)
        for phash in hashes
        for number, values in quarter_probes(phash)
    ]
    close: dict[int, int] = {}
    for other, other_story in session.exec(
        select(Media.phash, Media.submission_id).where(
            or_(*near_quarter), col(Media.submission_id) < submission_id
        )
    ):
        if other is None:
            continue
        distance = min((int(other, 16) ^ value).bit_count() for value in mine)
        if distance <= PHASH_MAX_DISTANCE:
            close[other_story] = min(distance, close.get(other_story, 64))
    if not close:
        return None
    found = session.exec(
        select(Submission.id)
        .join(Media, col(Media.submission_id) == Submission.id)
        .where(
            col(Submission.id).in_(list(close)),
            col(Submission.state).not_in(_IGNORED_STATES),
            col(Media.deleted_at).is_(None),
        )
        .order_by(col(Submission.id))
        .limit(1)
    ).first()
    return None if found is None else DuplicateMatch(found, "phash", close[found])
