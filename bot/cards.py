"""Review cards for the moderators' group: the text and the button layouts (pure functions).

A card is drawn from the moderators' view of a story (`core.projections.ModeratorStory`) and
shows the actions `moderation.actions` allows in its state. Buttons are `bot.buttons.Button`s;
their action is a `moderation.actions.Action`, a menu (`menu_*`), or a prompt for typed input.
Nothing here touches Telegram or the database.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.buttons import Button
from core import taxonomy
from core.clock import format_duration
from core.i18n import t
from core.projections import ModeratorStory
from core.states import SubmissionState, TranscriptStatus
from moderation import RejectReason, actor_name
from moderation.actions import Action, available_actions

S = SubmissionState
A = Action

#: Telegram's limit for a message text; the story text is cut to leave room for the rest.
MESSAGE_LIMIT = 4096
STORY_TEXT_LIMIT = 2500
HISTORY_LINES = 6

Keyboard = list[list[Button]]

#: The card button of each action: its label key and what pressing it does (an action, a menu,
#: or a prompt for typed input).
_MAIN_BUTTONS: dict[Action, tuple[str, str]] = {
    A.APPROVE: ("approve", A.APPROVE.value),
    A.REJECT: ("reject", "menu_reasons"),
    A.ASK: ("ask", "ask"),
    A.TOGGLE_THEME: ("themes", "menu_themes"),
    A.SET_PLACE: ("place", "menu_place"),
    A.EDIT_TEXT: ("edit", "edit_text"),
    A.ACCEPT_TRANSCRIPT: ("accept_transcript", A.ACCEPT_TRANSCRIPT.value),
    A.QUARANTINE: ("quarantine", A.QUARANTINE.value),
    A.RELEASE: ("release", A.RELEASE.value),
    A.SCHEDULE: ("schedule", "menu_schedule"),
    A.UNSCHEDULE: ("unschedule", A.UNSCHEDULE.value),
    A.ADD_LATE_PHOTOS: ("add_late", A.ADD_LATE_PHOTOS.value),
}
#: Actions whose button stands on a row of its own.
_OWN_ROW = frozenset({A.RELEASE, A.SCHEDULE, A.UNSCHEDULE, A.ADD_LATE_PHOTOS})


@dataclass(frozen=True)
class ScheduleLine:
    """A story's posts at one time in one campaign, as the card shows them."""

    campaign: str
    at_local: str
    channels: list[str]


def map_link(lat: float, lon: float) -> str:
    """An OpenStreetMap link to the exact point (for the private moderators' group only)."""
    return (
        f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=18/{lat:.6f}/{lon:.6f}"
    )


def _e(value: object) -> str:
    return html.escape(str(value), quote=False)


def describe_action(lang: str, action: str, reason: str | None) -> str:
    """`approved`, `rejected (duplicate)`, ... for history lines and conflict answers."""
    key = f"moderation.action.{action}"
    try:
        if action == "reject":
            code = (reason or "other").split(":")[0]
            return t(lang, key, reason=t(lang, f"moderation.reason.{code}"))
        return t(lang, key)
    except KeyError:
        return t(lang, "moderation.action.other", action=action)


PII_KINDS = ("phone", "nik", "email")


def _flag_label(lang: str, kind: str) -> str:
    try:
        return t(lang, f"moderation.flag.{kind}")
    except KeyError:
        return t(lang, "moderation.flag.other", kind=_e(kind))


