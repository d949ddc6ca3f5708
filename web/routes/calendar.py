"""The calendar (week and month, one campaign or all): posts per slot with their state and
warnings, a tray of approved stories to drag into a slot, dragging a post to another time,
autofill. Every change goes through the same owners as the CLI: `moderation.actions` (schedule,
with the story version) and `publishers.scheduling` (move, autofill)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core.clock import as_utc, format_local, parse_local_time, utcnow
from core.errors import PesisirError
from core.i18n import t
from moderation import queue
from moderation.actions import Action
from publishers.calendar import SlotPost, calendar_days
from publishers.campaigns import DAYS, get_campaign, list_campaigns
from publishers.scheduling import autofill, move_post
from web.pages import CSRF, Planning, Who, back, database, flash, language, render, settings_of
from web.routes.story import decide

router = APIRouter()
PER_DAY = {"week": 40, "month": 3}


@dataclass
class SlotRow:
    """One time of one day in the week view: a drop target holding its posts."""

    at: str  # local "YYYY-MM-DD HH:MM"
    time: str  # local "HH:MM"
    campaign: str | None  # the campaign whose slot it is (None: a time outside every slot)
    posts: list[SlotPost] = field(default_factory=list)


def _campaign_views(request: Request) -> list[dict[str, Any]]:
    with database(request) as session:
        return [
            {
                "slug": c.slug,
                "name": c.name,
                "timezone": c.timezone,
                "slots": [dict(rule) for rule in c.slots],
                "paused": c.paused,
                "starts_on": c.starts_on,
                "ends_on": c.ends_on,
            }
            for c in list_campaigns(session)
        ]


def _rows(
    day: date, posts: list[SlotPost], campaigns: list[dict[str, Any]], tz: str
) -> list[SlotRow]:
    """The day's slots (of the campaigns shown) and any other times its posts have."""
    zone = ZoneInfo(tz)
    rows: dict[tuple[str, str | None], SlotRow] = {}
    weekday = DAYS[day.weekday()]
    for campaign in campaigns:
        active = (
            not campaign["starts_on"] or day >= date.fromisoformat(campaign["starts_on"])
        ) and (not campaign["ends_on"] or day <= date.fromisoformat(campaign["ends_on"]))
        for rule in campaign["slots"] if active else []:
            if weekday in rule["days"]:
                key = (rule["time"], campaign["slug"])
                rows[key] = SlotRow(
                    f"{day.isoformat()} {rule['time']}", rule["time"], campaign["slug"]
                )
    for post in posts:
        clock = post.at.astimezone(zone).strftime("%H:%M")
        key = (clock, post.campaign)
        if key not in rows:
            rows[key] = SlotRow(f"{day.isoformat()} {clock}", clock, post.campaign)
        rows[key].posts.append(post)
    return [rows[key] for key in sorted(rows, key=lambda k: (k[0], k[1] or ""))]


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request, who: Who, view: str = "week", start: str = "", campaign: str = ""
) -> HTMLResponse:
    """A week (slots as rows, posts in them) or a month (each day counted, its first posts)."""
    settings = settings_of(request)
    view = view if view in PER_DAY else "week"
    campaigns = _campaign_views(request)
    shown = [c for c in campaigns if c["slug"] == campaign] if campaign else campaigns
    tz = shown[0]["timezone"] if campaign and shown else settings.timezone
    today = utcnow().astimezone(ZoneInfo(tz)).date()
    try:
        anchor = date.fromisoformat(start) if start else today
    except ValueError:
        anchor = today
    if view == "week":
        first, count = anchor - timedelta(days=anchor.weekday()), 7
        previous, following = first - timedelta(days=7), first + timedelta(days=7)
    else:
        month = anchor.replace(day=1)
        first = month - timedelta(days=month.weekday())
        following = (month + timedelta(days=32)).replace(day=1)
        count = ((following - first).days + 6) // 7 * 7
        previous = (month - timedelta(days=1)).replace(day=1)
    with database(request) as session:
        days = calendar_days(
            session,
            start=first,
            days=count,
            timezone=tz,
            campaign_slug=campaign or None,
            per_day=PER_DAY[view],
        )
        tray = queue.list_page(
            session, queue.StoryFilter(status="approved", social_only=True), limit=20
        )
    context = {
        "view": view,
        "days": days,
        "rows": {d.day: _rows(d.day, d.posts, shown, tz) for d in days} if view == "week" else {},
        "today": today,
        "month": anchor.month,
        "tz": tz,
        "zone_name": datetime.now(ZoneInfo(tz)).strftime("%Z"),
        "campaign": campaign,
        "campaigns": campaigns,
        "previous": previous.isoformat(),
        "following": following.isoformat(),
        "tray": tray.items,
        "warned": sum(1 for d in days for p in d.posts if p.warnings),
        "local_at": lambda moment: local_at(moment, tz),
    }
    return render(request, "calendar.html", context, who=who)


def _refresh(request: Request) -> Response:
    """After a drag: htmx reloads the page (the notice says what happened)."""
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Refresh": "true"})
    return back(request, "/calendar")


@router.post("/calendar/move", dependencies=CSRF)
def move(
    request: Request,
    who: Planning,
    delivery_id: Annotated[int, Form()],
    at: Annotated[str, Form()],
    timezone: Annotated[str, Form()] = "",
) -> Response:
    """A post dragged to another time: `publishers.scheduling.move_post`, as `posts move`."""
    lang = language(request)
    try:
        when = parse_local_time(at, timezone or settings_of(request).timezone)
        with database(request) as session:
            moved = move_post(session, delivery_id=delivery_id, at=when, actor=who.actor)
        shown = format_local(moved.scheduled_at, timezone or settings_of(request).timezone)
        flash(request, t(lang, "web.calendar.moved", id=moved.id, at=shown))
    except PesisirError as error:
        flash(request, t(lang, "moderation.answer.invalid", error=error), "error")
    return _refresh(request)


@router.post("/calendar/schedule", dependencies=CSRF)
def schedule(  # noqa: PLR0917 - each is a form field
    request: Request,
    who: Planning,
    ref: Annotated[str, Form()],
    version: Annotated[int, Form()],
    campaign: Annotated[str, Form()],
    at: Annotated[str, Form()],
    timezone: Annotated[str, Form()] = "",
) -> Response:
    """An approved story dragged from the tray into a slot: the same schedule action as the
    card's, with the version the tray showed."""
    lang = language(request)
    if not campaign:
        flash(request, t(lang, "web.calendar.pick_campaign"), "error")
        return _refresh(request)
    form = {"campaign": campaign, "at": at, "timezone": timezone or settings_of(request).timezone}
    flash(
        request,
        *decide(request, who=who, ref=ref, action=Action.SCHEDULE, version=version, payload=form),
    )
    return _refresh(request)


@router.post("/calendar/autofill", dependencies=CSRF)
def fill(request: Request, who: Planning, campaign: Annotated[str, Form()]) -> RedirectResponse:
    """Spread approved stories over the campaign's empty slots until its end."""
    lang = language(request)
    try:
        with database(request) as session:
            get_campaign(session, campaign)
            made = autofill(session, campaign, actor=who.actor)
        stories = len({post.submission_id for post in made})
        flash(request, t(lang, "web.calendar.autofilled", count=stories, posts=len(made)))
    except PesisirError as error:
        flash(request, t(lang, "moderation.answer.invalid", error=error), "error")
    return back(request, f"/calendar?campaign={campaign}")


def local_at(moment: datetime, tz: str) -> str:
    """`YYYY-MM-DD HH:MM` in `tz`, as the drag sends it back."""
    return as_utc(moment).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
