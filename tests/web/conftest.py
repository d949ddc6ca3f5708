"""The dashboard served over real HTTP on loopback, people of every role logged in through
one-time links, and a small world of stories, campaigns, channels and posts to look at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import requests
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.clock import utcnow
from core.config import Settings
from moderation import access
from web import create_app
from web.server import serving

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Site:
    """A served dashboard: its address, database and settings."""

    url: str
    engine: Engine
    settings: Settings

    def link(self, role: str, name: str | None = None) -> str:
        """A fresh one-time login link (its token) for a person of `role`."""
        with Session(self.engine) as session:
            person = access.person_named(session, name or role.title(), role, actor="cli:test")
            token = access.issue_link(session, person.id, issued_by="cli:test")
            session.commit()
        return token

    def login(self, role: str, name: str | None = None) -> Browser:
        """A logged-in HTTP client for a person of `role`."""
        client = Browser(self.url)
        token = self.link(role, name)
        page = client.get(f"/login/{token}")
        assert page.status_code == 200, page.text
        done = client.post(f"/login/{token}", data={"csrf": csrf_of(page.text)})
        assert done.status_code == 200 and done.url.endswith("/queue"), done.status_code
        client.csrf = csrf_of(done.text)
        return client


class Browser(requests.Session):
    """A requests session bound to the site's address, remembering the page's CSRF token."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.csrf = ""

    def request(
        self, method: str | bytes, url: str | bytes, *args: object, **kwargs: object
    ) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", 20)
        target = url if str(url).startswith("http") else self.base + str(url)
        return super().request(method, target, *args, **kwargs)  # type: ignore[arg-type]

    def act(self, path: str, **data: object) -> requests.Response:
        """POST a form with the CSRF token, as the page's forms do."""
        return self.post(path, data={"csrf": self.csrf, **data})


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    """Settings with a secret key and no map tiles (the tests never reach the internet)."""
    return settings.model_copy(
        update={"secret_key": SecretStr("test-secret-key-0123456789"), "map_tiles_url": ""}
    )


@pytest.fixture
def site(engine: Engine, web_settings: Settings) -> Iterator[Site]:
    """The dashboard on a free loopback port."""
    with serving(create_app(web_settings, engine)) as url:
        yield Site(url, engine, web_settings)


def expire_links(engine: Engine) -> None:
    """Every issued login link is eleven minutes old (beyond its ten)."""
    from sqlalchemy import update

    from core.models import LoginToken

    with Session(engine) as session:
        session.execute(update(LoginToken).values(expires_at=utcnow() - timedelta(minutes=1)))
        session.commit()


from tests.web.browser import browser  # noqa: E402, F401 - the session's one Chromium
