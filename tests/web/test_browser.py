"""The dashboard in real Chromium (phone first, then a laptop): log in with a link, approve a
story from the queue, drag a post in the calendar and find it moved in the database, see a
failed post and retry it, open the map. Every page is saved as a screenshot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from core.delivery_table import Delivery
from core.models import Submission
from tests.web.browser import LAPTOP, PHONE
from tests.web.conftest import Site
from tests.web.world import World, build_world


@pytest.fixture
def world(site: Site) -> World:
    return build_world(site.engine, site.settings)


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A phone-sized page that fails the test on any script error or failed request."""
    context = browser.new_context(
        viewport=PHONE,
        has_touch=True,
        device_scale_factor=2,
        locale="id-ID",
        timezone_id="Asia/Makassar",
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "response",
        lambda r: r.status >= 400 and r.status != 410 and problems.append(f"{r.status} {r.url}"),
    )
    page.problems = problems
    yield page
    context.close()
    assert problems == []


def shoot(page: Any, folder: Path, name: str) -> None:
    """The page at the phone's size, then at a laptop's (full page each)."""
    size = page.viewport_size
    page.screenshot(path=str(folder / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(LAPTOP)
    page.wait_for_timeout(150)
    page.screenshot(path=str(folder / f"{name}-laptop.png"), full_page=True)
    page.set_viewport_size(size)


def log_in(page: Any, site: Site, role: str, name: str, folder: Path | None = None) -> None:
    page.goto(f"{site.url}/login/{site.link(role, name)}")
    if folder is not None:
        shoot(page, folder, "login")
    page.click("#login")
    page.wait_for_url(f"{site.url}/queue")


def test_log_in_with_a_link_and_approve_from_the_queue(
    site: Site, world: World, phone: Any, artifacts_dir: Path
) -> None:
    log_in(phone, site, "moderator", "Ana", artifacts_dir)
    item = phone.locator(f"#story-{world.refs['drought']}")
    assert item.is_visible()
    thumbs = phone.locator(f"#story-{world.refs['flood']} img")
    assert thumbs.count() == 2
    thumbs.first.scroll_into_view_if_needed()
    phone.wait_for_function(  # a real rendition, served to a logged-in moderator
        "document.querySelector('#story-SP-RB7K img').naturalWidth > 0"
    )
    shoot(phone, artifacts_dir, "queue")
    item.get_by_role("button").click()
    phone.wait_for_selector(".flash.ok")
    with Session(site.engine) as session:
        story = session.get(Submission, world.ids["drought"])
        assert story is not None and story.state == "approved"
    phone.goto(f"{site.url}/stories/{world.refs['flood']}")
    phone.wait_for_selector("#minimap[data-ready='1']")
    assert phone.locator("mark.pii").first.inner_text() == "0812 3456 7890"
    shoot(phone, artifacts_dir, "story")


def test_drag_a_post_to_another_slot(
    site: Site, world: World, phone: Any, artifacts_dir: Path
) -> None:
    log_in(phone, site, "campaign", "Citra")
    phone.set_viewport_size(LAPTOP)
    post_id = world.waiting_posts[0]
    with Session(site.engine) as session:
        before = session.get(Delivery, post_id)
        assert before is not None
        was = before.scheduled_at
    start = (was + timedelta(hours=8)).date().isoformat()
    phone.goto(f"{site.url}/calendar?campaign=adil-untuk-bumi&start={start}")
    source = phone.locator(f"#post-{post_id}")
    target = phone.locator(".slot").filter(has_not=phone.locator(".post")).first
    wanted = target.get_attribute("data-at")
    with phone.expect_navigation():
        # Held by its state badge: a press on the post's link opens the post instead.
        source.locator(".badge").drag_to(target)
    phone.wait_for_selector(".flash")
    with Session(site.engine) as session:
        after = session.get(Delivery, post_id)
        assert after is not None and after.scheduled_at != was
        local = after.scheduled_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Makassar"))
        assert local.strftime("%Y-%m-%d %H:%M") == wanted
    phone.set_viewport_size(PHONE)
    shoot(phone, artifacts_dir, "calendar-week")
    phone.goto(f"{site.url}/calendar?view=month")
    shoot(phone, artifacts_dir, "calendar-month")
    phone.goto(f"{site.url}/posts/{post_id}")
    shoot(phone, artifacts_dir, "post-preview")


def test_see_a_failed_post_and_retry_it(
    site: Site, world: World, phone: Any, artifacts_dir: Path
) -> None:
    log_in(phone, site, "campaign", "Citra")
    phone.goto(f"{site.url}/posts")
    failure = phone.locator(f"#failure-{world.failed_post}")
    assert "PESISIR_MASTODON" in failure.locator("pre").inner_text()
    shoot(phone, artifacts_dir, "posts")
    failure.get_by_role("button", name="Coba lagi").click()
    phone.wait_for_selector(".flash.ok")
    with Session(site.engine) as session:
        post = session.get(Delivery, world.failed_post)
        assert post is not None and post.state == "pending"


def test_open_the_map_and_the_people(
    site: Site, world: World, phone: Any, artifacts_dir: Path
) -> None:
    log_in(phone, site, "admin", "Admin")
    phone.goto(f"{site.url}/map")
    phone.wait_for_selector("#map[data-ready]")
    assert int(phone.get_attribute("#map", "data-ready") or 0) >= 5
    assert phone.locator("#map path.leaflet-interactive").count() > 10  # outline and markers
    shoot(phone, artifacts_dir, "map")
    phone.goto(f"{site.url}/people")
    shoot(phone, artifacts_dir, "people")


def test_download_an_export_from_the_reports_page(
    site: Site, world: World, phone: Any, artifacts_dir: Path
) -> None:
    log_in(phone, site, "campaign", "Citra")
    phone.goto(f"{site.url}/reports")
    shoot(phone, artifacts_dir, "reports")
    with phone.expect_download() as downloading:
        phone.click("#export button.primary")
    download = downloading.value
    assert download.suggested_filename.endswith(".csv")
    rows = Path(download.path()).read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("ref,")
    # Approved stories are exported; the one still waiting for a moderator is not.
    exported = {row.split(",")[0] for row in rows[1:]}
    assert world.refs["mangrove"] in exported
    assert world.refs["drought"] not in exported