def _flag_lines(lang: str, story: ModeratorStory) -> list[str]:
    """Flags from the pipeline: personal data (by kind, never the data itself), place problems,
    a possible duplicate, the spam score."""
    lines: list[str] = []
    pii = sorted({str(f.get("kind")) for f in story.flags if f.get("kind") in PII_KINDS})
    if pii:
        what = ", ".join(t(lang, f"moderation.flag.{kind}") for kind in pii)
        lines.append(t(lang, "moderation.flag.pii", what=what))
    for kind in dict.fromkeys(str(f.get("kind", "")) for f in story.flags):
        if kind in PII_KINDS or kind in {"spam", "duplicate", ""}:
            continue  # shown above, or below from their own fields
        lines.append(_flag_label(lang, kind))
    if story.duplicate_ref:
        lines.append(t(lang, "moderation.flag.duplicate", ref=_e(story.duplicate_ref)))
    if story.spam_score is not None and story.spam_score > 0:
        lines.append(t(lang, "moderation.flag.spam", score=f"{story.spam_score:.2f}"))
    return lines


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def recordings_line(story: ModeratorStory, lang: str) -> str:
    """`🎙 1 pesan suara (0:42)`."""
    durations = ", ".join(format_duration(r.duration_seconds) for r in story.recordings)
    return t(lang, "moderation.card.recordings", count=len(story.recordings), durations=durations)


def _transcript_lines(story: ModeratorStory, lang: str, text_limit: int) -> list[str]:
    """Each recording's automatic transcript, labelled so (or why there is none)."""
    lines: list[str] = []
    several = len(story.recordings) > 1
    for number, recording in enumerate(story.recordings, start=1):
        which = f" ({number}/{len(story.recordings)})" if several else ""
        status = recording.transcript_status or "waiting"
        if status == TranscriptStatus.DONE and recording.transcript:
            lines += ["", t(lang, "moderation.card.transcript", which=which)]
            lines.append(_e(_cut(recording.transcript, text_limit)))
            continue
        known = {TranscriptStatus.EMPTY, TranscriptStatus.FAILED, TranscriptStatus.OFF}
        key = status if status in {*known, TranscriptStatus.TOO_LONG} else "waiting"
        key = "empty" if status == TranscriptStatus.DONE else key  # done, but nothing kept
        lines += ["", t(lang, f"moderation.card.transcript_{key}", which=which)]
    return lines


def _title(story: ModeratorStory, lang: str) -> str:
    state = t(lang, f"core.state.{story.state}")
    return t(lang, "moderation.card.title", ref=story.ref, state=state)


def _theme_lines(story: ModeratorStory, lang: str) -> list[str]:
    if not story.themes:
        return [t(lang, "moderation.card.no_themes")]
    lines = [t(lang, "moderation.card.themes")]
    for theme in story.themes:
        evidence = ", ".join(f"“{_e(word)}”" for word in theme.evidence)
        lines.append(
            t(
                lang,
                "moderation.card.theme_line",
                label=_e(taxonomy.label(theme.slug, lang)),
                evidence=evidence or t(lang, "moderation.card.no_evidence"),
            )
        )
    return lines


def _place_lines(story: ModeratorStory, lang: str) -> list[str]:
    if story.place_name:
        try:
            source = t(lang, f"moderation.source.{story.place_source or 'unknown'}")
        except KeyError:
            source = story.place_source or t(lang, "moderation.source.unknown")
        lines = [t(lang, "moderation.card.place", name=_e(story.place_name), source=_e(source))]
    else:
        lines = [t(lang, "moderation.card.place_none")]
    if story.exact_point is not None:
        href = html.escape(map_link(*story.exact_point))
        lines.append(f'<a href="{href}">{t(lang, "moderation.card.map")}</a>')
    return lines


