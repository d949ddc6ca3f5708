"""`/masuk` through the real bot and the fake Bot API: a group admin and a listed moderator get
a one-time link that logs them in to the served dashboard; anyone else is refused (audited)."""

from __future__ import annotations

import asyncio
import re

import requests
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from cli.harness import running_bot, settings_for
from core.config import Settings
from core.i18n import t
from core.models import AuditEvent, LoginToken, Person
from faketelegram import FakeBotAPI
from tests.web.conftest import csrf_of
from web import create_app
from web.server import serving

GROUP_ID = -1009876500001
LINK = re.compile(r"(http://\S+/login/\S+)")


async def test_moderators_get_a_link_that_logs_them_in_once(
    fake: FakeBotAPI, settings: Settings, engine: Engine
) -> None:
    ana, budi, eve = fake.user(501, "Ana"), fake.user(502, "Budi"), fake.user(503, "Eve", "en")
    fake.group(GROUP_ID, members=(budi, eve), admins=(ana,))
    configured = settings_for(
        fake,
        settings,
        moderator_chat_id=GROUP_ID,
        moderator_ids=[budi.id],
        secret_key=SecretStr("test-secret-key-0123456789"),
        map_tiles_url="",
    )
    with serving(create_app(configured, engine)) as base:
        host, port = base.removeprefix("http://").split(":")
        configured = configured.model_copy(update={"web_host": host, "web_port": int(port)})
        async with running_bot(fake, configured, engine):
            urls = {}
            for person in (ana, budi):
                person.command("masuk")
                [reply] = await person.settle(timeout=10)
                found = LINK.search(str(reply["text"]))
                assert found, reply["text"]
                urls[person.first_name] = found.group(1)
            eve.command("masuk")
            [refusal] = await eve.settle(timeout=10)
            assert refusal["text"] == t("en", "bot.masuk.not_allowed")
        for name, url in urls.items():
            await asyncio.to_thread(_log_in_once, url, name)
    with Session(engine) as session:
        people = {p.name: p for p in session.exec(select(Person))}
        assert set(people) == {"Ana", "Budi"} and {p.role for p in people.values()} == {"moderator"}
        assert len(session.exec(select(LoginToken)).all()) == 2
        refused = session.exec(select(AuditEvent).where(AuditEvent.action == "refused")).one()
        assert refused.actor == "telegram:Eve" and refused.reason == "/masuk"


def _log_in_once(url: str, name: str) -> None:
    client = requests.Session()
    page = client.get(url, timeout=10)  # what a link preview does: nothing is used up
    assert page.status_code == 200 and name in page.text
    again = client.get(url, timeout=10)
    done = client.post(url, data={"csrf": csrf_of(again.text)}, timeout=10)
    assert done.status_code == 200 and done.url.endswith("/queue") and name in done.text
    other = requests.Session()
    reused = other.post(url, data={"csrf": csrf_of(other.get(url, timeout=10).text)}, timeout=10)
    assert reused.status_code == 410
