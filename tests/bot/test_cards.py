"""Card text and button layouts, as pure functions (no Telegram, no database)."""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import UTC, datetime
from typing import Any

from bot import cards
from core import taxonomy
from core.projections import ContributorSummary, ModeratorStory, ThemeView
from moderation.decisions import RejectReason


def _story(**fields: Any) -> ModeratorStory:
    values: dict[str, Any] = {
        "id": 1,
        "ref": "SP-TEXT",
        "state": "pending_review",
        "version": 1,
        "text": None,
        "public_text": None,
        "published_text": None,
        "lang": "id",
        "consent": None,
        "public_name": None,
        "force_anonymous": False,
        "pinned": False,
        "place_id": None,
        "place_name": None,
        "place_kind": None,
        "place_source": None,
        "place_evidence": None,
        "exact_point": None,
        "themes": (),
        "flags": (),
        "spam_score": None,
        "duplicate_ref": None,
        "questions": (),
        "reject_reason": None,
        "reject_note": None,
        "decided_by": None,
        "created_at": datetime(2026, 11, 20, tzinfo=UTC),
        "submitted_at": None,
        "contributor": ContributorSummary(12, 3, 2),
        "photos": (),
        "recordings": (),
        "history": (),
    }
    values.update(fields)
    return ModeratorStory(**values)


def test_card_escapes_html_and_names_the_pseudonym_only() -> None:
    story = _story(
        text="Air <b>naik</b> & rumah rusak", consent="named", public_name="Maria <Mama>"
    )
    text = cards.card_text(story, "id", photos_sent=0, photos_missing=0)
    assert "Air &lt;b&gt;naik&lt;/b&gt; &amp; rumah rusak" in text
    assert "Kontributor #12, 3 cerita sebelumnya, 2 terbit" in text
    assert "terbit dengan nama (Maria &lt;Mama&gt;)" in text


def test_a_long_story_and_answer_still_fit_one_message() -> None:
    story = _story(
        text="rob " * 2000,
        public_text="abrasi " * 1000,
        questions=({"question": "Kapan? " * 200, "asked_by": "Ana", "answer": "Tadi " * 1000},),
    )
    text = cards.card_text(story, "en", photos_sent=0, photos_missing=0)
    assert len(text) <= cards.MESSAGE_LIMIT
    # Tags stay whole: every opened tag is closed.
    assert len(re.findall(r"<b>", text)) == len(re.findall(r"</b>", text))
    assert html.unescape(text).count("Tadi") > 10


def test_keyboards_by_state_and_menus() -> None:
    story = _story()
    actions = [b.action for row in cards.main_keyboard(story, "id") for b in row]
    assert actions == [
        "approve",
        "menu_reasons",
        "ask",
        "menu_themes",
        "menu_place",
        "edit_text",
        "anonymise",
        "quarantine",
    ]
    # A published story has left moderation: it may only be pinned for briefs (or unpinned).
    published = dataclasses.replace(story, state="published")
    [[pin]] = cards.main_keyboard(published, "id")
    assert (pin.action, pin.payload) == ("pin", {"value": True})
    [[unpin]] = cards.main_keyboard(dataclasses.replace(published, pinned=True), "en")
    assert (unpin.label, unpin.payload) == ("📌 Unpin from policy briefs", {"value": False})
    assert cards.main_keyboard(dataclasses.replace(story, state="withdrawn"), "id") == []
    rejected = dataclasses.replace(story, state="rejected")
    assert [b.action for row in cards.main_keyboard(rejected, "id") for b in row] == ["release"]
    reasons = [b.payload.get("reason") for row in cards.reasons_keyboard("en") for b in row]
    assert reasons == [*(code.value for code in RejectReason), None]
    with_theme = dataclasses.replace(story, themes=(ThemeView("abrasi", 1.0, ()),))
    labels = [b.label for row in cards.themes_keyboard(with_theme, "en") for b in row]
    assert len(labels) == len(taxonomy.slugs()) + 1
    assert "✓ Coastal erosion & sea-level rise" in labels
    place = cards.place_keyboard("en", [("kel-oesapa", "Oesapa", "kelurahan")])
    assert place[0][0].payload == {"place_id": "kel-oesapa", "name": "Oesapa", "kind": "kelurahan"}


def test_a_story_approved_for_social_media_offers_scheduling_first_internal_never() -> None:
    approved = _story(state="approved", consent="anonymous")
    rows = cards.main_keyboard(approved, "en")
    assert [b.action for b in rows[0]] == ["menu_schedule"]
    internal = dataclasses.replace(approved, consent="internal")
    assert "menu_schedule" not in [
        b.action for row in cards.main_keyboard(internal, "en") for b in row
    ]
    late = dataclasses.replace(approved, flags=({"kind": "photo_late"},))
    assert [b.action for b in cards.main_keyboard(late, "en")[-1]] == ["add_late_photos"]


def test_the_card_shows_what_a_post_would_carry_when_personal_data_is_masked() -> None:
    story = _story(
        text="Rob di Oesapa, hubungi 081234567890",
        published_text="Rob di Oesapa, hubungi [nomor HP]",
    )
    text = cards.card_text(story, "id", photos_sent=0, photos_missing=0)
    assert "Yang akan terbit" in text and "hubungi [nomor HP]" in text
