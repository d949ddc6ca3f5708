"""Finding a story by its reference or its id, with one rule for every face; new references."""

from __future__ import annotations

import secrets

from sqlmodel import Session, select

from core.errors import NotFound
from core.models import Submission

REF_PREFIX = "SP-"
REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed on phones
REF_LENGTH = 4


def new_ref() -> str:
    """A random reference code like `SP-7K3Q` (uniqueness is checked by the caller)."""
    return REF_PREFIX + "".join(secrets.choice(REF_ALPHABET) for _ in range(REF_LENGTH))


def normalize_ref(text: str) -> str:
    """A reference as stored: `sp-7k3q`, ` 7K3Q ` → `SP-7K3Q`."""
    wanted = text.strip().upper()
    if wanted and not wanted.startswith(REF_PREFIX):
        wanted = REF_PREFIX + wanted
    return wanted


def get_story(session: Session, submission_id: int) -> Submission:
    """The story with this id, or NotFound."""
    story = session.get(Submission, submission_id)
    if story is None:
        raise NotFound(f"no story #{submission_id}")
    return story


def find_story(session: Session, ref: str) -> Submission:
    """The story with this reference (case-insensitive, `SP-` optional), or NotFound."""
    story = session.exec(select(Submission).where(Submission.ref == normalize_ref(ref))).first()
    if story is None:
        raise NotFound(f"no story {ref!r}")
    return story
