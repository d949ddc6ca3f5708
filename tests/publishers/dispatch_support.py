"""Test publishers and story factories for the scheduling and dispatch tests.

Two publishers, registered under test names:
- `test-scripted`: plays a script of outcomes per channel (ok, retry, permanent, auth, crash);
- `test-http`: POSTs each post as JSON to a loopback HTTP server (the worker-process tests).
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import requests
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.config import Settings
from core.delivery_table import Delivery
from core.models import Contributor, Media, Notification, Submission
from publishers import registry
from publishers.base import (
    ALWAYS,
    NEVER,
    AuthError,
    PermanentError,
    Post,
    Publisher,
    Receipt,
    RetryableError,
    SetupHints,
    UncertainError,
)
from publishers.campaigns import create_campaign
from publishers.channels.mastodon import MastodonPublisher
from publishers.channels.outbox import OutboxPublisher
from publishers.channels_config import add_channel
from publishers.scheduling import schedule_story
from publishers.text import ChannelRules

HINTS = SetupHints("set it up", "fix the token", "try again", "look at the config")

# -- a scripted publisher -----------------------------------------------------------------------

#: channel name -> outcomes still to play ("ok", "retry", "retry:SECONDS", "maybe", "permanent",
#: "auth", "uncertain", "crash"); an empty script means "ok".
SCRIPTS: dict[str, deque[str]] = defaultdict(deque)
#: channel name -> (idempotency key, post) of every publish call
CALLS: dict[str, list[tuple[str, Post]]] = defaultdict(list)
DELETED: list[str] = []
#: Run (and removed) by the outcome "hook": e.g. the sweeper of another process acting mid-batch.
HOOKS: list[Callable[[], object]] = []


class ScriptedPublisher(Publisher):
    """Plays `SCRIPTS[channel]`; records every call in `CALLS`."""

    kind: ClassVar[str] = "test-scripted"
    rules: ClassVar[ChannelRules] = MastodonPublisher.rules
    resend_safe_seconds: ClassVar[float] = NEVER
    rate_per_minute: ClassVar[int | None] = None
    setup_hints: ClassVar[SetupHints] = HINTS

    def __init__(self, *, config: Mapping[str, Any], settings: Settings) -> None:
        self.channel = str(config["channel"])

    @classmethod
    def from_settings(cls, settings: Settings, config: Mapping[str, Any]) -> ScriptedPublisher:
        return cls(config=config, settings=settings)

    def publish(self, post: Post, *, idempotency_key: str) -> Receipt:
        CALLS[self.channel].append((idempotency_key, post))
        outcome = SCRIPTS[self.channel].popleft() if SCRIPTS[self.channel] else "ok"
        if outcome.startswith("retry"):
            _, _, seconds = outcome.partition(":")
            raise RetryableError("429 slow down", retry_after=float(seconds) if seconds else None)
        if outcome == "permanent":
            raise PermanentError("400 caption too long")
        if outcome == "auth":
            raise AuthError("401 token revoked")
        if outcome == "hook":
            HOOKS.pop(0)()
        if outcome == "maybe":  # a 5xx or lost answer after sending: it may be out
            raise RetryableError("502 after sending", maybe_sent=True)
        if outcome == "uncertain":
            raise UncertainError("timeout after the request was sent")
        if outcome == "crash":
            raise ConnectionResetError("connection reset mid-send")
        number = len(CALLS[self.channel])
        return Receipt(remote_id=f"{self.channel}-{number}", url=f"https://example.test/{number}")

    def delete(self, receipt: Receipt) -> bool:
        DELETED.append(receipt.remote_id)
        return True

    def check(self) -> str:
        return f"scripted channel {self.channel}"


class IdempotentScriptedPublisher(ScriptedPublisher):
    """The same, for a platform where a resend with the same key cannot post twice."""

    kind: ClassVar[str] = "test-idempotent"
    resend_safe_seconds: ClassVar[float] = ALWAYS

    def delete(self, receipt: Receipt) -> bool:
        return False  # like a Telegram post older than 48 h


# -- a publisher that talks HTTP to a loopback fake ----------------------------------------------


class HttpPublisher(Publisher):
    """POSTs `{key, text}` to `config["url"]`; the fake answers with an id."""

    kind: ClassVar[str] = "test-http"
    rules: ClassVar[ChannelRules] = OutboxPublisher.rules
    resend_safe_seconds: ClassVar[float] = NEVER
    rate_per_minute: ClassVar[int | None] = None
    setup_hints: ClassVar[SetupHints] = HINTS

    def __init__(self, *, config: Mapping[str, Any], settings: Settings) -> None:
        self.url = str(config["url"])
        self.http = requests.Session()

    @classmethod
    def from_settings(cls, settings: Settings, config: Mapping[str, Any]) -> HttpPublisher:
        return cls(config=config, settings=settings)

    def publish(self, post: Post, *, idempotency_key: str) -> Receipt:
        response = self.http.post(
            self.url, json={"key": idempotency_key, "text": post.text}, timeout=60
        )
        if response.status_code >= 500:
            raise RetryableError(f"{response.status_code}")
        body = response.json()
        return Receipt(remote_id=str(body["id"]), url=f"{self.url}/{body['id']}")

    def delete(self, receipt: Receipt) -> bool:
        return False

    def check(self) -> str:
        return f"posts to {self.url}"


def register_test_publishers() -> None:
    """Register the test publishers (a second call changes nothing)."""
    for cls in (ScriptedPublisher, IdempotentScriptedPublisher, HttpPublisher):
        registry.register(cls)


class CountingServer:
    """A loopback HTTP server that counts POSTs per idempotency key.

    When `block_text` is set, a POST whose text contains it is counted and then held until
    `release` is set (so a test can kill the worker mid-send).
    """

    def __init__(self, block_text: str | None = None) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()
        self.block_text = block_text
        self.blocked = threading.Event()
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                with server.lock:
                    server.counts[body["key"]] += 1
                    number = sum(server.counts.values())
                if server.block_text and server.block_text in body["text"]:
                    server.blocked.set()
                    server.release.wait(30)
                payload = json.dumps({"id": number}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the worker was killed while we held its request

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/posts"

    @contextmanager
    def running(self) -> Iterator[CountingServer]:
        thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.release.set()
            self.httpd.shutdown()
            self.httpd.server_close()


# -- stories ------------------------------------------------------------------------------------

_counter = iter(range(1, 10**9))


def make_story(
    session: Session,
    *,
    state: str = "approved",
    consent: str | None = "named",
    public_name: str | None = "Maria",
    themes: tuple[str, ...] = ("banjir-rob",),
    place_id: str | None = "oesapa",
    place_name: str | None = "Oesapa",
    text: str = "Air laut masuk ke rumah kami lagi pagi ini.",
    submitted_at: datetime | None = None,
    renditions: dict[str, Any] | None = None,
) -> Submission:
    """An approved story (by default) with a contributor, ready to schedule."""
    number = next(_counter)
    person = Contributor(
        telegram_user_id=731_000_000 + number,
        telegram_chat_id=731_000_000 + number,
        public_name=public_name,
    )
    session.add(person)
    session.flush()
    assert person.id is not None
    story = Submission(
        ref=f"SP-T{number:03d}",
        contributor_id=person.id,
        state=state,
        consent=consent,
        text=text,
        lang="id",
        themes=[{"slug": slug, "score": 1.0 - i / 10} for i, slug in enumerate(themes)],
        place_id=place_id,
        place_name=place_name,
        exact_lat=-10.1512345,
        exact_lon=123.6312345,
        chat_lat=-10.1512345,
        chat_lon=123.6312345,
        submitted_at=submitted_at,
    )
    session.add(story)
    session.flush()
    if renditions:
        session.add(
            Media(
                submission_id=story.id or 0,
                kind="photo",
                renditions=renditions,
                gps_lat=-10.1512345,
                gps_lon=123.6312345,
                path="private/originals/ab/abc.jpg",
            )
        )
        session.flush()
    return story


def make_stories(engine: Engine, count: int, **kwargs: Any) -> list[int]:
    """`count` approved stories in one transaction; their ids."""
    with Session(engine) as session:
        ids = [make_story(session, **kwargs).id or 0 for _ in range(count)]
        session.commit()
    return ids


# -- a scheduled world ---------------------------------------------------------------------------

SLOT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 WITA


def scheduled_world(
    engine: Engine,
    *,
    stories: int = 1,
    channels: tuple[tuple[str, str], ...] = (("mast", "test-scripted"),),
    rate: int | None = None,
    **story_kwargs: object,
) -> list[int]:
    """Channels, a campaign `adil` and `stories` stories scheduled at SLOT; their ids."""
    with Session(engine) as session:
        for name, kind in channels:
            add_channel(
                session, name=name, kind=kind, config={"channel": name}, rate_per_minute=rate
            )
        create_campaign(
            session,
            slug="adil",
            name="Adil",
            hashtags=["AdilUntukBumi"],
            channels=[name for name, _ in channels],
            slots="daily@09:00",
        )
        ids = []
        for _ in range(stories):
            story = make_story(session, **story_kwargs)  # type: ignore[arg-type]
            schedule_story(
                session,
                submission_id=story.id or 0,
                campaign_slug="adil",
                at=SLOT,
                channels=None,
                actor="cli:test",
            )
            ids.append(story.id or 0)
        session.commit()
    return ids


def all_deliveries(engine: Engine) -> list[Delivery]:
    """Every delivery, oldest first."""
    with Session(engine) as session:
        return list(session.exec(select(Delivery).order_by(col(Delivery.id))))


def moderator_alerts(engine: Engine) -> list[Notification]:
    """Every notification for the moderators' group."""
    with Session(engine) as session:
        return list(session.exec(select(Notification).where(Notification.audience == "moderators")))


def setup_adil(session: Session, **campaign: object) -> None:
    """Two scripted channels (`mast`, `tele`) and the campaign `adil` posting to both on
    Mon/Wed/Fri at 09:00 and 19:00 WITA."""
    from publishers.campaigns import create_campaign
    from publishers.channels_config import add_channel

    add_channel(session, name="mast", kind="test-scripted", config={"channel": "mast"})
    add_channel(session, name="tele", kind="test-scripted", config={"channel": "tele"})
    create_campaign(
        session,
        slug="adil",
        name="Adil",
        hashtags=["AdilUntukBumi"],
        channels=["mast", "tele"],
        slots="mon,wed,fri@09:00,19:00",
        **campaign,  # type: ignore[arg-type]
    )
