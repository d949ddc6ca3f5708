"""`pesisir campaign|channel|schedule|unschedule|autofill|posts|worker`: the campaign team's
commands and the dispatch worker."""

from __future__ import annotations

import getpass
import json
import os
import signal
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import common
from core.clock import format_local, parse_day, parse_local_time
from core.errors import InvalidInput, PesisirError
from core.states import DeliveryState

if TYPE_CHECKING:  # imported where used: `--help` loads no database library
    from sqlmodel import Session

    from core.config import Settings
    from core.models import Campaign, Channel

campaign_app = typer.Typer(
    help="Campaigns: hashtags, dates, channels, time slots.", no_args_is_help=True
)
channel_app = typer.Typer(
    help="Channels posts go to (outbox, Telegram, Mastodon, ...).", no_args_is_help=True
)
posts_app = typer.Typer(help="The calendar of posts and hand-checks on them.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@contextmanager
def _session() -> Iterator[tuple[Session, Settings]]:
    """A committed session; known errors become a kind message and exit code 1."""
    from core.db import session_scope

    settings = common.load_settings()
    engine = common.open_database(settings)
    try:
        with session_scope(engine) as session:
            yield session, settings
    except PesisirError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


def _table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]
    typer.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if not rows:
        typer.echo("(none)")


def _campaign_dict(campaign: Campaign) -> dict[str, Any]:
    from publishers.campaigns import format_slots

    return {
        "slug": campaign.slug,
        "name": campaign.name,
        "hashtags": campaign.hashtags,
        "channels": campaign.channels,
        "slots": format_slots(campaign.slots),
        "timezone": campaign.timezone,
        "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on,
        "theme_filter": campaign.theme_filter,
        "place_filter": campaign.place_filter,
        "paused": campaign.paused,
    }


def _channel_dict(channel: Channel) -> dict[str, Any]:
    return {
        "name": channel.name,
        "kind": channel.kind,
        "config": channel.config,
        "rate_per_minute": channel.rate_per_minute,
        "paused": channel.paused,
        "paused_reason": channel.paused_reason,
    }


def _parse_date(value: str | None) -> date | None:
    try:
        return parse_day(value)
    except InvalidInput as problem:
        raise typer.BadParameter(str(problem)) from None


# -- campaigns --------------------------------------------------------------------------------


@campaign_app.command("create")
def campaign_create(  # noqa: PLR0917 - Typer maps each parameter to an option
    slug: Annotated[str, typer.Argument(help="Short name, e.g. adil-untuk-bumi.")] = "",
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    hashtag: Annotated[list[str] | None, typer.Option(help="Campaign hashtag (repeat).")] = None,
    channel: Annotated[list[str] | None, typer.Option(help="Channel name (repeat).")] = None,
    slots: Annotated[str, typer.Option(help="Local slots, e.g. 'mon,wed,fri@09:00,19:00'.")] = "",
    starts: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD.")] = None,
    ends: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD.")] = None,
    timezone: Annotated[str | None, typer.Option(help="Time zone of the slots.")] = None,
    theme: Annotated[list[str] | None, typer.Option(help="Only stories with this theme.")] = None,
    place: Annotated[list[str] | None, typer.Option(help="Only stories from this place.")] = None,
    default: Annotated[
        bool, typer.Option("--default", help="Create the demo #AdilUntukBumi campaign.")
    ] = False,
) -> None:
    """Create a campaign (or, with --default, the #AdilUntukBumi demo campaign)."""
    from publishers.campaigns import create_campaign, ensure_default_campaign, format_slots

    with _session() as (session, settings):
        if default:
            made = ensure_default_campaign(session, channels=channel or ["outbox"])
        else:
            if not slug:
                raise typer.BadParameter("give a SLUG, or --default")
            made = create_campaign(
                session,
                slug=slug,
                name=name or slug,
                hashtags=hashtag or [],
                channels=channel or [],
                slots=slots,
                starts_on=_parse_date(starts),
                ends_on=_parse_date(ends),
                timezone=timezone or settings.timezone,
                theme_filter=theme or [],
                place_filter=place or [],
            )
        typer.echo(f"Campaign {made.slug}: {format_slots(made.slots) or 'no slots'}")


