"""The dashboard's lists never cut silently: the queue a page at a time (a "more" link, plain
and htmx, carries the filters and the cursor; following it shows the rest, each story once),
and the posts page says how many failures it leaves out and where to see them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from core.delivery_table import Delivery
from core.models import Channel, Contributor, Submission
from tests.web.conftest import Site
from web.routes import posts as posts_route
from web.routes.queue import PAGE

START = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
STORY = re.compile(r'id="story-(SP-[A-Z0-9]+)"')
MORE = re.compile(r'<a class="button" href="\?([^"]+)"')


def _stories(site: Site, count: int) -> list[str]:
    refs = []
    with Session(site.engine) as session:
        person = Contributor()
        session.add(person)
        session.flush()
        for number in range(count):
            at = START + timedelta(minutes=number // 3)  # three at each minute
            theme = "abrasi" if number % 2 else "banjir-rob"
            session.add(
                Submission(
                    ref=f"SP-Q{number:03d}",
                    contributor_id=person.id or 0,
                    state="pending_review",
                    text=f"Cerita nomor {number} dari pantai Oesapa.",
                    themes=[{"slug": theme, "score": 0.9}],
                    submitted_at=at,
                    created_at=at,
                )
            )
            refs.append(f"SP-Q{number:03d}")
        session.commit()
    return refs


def test_the_queue_pages_with_a_more_link(site: Site) -> None:
    refs = _stories(site, PAGE + 7)
    client = site.login("moderator")
    first = client.get("/queue")
    assert first.status_code == 200
    assert STORY.findall(first.text) == refs[:PAGE]
    link = MORE.search(first.text)
    assert link is not None
    query = link.group(1).replace("&amp;", "&")
    rest = client.get(f"/queue?{query}", headers={"HX-Request": "true"})
    assert rest.status_code == 200 and "<html" not in rest.text  # only the rows, for htmx
    assert STORY.findall(rest.text) == refs[PAGE:]
    assert MORE.search(rest.text) is None
    plain = client.get(f"/queue?{query}")  # the same link without JavaScript: a whole page
    assert "<html" in plain.text and STORY.findall(plain.text) == refs[PAGE:]


def test_filters_travel_with_the_cursor(site: Site) -> None:
    refs = _stories(site, 2 * PAGE + 4)
    client = site.login("viewer")
    wanted = [ref for number, ref in enumerate(refs) if number % 2]  # the abrasi ones
    seen: list[str] = []
    url = "/queue?theme=abrasi&q=pantai"
    while url:
        page = client.get(url)
        seen += STORY.findall(page.text)
        link = MORE.search(page.text)
        url = f"/queue?{link.group(1).replace('&amp;', '&')}" if link else ""
        assert not link or ("theme=abrasi" in url and "q=pantai" in url)
    assert seen == wanted


def test_the_posts_page_says_how_many_failures_it_does_not_show(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(posts_route, "FAILURES", 2)
    with Session(site.engine) as session:
        channel = Channel(name="outbox-1", kind="outbox")
        person = Contributor()
        session.add_all([channel, person])
        session.flush()
        for number in range(3):
            story = Submission(ref=f"SP-F{number:03d}", contributor_id=person.id or 0)
            session.add(story)
            session.flush()
            session.add(
                Delivery(
                    submission_id=story.id or 0,
                    channel_id=channel.id or 0,
                    scheduled_at=START,
                    state="failed",
                    last_error="HTTP 500",
                )
            )
        session.commit()
    client = site.login("campaign")
    page = client.get("/posts").text
    assert page.count('class="card failure"') == 2
    assert "The newest 2 of 3 are shown" in page or "2 yang terbaru dari 3" in page
    monkeypatch.setattr(posts_route, "FAILURES", 3)
    assert 'id="more-failures"' not in client.get("/posts").text
