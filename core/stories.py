"""Finding a story by its reference or its id, with one rule for every face; new references."""

from __future__ import annotations

import secrets

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.errors import NotFound
from core.models import Submission

REF_PREFIX = "SP-"
REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed on phones
REF_LENGTH = 4  # the shortest codes; longer ones come as the short ones fill up
#: Random tries at one length before the next length (each try succeeds at least half the time
#: at the length chosen, so this is reached only when the count below misjudged the space).
REF_TRIES = 20


def ref_length(stories: int, alphabet: str = REF_ALPHABET) -> int:
    """The code length for the next story: the shortest whose codes are at most half used
    (4 characters give 923,521 codes; the 461,761st story gets five)."""
    length = REF_LENGTH
    while stories >= len(alphabet) ** length // 2:
        length += 1
    return length


def allocate_ref(session: Session, alphabet: str = REF_ALPHABET) -> str:
    """A new, unused reference like `SP-7K3Q`: random at the length the number of stories
    calls for, one character longer whenever tries keep colliding (it never loops forever;
    older, shorter codes stay valid)."""
    stories = session.exec(select(func.max(col(Submission.id)))).one() or 0
    length = ref_length(int(stories), alphabet)
    while True:
        for _ in range(REF_TRIES):
            ref = REF_PREFIX + "".join(secrets.choice(alphabet) for _ in range(length))
            if session.exec(select(Submission.id).where(Submission.ref == ref)).first() is None:
                return ref
        length += 1


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
