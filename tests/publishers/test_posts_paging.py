"""`pesisir posts list` a page at a time: every post exactly once across pages (many at the
same minute), filters by state and campaign, and the command says when more follow and how."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from cli.main import app
from core.config import Settings
from core.delivery_table import Delivery
from core.errors import InvalidInput
from core.models import Campaign, Channel
from publishers.calendar import calendar_page
from tests.publishers.dispatch_support import make_story

START = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
STATES = ("pending", "sent", "failed")


def _posts(engine: Engine) -> list[tuple[datetime, int, str, str]]:
    """27 posts over four instants: (time, id, state, campaign), in the calendar's order."""
    made = []
    with Session(engine) as session:
        campaigns = [Campaign(slug=slug, name=slug) for slug in ("satu", "dua")]
        channels = [Channel(name=f"outbox-{n}", kind="outbox") for n in range(3)]
        session.add_all([*campaigns, *channels])
        session.flush()
        for _ in range(9):
            story = make_story(session)
            for channel in channels:
                count = len(made)
                at = START + timedelta(minutes=30 * (count % 4))
                campaign = campaigns[count % 2]
                post = Delivery(
                    submission_id=story.id or 0,
                    campaign_id=campaign.id,
                    channel_id=channel.id or 0,
                    scheduled_at=at,
                    state=STATES[count % 3],
                    idempotency_key=f"paging-{count}",
                )
                session.add(post)
                session.flush()
                made.append((at, post.id or 0, post.state, campaign.slug))
        session.commit()
    return sorted(made)


def _walk(engine: Engine, **filters: object) -> list[int]:
    seen: list[int] = []
    cursor = None
    with Session(engine) as session:
        while True:
            page = calendar_page(
                session, timezone="Asia/Makassar", limit=4, after=cursor, **filters
            )  # type: ignore[arg-type]
            seen += [row.id for row in page.rows]
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor


def test_pages_hold_every_post_once_in_time_order(engine: Engine) -> None:
    posts = _posts(engine)
    assert _walk(engine) == [post_id for _, post_id, _, _ in posts]
    assert _walk(engine, status="failed") == [i for _, i, state, _ in posts if state == "failed"]
    assert _walk(engine, campaign_slug="dua") == [i for _, i, _, slug in posts if slug == "dua"]
    assert _walk(engine, campaign_slug="tidak-ada") == []
    with Session(engine) as session, pytest.raises(InvalidInput):
        calendar_page(session, timezone="Asia/Makassar", limit=0)


def test_posts_list_says_when_more_follow_and_how(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    posts = _posts(engine)
    monkeypatch.setenv("PESISIR_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PESISIR_DATABASE_URL", settings.effective_database_url)
    runner = CliRunner()
    first = runner.invoke(app, ["posts", "list", "--limit", "20"])
    assert first.exit_code == 0, first.output
    last = first.stdout.strip().splitlines()[-1]
    assert last.startswith("More posts than these 20: the same command with --after ")
    rest = runner.invoke(app, ["posts", "list", "--json", "--after", last.rsplit(" ", 1)[1]])
    assert rest.exit_code == 0, rest.output
    shown = [int(line.split()[0]) for line in first.stdout.splitlines()[1:21]]
    assert shown + [row["id"] for row in json.loads(rest.stdout)] == [p[1] for p in posts]
    everything = runner.invoke(app, ["posts", "list", "--limit", "500"])
    assert "More posts" not in everything.stdout