@campaign_app.command("list")
def campaign_list(as_json: JsonOption = False) -> None:
    """List campaigns."""
    from publishers.campaigns import list_campaigns

    with _session() as (session, _settings):
        found = [_campaign_dict(c) for c in list_campaigns(session)]
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    _table(
        [
            (
                c["slug"],
                c["name"],
                " ".join(f"#{h}" for h in c["hashtags"]),
                ",".join(c["channels"]),
                c["slots"],
                "paused" if c["paused"] else "active",
            )
            for c in found
        ],
        ["slug", "name", "hashtags", "channels", "slots", "state"],
    )


@campaign_app.command("show")
def campaign_show(slug: str, as_json: JsonOption = False) -> None:
    """Show one campaign and its upcoming posts."""
    from publishers.calendar import calendar
    from publishers.campaigns import get_campaign

    with _session() as (session, _settings):
        campaign = get_campaign(session, slug)
        info = _campaign_dict(campaign)
        info["posts"] = [
            r.as_dict() for r in calendar(session, timezone=campaign.timezone, campaign_slug=slug)
        ]
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    for key, value in info.items():
        if key != "posts":
            typer.echo(f"{key:>13}: {value}")
    typer.echo("")
    _table(
        [(p["at_local"], p["ref"], p["channel"], p["state"], p["url"]) for p in info["posts"]],
        ["when (local)", "story", "channel", "state", "url"],
    )


@campaign_app.command("pause")
def campaign_pause(slug: str) -> None:
    """Pause a campaign: nothing of it is scheduled or sent until resumed."""
    from publishers.campaigns import set_paused

    with _session() as (session, _settings):
        set_paused(session, slug, True)
    typer.echo(f"Campaign {slug} paused.")


@campaign_app.command("resume")
def campaign_resume(slug: str) -> None:
    """Resume a paused campaign."""
    from publishers.campaigns import set_paused

    with _session() as (session, _settings):
        set_paused(session, slug, False)
    typer.echo(f"Campaign {slug} resumed.")


# -- channels ---------------------------------------------------------------------------------


