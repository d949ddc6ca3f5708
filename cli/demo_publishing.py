"""The demo's later steps: what the pipeline found, and the campaign team publishing."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlmodel import select

from cli.demo_moderation import _notifications_sent
from core.clock import utcnow
from core.db import session_scope
from core.errors import NotFound
from core.models import Media, Submission
from publishers.calendar import calendar
from publishers.campaigns import ensure_default_campaign, get_campaign, next_free_slot
from publishers.channels_config import add_channel, get_channel
from publishers.dispatcher import dispatch_due
from publishers.scheduling import schedule_story

if TYPE_CHECKING:
    from cli.demo import DemoContext


async def what_the_pipeline_found(ctx: DemoContext) -> None:
    """Themes with their evidence, the public place and its source, flags, renditions."""
    with session_scope(ctx.engine) as session:
        for person, ref in ctx.refs.items():
            story = session.exec(select(Submission).where(Submission.ref == ref)).one()
            ctx.echo(f"  {ref} ({person}), language: {story.lang}")
            for theme in story.themes:
                evidence = ", ".join(theme.get("evidence") or [])
                ctx.echo(f"    theme  {theme['slug']:<18} score {theme['score']:.2f}  ← {evidence}")
            ctx.echo(
                f"    place  {story.place_name} ({story.place_kind}), from {story.place_source}"
                f" — {story.place_evidence}  [exact point kept private]"
            )
            flags = ", ".join(sorted({flag["kind"] for flag in story.flags})) or "none"
            ctx.echo(f"    flags  {flags}")
            media = session.exec(select(Media).where(Media.submission_id == story.id)).all()
            for item in media:
                sizes = ", ".join(
                    f"{name} {info['width']}×{info['height']}"
                    for name, info in sorted(item.renditions.items())
                )
                ctx.echo(f"    photo  renditions without metadata: {sizes or item.error}")


async def campaign_team_publishes(ctx: DemoContext) -> None:
    """Schedule the approved story in #AdilUntukBumi, dispatch it, show the outbox post."""
    approved: list[str] = []
    with session_scope(ctx.engine) as session:
        try:
            get_channel(session, "outbox")
        except NotFound:
            add_channel(session, name="outbox", kind="outbox")
        ensure_default_campaign(session)
        campaign = get_campaign(session, "adil-untuk-bumi")
        slot = next_free_slot(session, campaign, utcnow())
        local = slot.astimezone(ZoneInfo(ctx.settings.timezone))
        ctx.echo(f"  campaign {campaign.slug}: next free slot {local:%a %d %b %H:%M} WITA")
        for ref in ctx.refs.values():
            story = session.exec(select(Submission).where(Submission.ref == ref)).one()
            if story.state != "approved":
                continue
            assert story.id is not None
            approved.append(ref)
            # The demo does not wait for the slot: it schedules for now.
            schedule_story(
                session,
                submission_id=story.id,
                campaign_slug=campaign.slug,
                at=utcnow(),
                channels=["outbox"],
                actor="cli:campaign-team",
            )
            ctx.echo(f"  campaign team → schedules {story.ref} on the outbox channel, now")
    if not approved:
        ctx.echo("  (no approved story to publish)")
        return
    stats = await asyncio.to_thread(dispatch_due, ctx.engine, ctx.settings, worker_id="demo")
    ctx.echo(f"  dispatcher → {stats.sent} sent, {stats.failed} failed")
    with session_scope(ctx.engine) as session:
        for row in calendar(session, timezone=ctx.settings.timezone):
            ctx.echo(f"  posts list → {row.ref} {row.channel} {row.state} {row.url or ''}")
    for post in sorted(ctx.settings.effective_outbox_dir.rglob("post.json")):
        body = json.loads(post.read_text(encoding="utf-8"))
        ctx.echo(f"  outbox post ({post.parent}):")
        for line in str(body.get("text", "")).splitlines():
            ctx.echo(f"    | {line}")
    await _notifications_sent(ctx)
    for name, ref in ctx.refs.items():
        if ref in approved:
            await ctx.user_does(ctx.people[name], "is told the story is published")
