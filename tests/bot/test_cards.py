"""Card text and button layouts, as pure functions (no Telegram, no database)."""

from __future__ import annotations

import html
import re

from bot import cards
from core import taxonomy
from core.models import Submission
from moderation.decisions import RejectReason
from moderation.queue import ContributorSummary, StoryDetails


def _details(**fields: object) -> StoryDetails:
    story = Submission(ref="SP-TEXT", contributor_id=1, state="pending_review", **fields)
    return StoryDetails(story=story, media=[], contributor=ContributorSummary(12, 3, 2))


def test_card_escapes_html_and_names_the_pseudonym_only() -> None:
    details = _details(text="Air <b>naik</b> & rumah rusak", consent="named")
    details.public_name = "Maria <Mama>"
    text = cards.card_text(details, "id", photos_sent=0, photos_missing=0)
    assert "Air &lt;b&gt;naik&lt;/b&gt; &amp; rumah rusak" in text
    assert "Kontributor #12, 3 cerita sebelumnya, 2 terbit" in text
    assert "terbit dengan nama (Maria &lt;Mama&gt;)" in text


def test_a_long_story_and_answer_still_fit_one_message() -> None:
    details = _details(
        text="rob " * 2000,
        public_text="abrasi " * 1000,
        questions=[{"question": "Kapan? " * 200, "asked_by": "Ana", "answer": "Tadi " * 1000}],
    )
    text = cards.card_text(details, "en", photos_sent=0, photos_missing=0)
    assert len(text) <= cards.MESSAGE_LIMIT
    # Tags stay whole: every opened tag is closed.
    assert len(re.findall(r"<b>", text)) == len(re.findall(r"</b>", text))
    assert html.unescape(text).count("Tadi") > 10


def test_keyboards_by_state_and_menus() -> None:
    story = Submission(ref="SP-K", contributor_id=1, state="pending_review")
    actions = [b.action for row in cards.main_keyboard(story, "id") for b in row]
    assert actions == [
        "approve",
        "menu_reasons",
        "ask",
        "menu_themes",
        "menu_place",
        "edit_text",
        "anonymous",
        "quarantine",
    ]
    story.state = "published"
    assert cards.main_keyboard(story, "id") == []
    story.state = "rejected"
    assert [b.action for row in cards.main_keyboard(story, "id") for b in row] == ["release"]
    reasons = [b.payload.get("reason") for row in cards.reasons_keyboard("en") for b in row]
    assert reasons == [*(code.value for code in RejectReason), None]
    story.themes = [{"slug": "abrasi"}]
    labels = [b.label for row in cards.themes_keyboard(story, "en") for b in row]
    assert len(labels) == len(taxonomy.slugs()) + 1
    assert "✓ Coastal erosion & sea-level rise" in labels
    place = cards.place_keyboard("en", [("kel-oesapa", "Oesapa", "kelurahan")])
    assert place[0][0].payload == {"place_id": "kel-oesapa", "name": "Oesapa", "kind": "kelurahan"}
