"""Story codes grow longer before they run out, and the generator always ends."""

from __future__ import annotations

import itertools

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.models import Contributor, Submission
from core.stories import REF_ALPHABET, allocate_ref, find_story, ref_length


def test_four_characters_until_half_of_them_are_used_then_five() -> None:
    assert len(REF_ALPHABET) ** 4 == 923_521
    assert ref_length(0) == 4 and ref_length(461_759) == 4
    assert ref_length(461_760) == 5 and ref_length(14_400_000) == 6


def test_a_full_space_gives_a_longer_code_instead_of_looping(engine: Engine) -> None:
    with Session(engine) as session:
        person = Contributor(telegram_user_id=77)
        session.add(person)
        session.flush()
        for letters in itertools.product("AB", repeat=4):  # every 4-letter code of "AB"
            session.add(Submission(ref="SP-" + "".join(letters), contributor_id=person.id or 0))
        session.commit()
        fresh = allocate_ref(session, alphabet="AB")
        assert len(fresh[3:]) > 4 and set(fresh[3:]) <= {"A", "B"}
        # the old, shorter codes are still found
        assert find_story(session, "sp-abab").ref == "SP-ABAB"
