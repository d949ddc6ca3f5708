"""Review cards for the moderators' group: the text and the button layouts (pure functions).

Buttons are described as `Button(label, action, payload)`; `bot.moderators` turns each into an
opaque callback token, so nothing here touches Telegram or the database.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core import taxonomy
from core.i18n import t
from core.models import Submission
from core.states import SOCIAL_CONSENTS, SubmissionState
from moderation.decisions import LATE_PHOTO_FLAG, RejectReason, actor_name
from moderation.queue import StoryDetails

S = SubmissionState

#: Telegram's limit for a message text; the story text is cut to leave room for the rest.
MESSAGE_LIMIT = 4096
STORY_TEXT_LIMIT = 2500
HISTORY_LINES = 6


@dataclass(frozen=True)
class Button:
    """One inline button before it gets its token."""

    label: str
    action: str
    payload: dict[str, Any] = field(default_factory=dict)


Keyboard = list[list[Button]]


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


def _flag_lines(lang: str, details: StoryDetails) -> list[str]:
    """Flags from the pipeline: personal data (by kind, never the data itself), place problems,
    a possible duplicate, the spam score."""
    story = details.story
    lines: list[str] = []
    pii = sorted({str(f.get("kind")) for f in story.flags if f.get("kind") in PII_KINDS})
    if pii:
        what = ", ".join(t(lang, f"moderation.flag.{kind}") for kind in pii)
        lines.append(t(lang, "moderation.flag.pii", what=what))
    for kind in dict.fromkeys(str(f.get("kind", "")) for f in story.flags):
        if kind in PII_KINDS or kind in {"spam", "duplicate", ""}:
            continue  # shown above, or below from their own columns
        lines.append(_flag_label(lang, kind))
    if details.duplicate_ref:
        lines.append(t(lang, "moderation.flag.duplicate", ref=_e(details.duplicate_ref)))
    if story.spam_score is not None and story.spam_score > 0:
        lines.append(t(lang, "moderation.flag.spam", score=f"{story.spam_score:.2f}"))
    return lines


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def card_text(
    details: StoryDetails,
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
    story = details.story
    if story.state in (S.WITHDRAWN, S.ERASED):
        return "\n".join(
            [
                t(
                    lang,
                    "moderation.card.title",
                    ref=story.ref,
                    state=t(lang, f"core.state.{story.state}"),
                ),
                "",
                t(lang, "moderation.card.withdrawn"),
            ]
        )
    lines = [
        "<b>"
        + t(
            lang, "moderation.card.title", ref=story.ref, state=t(lang, f"core.state.{story.state}")
        )
        + "</b>",
        _e(
            t(
                lang,
                "moderation.card.contributor",
                pseudonym=details.contributor.pseudonym,
                previous=details.contributor.previous,
                published=details.contributor.published,
            )
        ),
        "",
    ]
    lines.append(_e(_cut(story.text or t(lang, "moderation.card.no_text"), text_limit)))
    if story.public_text:
        public = _cut(story.public_text, text_limit)
        lines += ["", t(lang, "moderation.card.public_text"), _e(public)]
    lines.append("")
    if story.themes:
        lines.append(t(lang, "moderation.card.themes"))
        for theme in story.themes:
            slug = str(theme.get("slug"))
            evidence = ", ".join(f"“{_e(word)}”" for word in theme.get("evidence") or [])
            label = taxonomy.label(slug, lang)
            lines.append(
                t(
                    lang,
                    "moderation.card.theme_line",
                    label=_e(label),
                    evidence=evidence or t(lang, "moderation.card.no_evidence"),
                )
            )
    else:
        lines.append(t(lang, "moderation.card.no_themes"))
    if story.place_name:
        source_key = f"moderation.source.{story.place_source or 'unknown'}"
        try:
            source = t(lang, source_key)
        except KeyError:
            source = story.place_source or t(lang, "moderation.source.unknown")
        place = t(lang, "moderation.card.place", name=_e(story.place_name), source=_e(source))
    else:
        place = t(lang, "moderation.card.place_none")
    lines.append(place)
    if story.exact_lat is not None and story.exact_lon is not None:
        href = html.escape(map_link(story.exact_lat, story.exact_lon))
        lines.append(f'<a href="{href}">{t(lang, "moderation.card.map")}</a>')
    consent = t(lang, f"moderation.consent.{story.consent or 'none'}")
    if story.consent == "named" and details.public_name:
        consent += f" ({_e(details.public_name)})"
    lines.append(t(lang, "moderation.card.consent", consent=consent))
    if story.force_anonymous:
        lines.append(t(lang, "moderation.card.forced_anonymous"))
    if photos_sent:
        lines.append(t(lang, "moderation.card.photos", count=photos_sent))
    if photos_missing:
        lines.append(t(lang, "moderation.card.photos_missing", count=photos_missing))
    flags = _flag_lines(lang, details)
    if flags:
        lines.append(t(lang, "moderation.card.flags"))
        lines += [f"• {flag}" for flag in flags]
    if schedule:
        lines.append("")
        lines.append(_e(t(lang, "moderation.card.scheduled", who=scheduled_by or "?")))
        for entry in schedule:
            lines.append(
                _e(
                    t(
                        lang,
                        "moderation.card.schedule_line",
                        campaign=entry.campaign,
                        time=entry.at_local,
                        channels=", ".join(entry.channels),
                    )
                )
            )
    for item in story.questions:
        lines.append("")
        lines.append(
            _e(
                t(
                    lang,
                    "moderation.card.question",
                    who=item.get("asked_by") or "?",
                    question=_cut(str(item.get("question") or ""), text_limit // 3),
                )
            )
        )
        if item.get("answer"):
            answer = _cut(str(item["answer"]), text_limit // 2)
            lines.append(_e(t(lang, "moderation.card.answer", answer=answer)))
        elif story.state == S.NEEDS_INFO:
            lines.append(t(lang, "moderation.card.waiting_answer"))
    moves = [e for e in details.history if _worth_showing(e.actor, e.action)]
    if moves:
        lines += ["", t(lang, "moderation.card.history")]
        for event in moves[-HISTORY_LINES:]:
            who = "contributor" if event.actor == "contributor" else actor_name(event.actor)
            lines.append(
                _e(
                    t(
                        lang,
                        "moderation.card.history_line",
                        who=who,
                        action=describe_action(lang, event.action, event.reason),
                    )
                )
            )
    text_out = "\n".join(lines)
    if len(text_out) > MESSAGE_LIMIT and text_limit > 100:
        return card_text(
            details,
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
    if actor.startswith(("moderator:", "cli:")):
        # A schedule shows once, as its deliveries (the state move beside it says the same).
        return action not in {"refused", "schedule", "unschedule"}
    return actor == "contributor" and action in {"answer", "withdraw"}


def main_keyboard(story: Submission, lang: str) -> Keyboard:
    """The buttons under a card, by state (none once the story left moderation)."""

    def b(key: str, action: str, **payload: Any) -> Button:
        return Button(t(lang, f"moderation.button.{key}"), action, payload)

    anonymous = (
        b("unanonymous", "anonymous", value=False)
        if story.force_anonymous
        else b("anonymous", "anonymous", value=True)
    )
    # A photo fetched after the pipeline ran waits for a moderator to add it (see pipeline.late).
    late = (
        [[b("add_late", "add_late")]]
        if any(flag.get("kind") == LATE_PHOTO_FLAG for flag in story.flags)
        else []
    )
    state = SubmissionState(story.state)
    if state in (S.PENDING_REVIEW, S.NEEDS_INFO):
        return [
            [b("approve", "approve"), b("reject", "menu_reasons")],
            [b("ask", "ask"), b("themes", "menu_themes")],
            [b("place", "menu_place"), b("edit", "edit_text")],
            [anonymous, b("quarantine", "quarantine")],
            *late,
        ]
    if state == S.QUARANTINED:
        return [
            [b("approve", "approve"), b("reject", "menu_reasons")],
            [b("release", "release")],
            [b("themes", "menu_themes"), b("place", "menu_place")],
            [b("edit", "edit_text"), anonymous],
            *late,
        ]
    if state == S.APPROVED:
        rows = [
            [b("themes", "menu_themes"), b("place", "menu_place")],
            [b("edit", "edit_text"), anonymous],
            [b("reject", "menu_reasons"), b("quarantine", "quarantine")],
            *late,
        ]
        if story.consent in SOCIAL_CONSENTS:  # "internal" (or no consent) never goes out
            rows.insert(0, [b("schedule", "menu_schedule")])
        return rows
    if state == S.SCHEDULED:
        return [[b("unschedule", "unschedule")]]
    if state == S.REJECTED:
        return [[b("release", "release")]]
    return []


def reasons_keyboard(lang: str) -> Keyboard:
    """One button per reject reason, then back."""
    rows = [
        [Button(t(lang, f"moderation.reason.{code.value}"), "reject", {"reason": code.value})]
        for code in RejectReason
    ]
    rows.append([Button(t(lang, "moderation.button.back"), "menu_main")])
    return rows


def themes_keyboard(story: Submission, lang: str) -> Keyboard:
    """A toggle per theme (✓ when set), two per row, then back."""
    current = {str(theme.get("slug")) for theme in story.themes}
    buttons = [
        Button(
            ("✓ " if slug in current else "") + taxonomy.label(slug, lang),
            "toggle_theme",
            {"slug": slug},
        )
        for slug in taxonomy.slugs()
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([Button(t(lang, "moderation.button.back"), "menu_main")])
    return rows


def place_keyboard(lang: str, suggestions: list[tuple[str, str, str | None]]) -> Keyboard:
    """Suggested places `(place_id, name, kind)`, 'type a name', then back."""
    rows = [
        [Button(name, "set_place", {"place_id": place_id, "name": name, "kind": kind})]
        for place_id, name, kind in suggestions
    ]
    rows.append([Button(t(lang, "moderation.button.type_place"), "type_place")])
    rows.append([Button(t(lang, "moderation.button.back"), "menu_main")])
    return rows


def campaigns_keyboard(lang: str, campaigns: list[tuple[str, str]]) -> Keyboard:
    """One button per open campaign `(slug, name)`, then back."""
    rows = [[Button(name, "pick_campaign", {"campaign": slug})] for slug, name in campaigns]
    rows.append([Button(t(lang, "moderation.button.back"), "menu_main")])
    return rows


def when_keyboard(lang: str, campaign: str, next_slot: str | None) -> Keyboard:
    """The campaign's next free slot (shown in local time, when there is one), 'type a time',
    then back to the campaigns."""
    rows: Keyboard = []
    if next_slot is not None:
        label = t(lang, "moderation.button.next_slot", time=next_slot)
        rows.append([Button(label, "schedule", {"campaign": campaign})])
    rows.append(
        [Button(t(lang, "moderation.button.type_time"), "type_time", {"campaign": campaign})]
    )
    rows.append([Button(t(lang, "moderation.button.back"), "menu_schedule")])
    return rows
