"""Posts and channels: failures first with the full error and what to do, one post's preview
exactly as its channel will show it (with its own caption), retry, cancel, mark sent; the
channels' health (the same checks as `pesisir check`), pause and resume."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from core.errors import PesisirError
from core.i18n import t
from core.states import DeliveryState
from publishers import deliveries
from publishers.calendar import count_in_states, posts_in_states, slot_posts
from publishers.channel_health import check_channels
from publishers.channels_config import list_channels, pause_channel, resume_channel
from publishers.preview import preview_post
from publishers.scheduling import cancel_post
from web.pages import CSRF, Planning, Who, back, database, flash, language, render, settings_of

router = APIRouter()
D = DeliveryState
TROUBLE = [D.FAILED.value, D.UNKNOWN.value]
#: The newest failed or unknown posts the page shows; it says how many more there are.
FAILURES = 100


def _channels(request: Request) -> list[dict[str, object]]:
    with database(request) as session:
        return [
            {"name": c.name, "kind": c.kind, "paused": c.paused, "reason": c.paused_reason}
            for c in list_channels(session)
        ]


@router.get("/posts", response_class=HTMLResponse)
def posts_page(request: Request, who: Who) -> HTMLResponse:
    """Failed and unknown posts first (newest first), then the channels."""
    with database(request) as session:
        failures = posts_in_states(session, TROUBLE, limit=FAILURES)
        total = count_in_states(session, TROUBLE) if len(failures) == FAILURES else len(failures)
        waiting = posts_in_states(session, [D.PENDING.value, D.SENDING.value], limit=50)
    late = [
        post for post in waiting if "past" in post.warnings or "channel_paused" in post.warnings
    ]
    context = {
        "failures": failures,
        "failures_total": total,
        "late": late,
        "channels": _channels(request),
        "health": None,
    }
    return render(request, "posts.html", context, who=who)


@router.post("/channels/check", response_class=HTMLResponse, dependencies=CSRF)
def channels_check(request: Request, who: Planning) -> HTMLResponse:
    """Ask every channel's publisher whether its credentials work (nothing is posted)."""
    health = check_channels(request.app.state.engine, settings_of(request))
    with database(request) as session:
        failures = posts_in_states(session, TROUBLE, limit=FAILURES)
        total = count_in_states(session, TROUBLE)
    context = {
        "failures": failures,
        "failures_total": total,
        "late": [],
        "channels": _channels(request),
        "health": health,
    }
    return render(request, "posts.html", context, who=who)


@router.post("/channels/{name}/{change}", dependencies=CSRF)
def channel_pause(
    name: str,
    change: str,
    request: Request,
    who: Planning,
    reason: Annotated[str | None, Form()] = None,
) -> RedirectResponse:
    """Pause a channel (its posts wait) or resume it."""
    lang = language(request)
    try:
        with database(request) as session:
            if change == "pause":
                pause_channel(session, name, reason or None, actor=who.actor)
            elif change == "resume":
                resume_channel(session, name, actor=who.actor)
            else:
                raise PesisirError(change)
        flash(request, t(lang, f"web.posts.done_{change}", channel=name))
    except PesisirError as error:
        flash(request, t(lang, "moderation.answer.invalid", error=error), "error")
    return back(request, "/posts")


@router.get("/posts/{delivery_id}", response_class=HTMLResponse)
def post_page(delivery_id: int, request: Request, who: Who) -> HTMLResponse:
    """One post: what its channel will show (the composer's output), its state and error."""
    with database(request) as session:
        found = slot_posts(session, [delivery_id])
        if not found:
            return render(
                request,
                "error.html",
                {"message_key": "web.error.not_found"},
                who=who,
                status_code=404,
            )
        preview = preview_post(session, settings_of(request), delivery_id)
    return render(request, "post.html", {"post": found[0], "preview": preview}, who=who)


@router.post("/posts/{delivery_id}/{change}", dependencies=CSRF)
def post_change(  # noqa: PLR0917 - path and form fields
    delivery_id: int,
    change: str,
    request: Request,
    who: Planning,
    caption: Annotated[str | None, Form()] = None,
    url: Annotated[str | None, Form()] = None,
) -> RedirectResponse:
    """Retry, cancel, mark sent, or set the post's own caption (all audited)."""
    lang = language(request)
    try:
        with database(request) as session:
            if change == "retry":
                deliveries.resolve(session, delivery_id, D.PENDING, actor=who.actor)
            elif change == "cancel":
                cancel_post(session, delivery_id=delivery_id, actor=who.actor)
            elif change == "mark-sent":
                deliveries.resolve(session, delivery_id, D.SENT, actor=who.actor, url=url or None)
            elif change == "caption":
                deliveries.set_caption(session, delivery_id, caption, actor=who.actor)
            else:
                raise PesisirError(change)
        flash(request, t(lang, f"web.posts.done_{change.replace('-', '_')}", id=delivery_id))
    except PesisirError as error:
        flash(request, t(lang, "moderation.answer.invalid", error=error), "error")
    return back(request, f"/posts/{delivery_id}")