def _question_lines(story: ModeratorStory, lang: str, text_limit: int) -> list[str]:
    lines: list[str] = []
    for item in story.questions:
        question = _cut(str(item.get("question") or ""), text_limit // 3)
        who = item.get("asked_by") or "?"
        lines += ["", _e(t(lang, "moderation.card.question", who=who, question=question))]
        if item.get("answer"):
            answer = _cut(str(item["answer"]), text_limit // 2)
            lines.append(_e(t(lang, "moderation.card.answer", answer=answer)))
        elif story.state == S.NEEDS_INFO:
            lines.append(t(lang, "moderation.card.waiting_answer"))
    return lines


def _history_lines(story: ModeratorStory, lang: str) -> list[str]:
    moves = [e for e in story.history if _worth_showing(e.actor, e.action)]
    if not moves:
        return []
    lines = ["", t(lang, "moderation.card.history")]
    for event in moves[-HISTORY_LINES:]:
        who = "contributor" if event.actor == "contributor" else actor_name(event.actor)
        action = describe_action(lang, event.action, event.reason)
        lines.append(_e(t(lang, "moderation.card.history_line", who=who, action=action)))
    return lines


def card_text(
    story: ModeratorStory,
    lang: str,
    *,
    photos_sent: int,
    photos_missing: int,
    schedule: Sequence[ScheduleLine] = (),
    scheduled_by: str | None = None,
    text_limit: int = STORY_TEXT_LIMIT,
) -> str:
    """The card's HTML text: story, themes with evidence, place, flags, consent, contributor,
    and the posts it is scheduled for.

    Long texts are shortened (never mid-tag) until the card fits one Telegram message.
    """
    if story.state in (S.WITHDRAWN, S.ERASED):
        return "\n".join([_title(story, lang), "", t(lang, "moderation.card.withdrawn")])
    contributor = story.contributor
    lines = [
        "<b>" + _title(story, lang) + "</b>",
        _e(
            t(
                lang,
                "moderation.card.contributor",
                pseudonym=contributor.pseudonym,
                previous=contributor.previous,
                published=contributor.published,
            )
        ),
        "",
        _e(_cut(story.text or t(lang, "moderation.card.no_text"), text_limit)),
    ]
    if story.public_text:
        public = _cut(story.public_text, text_limit)
        lines += ["", t(lang, "moderation.card.public_text"), _e(public)]
    elif story.published_text and story.published_text != story.text:
        # Personal data or links in the text: show what a post would carry instead.
        masked = _cut(story.published_text, text_limit)
        lines += ["", t(lang, "moderation.card.masked_text"), _e(masked)]
    lines += _transcript_lines(story, lang, text_limit)
    lines.append("")
    lines += _theme_lines(story, lang)
    lines += _place_lines(story, lang)
    consent = t(lang, f"moderation.consent.{story.consent or 'none'}")
    if story.consent == "named" and story.public_name:
        consent += f" ({_e(story.public_name)})"
    lines.append(t(lang, "moderation.card.consent", consent=consent))
    if story.force_anonymous:
        lines.append(t(lang, "moderation.card.forced_anonymous"))
    if story.pinned:
        lines.append(t(lang, "moderation.card.pinned"))
    if photos_sent:
        lines.append(t(lang, "moderation.card.photos", count=photos_sent))
    if photos_missing:
        lines.append(t(lang, "moderation.card.photos_missing", count=photos_missing))
    if story.recordings:
        lines.append(_e(recordings_line(story, lang)))
    flags = _flag_lines(lang, story)
    if flags:
        lines.append(t(lang, "moderation.card.flags"))
        lines += [f"• {flag}" for flag in flags]
    if schedule:
        lines += ["", _e(t(lang, "moderation.card.scheduled", who=scheduled_by or "?"))]
        for entry in schedule:
            line = t(
                lang,
                "moderation.card.schedule_line",
                campaign=entry.campaign,
                time=entry.at_local,
                channels=", ".join(entry.channels),
            )
            lines.append(_e(line))
    lines += _question_lines(story, lang, text_limit)
    lines += _history_lines(story, lang)
    text_out = "\n".join(lines)
    if len(text_out) > MESSAGE_LIMIT and text_limit > 100:
        return card_text(
            story,
            lang,
            photos_sent=photos_sent,
            photos_missing=photos_missing,
            schedule=schedule,
            scheduled_by=scheduled_by,
            text_limit=text_limit // 2,
        )
    return text_out


def _worth_showing(actor: str, action: str) -> bool:
    """Moderators' actions and the contributor's answers; not drafting or pipeline steps."""
    if actor.startswith(("moderator:", "cli:", "web:")):
        # A schedule shows once, as its deliveries (the state move beside it says the same).
        return action not in {"refused", "schedule", "unschedule"}
    return actor == "contributor" and action in {"answer", "withdraw"}


def _button(lang: str, key: str, action: str, **payload: Any) -> Button:
    return Button(t(lang, f"moderation.button.{key}"), action, payload)


def main_keyboard(story: ModeratorStory, lang: str) -> Keyboard:
    """The buttons under a card: the actions its state allows (none once it left moderation)."""
    rows: Keyboard = []
    pair: list[Button] = []
    for action in available_actions(story):
        if action == A.ANONYMISE:
            key = "unanonymous" if story.force_anonymous else "anonymous"
            button = _button(lang, key, A.ANONYMISE.value, value=not story.force_anonymous)
        elif action == A.PIN:
            key = "unpin" if story.pinned else "pin"
            button = _button(lang, key, A.PIN.value, value=not story.pinned)
        elif action in _MAIN_BUTTONS:
            key, does = _MAIN_BUTTONS[action]
            button = _button(lang, key, does)
        else:
            continue  # not a card button (SET_THEMES: the themes menu toggles one at a time)
        if action in _OWN_ROW:
            if pair:
                rows.append(pair)
                pair = []
            rows.append([button])
            continue
        pair.append(button)
        if len(pair) == 2:
            rows.append(pair)
            pair = []
    if pair:
        rows.append(pair)
    return rows


def reasons_keyboard(lang: str) -> Keyboard:
    """One button per reject reason, then back."""
    rows = [
        [Button(t(lang, f"moderation.reason.{code.value}"), A.REJECT.value, {"reason": code.value})]
        for code in RejectReason
    ]
    rows.append([_button(lang, "back", "menu_main")])
    return rows


def themes_keyboard(story: ModeratorStory, lang: str) -> Keyboard:
    """A toggle per theme (✓ when set), two per row, then back."""
    current = {theme.slug for theme in story.themes}
    buttons = [
        Button(
            ("✓ " if slug in current else "") + taxonomy.label(slug, lang),
            A.TOGGLE_THEME.value,
            {"slug": slug},
        )
        for slug in taxonomy.slugs()
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([_button(lang, "back", "menu_main")])
    return rows


def place_keyboard(lang: str, suggestions: list[tuple[str, str, str | None]]) -> Keyboard:
    """Suggested places `(place_id, name, kind)`, 'type a name', then back."""
    rows = [
        [Button(name, A.SET_PLACE.value, {"place_id": place_id, "name": name, "kind": kind})]
        for place_id, name, kind in suggestions
    ]
    rows.append([_button(lang, "type_place", "type_place")])
    rows.append([_button(lang, "back", "menu_main")])
    return rows


def campaigns_keyboard(lang: str, campaigns: list[tuple[str, str]]) -> Keyboard:
    """One button per open campaign `(slug, name)`, then back."""
    rows = [[Button(name, "pick_campaign", {"campaign": slug})] for slug, name in campaigns]
    rows.append([_button(lang, "back", "menu_main")])
    return rows


def when_keyboard(lang: str, campaign: str, next_slot: str | None) -> Keyboard:
    """The campaign's next free slot (shown in local time, when there is one), 'type a time',
    then back to the campaigns."""
    rows: Keyboard = []
    if next_slot is not None:
        label = t(lang, "moderation.button.next_slot", time=next_slot)
        rows.append([Button(label, A.SCHEDULE.value, {"campaign": campaign})])
    rows.append([_button(lang, "type_time", "type_time", campaign=campaign)])
    rows.append([_button(lang, "back", "menu_schedule")])
    return rows