def _parse_config(items: Sequence[str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"--config {item!r}: write key=value")
        config[key.strip()] = value
    return config


@channel_app.command("add")
def channel_add(
    name: str,
    kind: Annotated[
        str,
        typer.Option(help="e.g. telegram_channel, mastodon or instagram (a wrong one lists all)"),
    ],
    config: Annotated[list[str] | None, typer.Option(help="Non-secret key=value (repeat).")] = None,
    rate: Annotated[int | None, typer.Option(help="Posts per minute at most.")] = None,
) -> None:
    """Add a channel. Secrets (tokens, passwords) go in PESISIR_* settings, never here."""
    from publishers.channels_config import add_channel

    with _session() as (session, _settings):
        made = add_channel(
            session, name=name, kind=kind, config=_parse_config(config or []), rate_per_minute=rate
        )
        typer.echo(
            f"Channel {made.name} ({made.kind}), {made.rate_per_minute or 'no'} posts/min limit"
        )


@channel_app.command("list")
def channel_list(as_json: JsonOption = False) -> None:
    """List channels."""
    from publishers.channels_config import list_channels

    with _session() as (session, _settings):
        found = [_channel_dict(c) for c in list_channels(session)]
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    _table(
        [
            (
                c["name"],
                c["kind"],
                c["rate_per_minute"],
                f"paused: {c['paused_reason']}" if c["paused"] else "active",
                json.dumps(c["config"], ensure_ascii=False),
            )
            for c in found
        ],
        ["name", "kind", "per min", "state", "config"],
    )


@channel_app.command("pause")
def channel_pause(name: str, reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Pause a channel: its posts wait."""
    from publishers.channels_config import pause_channel

    with _session() as (session, _settings):
        pause_channel(session, name, reason, actor=_actor())
    typer.echo(f"Channel {name} paused.")


@channel_app.command("resume")
def channel_resume(name: str) -> None:
    """Resume a channel (after fixing its credentials, for example)."""
    from publishers.channels_config import get_channel, resume_channel

    with _session() as (session, _settings):
        get_channel(session, name)
        resume_channel(session, name, actor=_actor())
    typer.echo(f"Channel {name} resumed.")


# -- scheduling -------------------------------------------------------------------------------


def schedule(
    ref: Annotated[str, typer.Argument(help="Story reference, e.g. SP-7K3Q.")],
    campaign: Annotated[str, typer.Option(help="Campaign slug.")],
    at: Annotated[
        str | None,
        typer.Option(
            help="Local time '2026-11-25 09:00' or ISO with offset; default: next free slot."
        ),
    ] = None,
    channel: Annotated[list[str] | None, typer.Option(help="Only these channels (repeat).")] = None,
) -> None:
    """Schedule an approved story in a campaign."""
    from core.stories import find_story
    from publishers.calendar import rows_by_id, story_posts
    from publishers.campaigns import get_campaign
    from publishers.scheduling import schedule_story

    with _session() as (session, _settings):
        target = get_campaign(session, campaign)
        when = parse_local_time(at, target.timezone) if at else None
        story = find_story(session, ref)
        made = schedule_story(
            session,
            submission_id=story.id or 0,
            campaign_slug=campaign,
            at=when,
            channels=channel,
            actor=_actor(),
        )
        posts = story_posts(session, story.id or 0)
        local = rows_by_id(session, [post.id for post in posts], timezone=target.timezone)
        shown = {r.id: r.at_local for r in local}
    typer.echo(f"{story.ref} scheduled ({len(made)} channel(s)):")
    for post in posts:
        shown_at = shown.get(post.id, post.scheduled_at.isoformat())
        typer.echo(f"  {shown_at}  {post.channel}  {post.state}")


def unschedule_command(
    ref: str,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign.")] = None,
    channel: Annotated[list[str] | None, typer.Option(help="Only these channels.")] = None,
) -> None:
    """Cancel a story's pending posts; it goes back to approved when none are left."""
    from core.stories import find_story
    from publishers.scheduling import unschedule

    with _session() as (session, _settings):
        story = find_story(session, ref)
        count = unschedule(
            session,
            submission_id=story.id or 0,
            actor=_actor(),
            campaign_slug=campaign,
            channels=channel,
        )
    typer.echo(f"{count} post(s) of {story.ref} cancelled.")


def autofill_command(
    campaign: Annotated[str, typer.Option(help="Campaign slug.")],
    days: Annotated[
        int | None,
        typer.Option(help="How many days ahead to fill (default: to the campaign's end, or 28)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Spread approved stories over a campaign's empty slots, oldest first, mixing themes."""
    from publishers.calendar import rows_by_id
    from publishers.campaigns import get_campaign
    from publishers.scheduling import autofill

    with _session() as (session, _settings):
        target = get_campaign(session, campaign)
        made = autofill(session, campaign, horizon_days=days, actor=_actor())
        ids = {d.id for d in made}
        rows = rows_by_id(session, sorted(ids), timezone=target.timezone)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2))
        return
    _table([(r.at_local, r.ref, r.channel) for r in rows], ["when (local)", "story", "channel"])


# -- the calendar -----------------------------------------------------------------------------


@posts_app.command("list")
def posts_list(
    status: Annotated[
        str | None, typer.Option(help="pending, sending, sent, failed, unknown, cancelled")
    ] = None,
    campaign: Annotated[str | None, typer.Option(help="Only this campaign.")] = None,
    limit: Annotated[int, typer.Option(help="posts per page (1-500)")] = 50,
    after: Annotated[
        str | None, typer.Option(help="the cursor printed at the end of the previous page")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The calendar, a page at a time: each post's local time, story, campaign, channel, state
    and link, by time."""
    from publishers.calendar import calendar_page

    with _session() as (session, settings):
        page = calendar_page(
            session,
            timezone=settings.timezone,
            status=status,
            campaign_slug=campaign,
            limit=limit,
            after=after,
        )
    rows = page.rows
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2))
        if page.next_cursor:
            typer.echo(f"next page: --after {page.next_cursor}", err=True)
        return
    _table(
        [
            (
                r.id,
                r.at_local,
                r.ref,
                r.campaign,
                r.channel,
                r.state,
                r.url or "",
                (r.last_error or "")[:60],
            )
            for r in rows
        ],
        [
            "id",
            f"when ({settings.timezone})",
            "story",
            "campaign",
            "channel",
            "state",
            "url",
            "last error",
        ],
    )
    if page.next_cursor:
        typer.echo(
            f"More posts than these {len(rows)}: the same command with --after {page.next_cursor}"
        )


def _resolve(delivery_id: int, target: DeliveryState, url: str | None = None) -> None:
    from publishers.deliveries import resolve

    with _session() as (session, _settings):
        resolve(session, delivery_id, target, actor=_actor(), url=url)
    typer.echo(f"Post #{delivery_id} is now {target.value}.")


@posts_app.command("retry")
def posts_retry(delivery_id: int) -> None:
    """Send a failed or unknown post again (check the channel first: it may be out already)."""
    _resolve(delivery_id, DeliveryState.PENDING)


@posts_app.command("mark-sent")
def posts_mark_sent(
    delivery_id: int, url: Annotated[str | None, typer.Option(help="Where the post is.")] = None
) -> None:
    """Record that an unknown post did go out (you found it on the channel)."""
    _resolve(delivery_id, DeliveryState.SENT, url)


@posts_app.command("move")
def posts_move(
    delivery_id: int,
    at: Annotated[str, typer.Option(help="Local time '2026-11-25 09:00' or ISO with offset.")],
) -> None:
    """Move a waiting post to another time (the campaign's dates apply)."""
    from publishers.scheduling import move_post

    with _session() as (session, settings):
        when = parse_local_time(at, settings.timezone)
        moved = move_post(session, delivery_id=delivery_id, at=when, actor=_actor())
    typer.echo(
        f"Post #{delivery_id} moved to {format_local(moved.scheduled_at, settings.timezone)}."
    )


@posts_app.command("cancel")
def posts_cancel(delivery_id: int) -> None:
    """Cancel a post that is pending, failed or unknown."""
    from publishers.scheduling import cancel_post

    with _session() as (session, _settings):
        cancel_post(session, delivery_id=delivery_id, actor=_actor())
    typer.echo(f"Post #{delivery_id} is now cancelled.")


# -- the worker -------------------------------------------------------------------------------


def worker(
    once: Annotated[bool, typer.Option("--once", help="Run one tick and exit.")] = False,
    worker_id: Annotated[str | None, typer.Option("--id", help="Name in claimed_by.")] = None,
) -> None:
    """Run dispatch alone (no bot) until Ctrl-C or SIGTERM; several may run on PostgreSQL."""
    from publishers.worker import run_worker

    settings = common.load_settings()
    engine = common.prepare_database(settings)
    name = worker_id or f"{socket.gethostname()}-{os.getpid()}"
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    typer.echo(f"Worker {name}: dispatching every {settings.dispatch_interval_seconds:g} s")
    try:
        stats = run_worker(engine, settings, worker_id=name, stop=stop, once=once)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    typer.echo(
        f"Worker {name} stopped: {stats.sent} sent, {stats.retried} to retry, "
        f"{stats.failed} failed, {stats.unknown} unknown"
    )


def register(app: typer.Typer) -> None:
    """Add the publishing commands to the `pesisir` app."""
    app.add_typer(campaign_app, name="campaign")
    app.add_typer(channel_app, name="channel")
    app.add_typer(posts_app, name="posts")
    app.command("schedule")(schedule)
    app.command("unschedule")(unschedule_command)
    app.command("autofill")(autofill_command)
    app.command("worker")(worker)
