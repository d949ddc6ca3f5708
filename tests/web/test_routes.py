"""Every page and action over real HTTP: each role allowed and refused, CSRF missing, links
reused or expired, sessions ended everywhere, login attempts limited, two people at once."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sqlmodel import Session, col, select

from core.models import AuditEvent, Submission
from moderation import access
from tests.web.conftest import Browser, Site, csrf_of, expire_links
from tests.web.world import World, build_world

ROLES = ("moderator", "campaign", "admin", "viewer")
EVERYONE = set(ROLES)


@pytest.fixture
def world(site: Site) -> World:
    return build_world(site.engine, site.settings)


def _pages(world: World) -> list[tuple[str, set[str]]]:
    """Every page, and who may see it."""
    with_photo = world.refs["flood"]
    return [
        ("/queue", EVERYONE),
        ("/queue?state=all&theme=banjir-rob&since=2020-01-01&q=rob", EVERYONE),
        (f"/stories/{with_photo}", EVERYONE),
        ("/calendar", EVERYONE),
        ("/calendar?view=month&campaign=adil-untuk-bumi", EVERYONE),
        ("/map", EVERYONE),
        ("/map/data.json?state=approved", EVERYONE),
        ("/map/outline.geojson", EVERYONE),
        ("/posts", EVERYONE),
        (f"/posts/{world.failed_post}", EVERYONE),
        ("/reports", {"campaign", "admin"}),
        ("/reports/export?format=csv&hxl=true&state=all", {"campaign", "admin"}),
        ("/reports/brief?from=2020-01-01&to=2030-12-31&lang=en", {"campaign", "admin"}),
        ("/people", {"admin"}),
        ("/files/original/1", {"moderator", "admin"}),
    ]


def _actions(world: World, other: int) -> list[tuple[str, dict[str, Any], set[str]]]:
    """Every action (path, form), and who may do it."""
    return [
        (
            f"/stories/{world.refs['drought']}/act",
            {"action": "approve", "version": 1},
            {"moderator", "admin"},
        ),
        (
            f"/stories/{world.refs['tray']}/act",
            {"action": "schedule", "version": 99, "campaign": "x"},
            {"moderator", "campaign", "admin"},
        ),
        (
            "/calendar/move",
            {"delivery_id": world.waiting_posts[0], "at": "2030-01-01 09:00"},
            {"campaign", "admin"},
        ),
        (
            "/calendar/schedule",
            {
                "ref": world.refs["tray"],
                "version": 99,
                "campaign": "adil-untuk-bumi",
                "at": "2030-01-01 09:00",
            },
            {"campaign", "admin"},
        ),
        ("/calendar/autofill", {"campaign": "nope"}, {"campaign", "admin"}),
        (f"/posts/{world.failed_post}/caption", {"caption": "Teks sendiri"}, {"campaign", "admin"}),
        (f"/posts/{world.sent_post}/retry", {}, {"campaign", "admin"}),
        (f"/posts/{world.sent_post}/cancel", {}, {"campaign", "admin"}),
        (f"/posts/{world.sent_post}/mark-sent", {"url": "https://x.test/1"}, {"campaign", "admin"}),
        ("/channels/outbox/pause", {"reason": "test"}, {"campaign", "admin"}),
        ("/channels/outbox/resume", {}, {"campaign", "admin"}),
        ("/people", {"name": "Dewi", "role": "viewer"}, {"admin"}),
        (f"/people/{other}/role", {"role": "campaign"}, {"admin"}),
        (f"/people/{other}/link", {}, {"admin"}),
        ("/language", {"lang": "en"}, EVERYONE),
    ]


def test_every_page_for_every_role_and_nobody(site: Site, world: World) -> None:
    clients = {role: site.login(role) for role in ROLES}
    for path, allowed in _pages(world):
        for role, client in clients.items():
            status = client.get(path, allow_redirects=False).status_code
            assert status == (200 if role in allowed else 403), (path, role, status)
        anonymous = requests.get(site.url + path, allow_redirects=False, timeout=10)
        assert anonymous.status_code == 303 and "/login?next=" in anonymous.headers["location"], (
            path
        )
    with Session(site.engine) as session:
        refused = session.exec(select(AuditEvent).where(AuditEvent.action == "refused")).all()
        assert {e.actor for e in refused} == {"web:Campaign", "web:Moderator", "web:Viewer"}


def test_every_action_for_every_role_and_without_csrf(site: Site, world: World) -> None:
    clients = {role: site.login(role) for role in ROLES}
    with Session(site.engine) as session:
        other = access.add_person(session, name="Zed", role="viewer", actor="cli:test").id
        session.commit()
    for path, data, allowed in _actions(world, other):
        for role, client in clients.items():
            missing = client.post(path, data=data, allow_redirects=False)
            assert missing.status_code == 403, ("no csrf", path, role)
            wrong = client.post(path, data={**data, "csrf": "forged"}, allow_redirects=False)
            assert wrong.status_code == 403, ("forged csrf", path, role)
            done = client.act(path, **data)
            assert done.status_code == (200 if role in allowed else 403), (path, role)
        anonymous = requests.post(site.url + path, data=data, allow_redirects=False, timeout=10)
        assert anonymous.status_code in (401, 403), path


def test_a_decision_is_audited_with_the_person_and_the_second_person_is_told_who(
    site: Site, world: World
) -> None:
    ana, budi = site.login("moderator", "Ana"), site.login("moderator", "Budi")
    ref = world.refs["drought"]
    page = budi.get(f"/stories/{ref}").text  # Budi looks (version 2), then Ana approves
    version = int(page.split('name="version" value="')[1].split('"')[0])
    approved = ana.act(f"/stories/{ref}/act", action="approve", version=version)
    assert approved.status_code == 200 and "disetujui" in approved.text
    late = budi.act(f"/stories/{ref}/act", action="reject", version=version, reason="not_climate")
    assert "Ana" in late.text and "flash error" in late.text
    with Session(site.engine) as session:
        story = session.get(Submission, world.ids["drought"])
        assert story is not None and story.state == "approved"
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.submission_id == story.id)
            .order_by(col(AuditEvent.id))
        ).all()
        assert rows[-1].actor == "web:Ana" and rows[-1].action == "approve"
        assert not any(e.actor == "web:Budi" for e in rows)


def test_a_viewer_sees_no_original_no_exact_point_and_no_buttons(site: Site, world: World) -> None:
    with Session(site.engine) as session:
        story = session.get(Submission, world.ids["flood"])
        assert story is not None
        story.exact_lat, story.exact_lon = -10.1491234, 123.6531234
        session.add(story)
        session.commit()
    viewer = site.login("viewer").get(f"/stories/{world.refs['flood']}").text
    moderator = site.login("moderator").get(f"/stories/{world.refs['flood']}").text
    assert "/files/original/" not in viewer and "/files/original/" in moderator
    assert "-10.1491234" not in viewer and "-10.1491234" in moderator
    assert 'data-exact="no"' in viewer and 'data-exact="yes"' in moderator
    assert 'id="actions"' not in viewer and 'id="actions"' in moderator
    assert '<mark class="pii"' in viewer  # personal data is highlighted for everyone


def test_links_work_once_and_expire(site: Site) -> None:
    token = site.link("moderator", "Ana")
    client = Browser(site.url)
    page = client.get(f"/login/{token}")
    preview = requests.get(f"{site.url}/login/{token}", timeout=10)  # a chat's link preview
    assert preview.status_code == 200
    assert client.post(f"/login/{token}", data={"csrf": csrf_of(page.text)}).url.endswith("/queue")
    other = Browser(site.url)
    again = other.post(f"/login/{token}", data={"csrf": csrf_of(other.get("/login").text)})
    assert again.status_code == 410 and "sudah dipakai" in again.text
    late = site.link("moderator", "Ana")
    expire_links(site.engine)
    third = Browser(site.url)
    shown = third.get(f"/login/{late}")
    assert shown.status_code == 410 and "kedaluwarsa" in shown.text
    refused = third.post(f"/login/{late}", data={"csrf": csrf_of(shown.text)})
    assert refused.status_code == 410
    assert third.get("/queue", allow_redirects=False).status_code == 303


def test_log_out_everywhere_ends_every_session(site: Site) -> None:
    phone = site.login("moderator", "Ana")
    laptop = site.login("moderator", "Ana")
    assert laptop.get("/queue", allow_redirects=False).status_code == 200
    phone.act("/logout-everywhere")
    assert laptop.get("/queue", allow_redirects=False).status_code == 303
    assert phone.get("/queue", allow_redirects=False).status_code == 303
    with Session(site.engine) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == "web_logout_everywhere"))
        assert [e.actor for e in rows] == ["web:Ana"]


def test_a_new_role_or_disabling_ends_the_sessions(site: Site) -> None:
    admin, vera = site.login("admin", "Admin"), site.login("campaign", "Vera")
    with Session(site.engine) as session:
        vera_id = next(p.id for p in access.list_people(session) if p.name == "Vera")
    assert admin.act(f"/people/{vera_id}/role", role="viewer").status_code == 200
    assert vera.get("/calendar", allow_redirects=False).status_code == 303
    linked = admin.act(f"/people/{vera_id}/link")
    assert "/login/" in linked.text and 'id="new-link"' in linked.text
    admin.act(f"/people/{vera_id}/disable")
    url = linked.text.split('id="new-link"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert (
        requests.get(url.replace("http://127.0.0.1:8000", site.url), timeout=10).status_code == 410
    )


def test_login_attempts_are_limited(site: Site) -> None:
    client = Browser(site.url)
    csrf = csrf_of(client.get("/login").text)
    codes = [client.post(f"/login/guess-{n}", data={"csrf": csrf}).status_code for n in range(12)]
    assert codes[:10] == [410] * 10 and codes[10:] == [429, 429]


def test_actions_change_what_they_say(site: Site, world: World) -> None:
    team = site.login("campaign", "Citra")
    refused = team.act(f"/posts/{world.failed_post}/caption", caption="Hubungi 0812 3456 7890")
    assert (
        "flash error" in refused.text and "0812 3456 7890" not in refused.text.split("textarea")[1]
    )
    saved = team.act(f"/posts/{world.failed_post}/caption", caption="Rob di Oesapa, lagi.")
    assert 'id="post-text">Rob di Oesapa, lagi.' in saved.text
    checked = team.act("/channels/check")  # the same checks as `pesisir check`
    assert "✗ <strong>channel mastodon</strong>" in checked.text
    assert "✓ <strong>channel outbox</strong>" in checked.text
    paused = team.act("/channels/outbox/pause", reason="maintenance")
    assert "Kanal outbox dijeda" in paused.text
    retried = team.act(f"/posts/{world.failed_post}/retry")
    assert "akan dikirim lagi" in retried.text
    with Session(site.engine) as session:
        actors = {
            e.actor
            for e in session.exec(select(AuditEvent))
            if e.action in {"post_caption", "channel_paused", "delivery_pending"}
        }
        assert actors == {"web:Citra"}


def test_english_by_choice_and_times_with_their_zone(site: Site, world: World) -> None:
    client = site.login("viewer", "Vera")
    indonesian = client.get("/queue").text
    assert "<h1>Cerita</h1>" in indonesian and " WITA</time>" in indonesian
    english = client.act("/language?next=/queue", lang="en")
    assert english.url.endswith("/queue") and "<h1>Stories</h1>" in english.text
    assert 'lang="en"' in english.text
    outside = client.act("/language?next=//evil.example/", lang="id")
    assert outside.url == site.url + "/queue"
    outside = client.act("/language?next=/\\evil.example/", lang="id")
    assert outside.url == site.url + "/queue"
