"""One story in full, and every decision its Telegram card offers, through the same
`moderation.actions.apply` with the story version the page showed: two people pressing at once,
one wins and the other is told who."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session

from core import personal_data, taxonomy
from core.clock import parse_local_time
from core.errors import PesisirError
from core.i18n import catalog, t
from core.projections import moderator_story
from core.stories import find_story
from moderation import Conflict, RejectReason, actions
from moderation.access import Permission, PersonView
from moderation.actions import Action
from pipeline import add_late_photos, search_places
from pipeline.gazetteer import by_id
from publishers.calendar import schedule_lines
from publishers.campaigns import list_campaigns
from web.pages import CSRF, Who, back, database, ensure, flash, language, render, settings_of

router = APIRouter()
#: Actions the campaign team may take on a story besides moderators.
PLANNING = frozenset({Action.SCHEDULE, Action.UNSCHEDULE})


@dataclass(frozen=True)
class Segment:
    """A piece of a text, and the kind of personal data it is (None: ordinary words)."""

    text: str
    kind: str | None


def segments(text: str | None) -> list[Segment]:
    """The text cut where personal data and links are, so a page can highlight them."""
    if not text:
        return []
    pieces, position = [], 0
    for found in personal_data.find(text):
        if found.start > position:
            pieces.append(Segment(text[position : found.start], None))
        pieces.append(Segment(found.text, found.kind))
        position = found.end
    if position < len(text):
        pieces.append(Segment(text[position:], None))
    return pieces


def _campaigns(session: Session) -> list[dict[str, Any]]:
    return [
        {"slug": c.slug, "name": c.name}
        for c in list_campaigns(session)
        if not c.paused and c.channels
    ]


@router.get("/stories/{ref}", response_class=HTMLResponse)
def story_page(ref: str, request: Request, who: Who) -> HTMLResponse:
    """Photos, recordings, the text and the public text side by side, themes with evidence, the
    place, the contributor's pseudonym and history, the audit trail, and what may be done."""
    settings = settings_of(request)
    with database(request) as session:
        story = moderator_story(session, find_story(session, ref))
        campaigns = _campaigns(session)
        schedule = schedule_lines(session, story.id, timezone=settings.timezone)
    place = by_id().get(story.place_id or "")
    point = None
    if who.may(Permission.PRIVATE) and story.exact_point is not None:
        point = {"lat": story.exact_point[0], "lon": story.exact_point[1], "exact": True}
    elif place is not None:
        point = {"lat": place.lat, "lon": place.lon, "exact": False}
    context = {
        "story": story,
        "text_parts": segments(story.text),
        "public_parts": segments(story.published_text),
        "actions": actions.available_actions(story),
        "reasons": [reason.value for reason in RejectReason],
        "themes": [(slug, taxonomy.label(slug, language(request))) for slug in taxonomy.slugs()],
        "chosen_themes": {theme.slug for theme in story.themes},
        "campaigns": campaigns,
        "schedule": schedule,
        "point": point,
        "tiles": settings.map_tiles_url,
    }
    return render(request, "story.html", context, who=who)


def _payload(action: Action, form: dict[str, Any]) -> dict[str, Any]:
    """What the form says, as `actions.apply` takes it."""
    if action == Action.REJECT:
        return {"reason": form.get("reason"), "note": form.get("note")}
    if action == Action.ASK:
        return {"question": form.get("question") or ""}
    if action == Action.EDIT_TEXT:
        return {"text": form.get("text") or ""}
    if action == Action.SET_THEMES:
        return {"themes": form.get("themes") or []}
    if action == Action.SET_PLACE:
        typed = str(form.get("place") or "").strip()
        found = search_places(typed, limit=1) if typed else []
        if found:
            return {"place_id": found[0].id, "name": found[0].name, "kind": found[0].kind}
        return {"place_id": None, "name": typed, "kind": None}
    if action == Action.ANONYMISE:
        return {"value": form.get("value") != "false"}
    if action == Action.QUARANTINE:
        return {"reason": form.get("reason") or None}
    if action == Action.SCHEDULE:
        at = str(form.get("at") or "").strip()
        timezone = str(form.get("timezone") or "Asia/Makassar")
        return {
            "campaign": form.get("campaign"),
            "at": parse_local_time(at, timezone) if at else None,
        }
    return {}


def conflict_text(lang: str, conflict: Conflict) -> str:
    """'Ana was first: approved. The story is now: approved.' in the person's language."""
    state = t(lang, f"web.state.{conflict.state}")
    if conflict.by and conflict.action:
        key = f"moderation.action.{conflict.action}"
        action = t(lang, key, reason="") if key in catalog(lang) else conflict.action
        return t(lang, "moderation.answer.conflict", who=conflict.by, action=action, state=state)
    return t(lang, "moderation.answer.outdated", state=state)


Field = Annotated[str | None, Form()]


@router.post("/stories/{ref}/act", dependencies=CSRF)
def act(  # noqa: PLR0917 - each is a form field
    ref: str,
    request: Request,
    who: Who,
    action: Annotated[str, Form()],
    version: Annotated[int, Form()],
    reason: Field = None,
    note: Field = None,
    question: Field = None,
    text: Field = None,
    place: Field = None,
    value: Field = None,
    campaign: Field = None,
    at: Field = None,
    themes: Annotated[list[str] | None, Form()] = None,
) -> RedirectResponse:
    """Do one decision, with the version the page showed; the answer is a notice on the page."""
    lang = language(request)
    try:
        chosen = Action(action)
    except ValueError:
        flash(request, t(lang, "web.story.unknown_action"), "error")
        return back(request, f"/stories/{ref}")
    needed = (Permission.DECIDE, Permission.PLAN) if chosen in PLANNING else (Permission.DECIDE,)
    ensure(request, who, *needed)
    form: dict[str, Any] = {
        "reason": reason,
        "note": note,
        "question": question,
        "text": text,
        "place": place,
        "value": value,
        "campaign": campaign,
        "at": at,
        "themes": themes or [],
        "timezone": settings_of(request).timezone,
    }
    flash(
        request,
        *decide(request, who=who, ref=ref, action=chosen, version=version, payload=form),
    )
    return back(request, f"/stories/{ref}")


def decide(
    request: Request,
    *,
    who: PersonView,
    ref: str,
    action: Action,
    version: int,
    payload: dict[str, Any],
) -> tuple[str, str]:
    """Do one decision as this person with the version they saw; the notice to show and its
    kind (`ok`, or `error` with who was first, or why not)."""
    lang = language(request)
    store = request.app.state.store

    def late(session: Session, story_id: int, *, actor: str, expected_version: int) -> list[Path]:
        return add_late_photos(
            session, story_id, store, actor=actor, expected_version=expected_version
        )

    try:
        with database(request) as session:
            story = find_story(session, ref)
            assert story.id is not None
            outcome = actions.apply(
                session,
                story.id,
                action,
                _payload(action, payload),
                actor=who.actor,
                expected_version=version,
                add_late_photos=late,
            )
    except Conflict as conflict:
        return conflict_text(lang, conflict), "error"
    except PesisirError as error:
        return t(lang, "moderation.answer.invalid", error=error), "error"
    state = t(lang, f"web.state.{outcome.state}")
    return t(lang, "web.story.done", ref=outcome.ref, state=state), "ok"
