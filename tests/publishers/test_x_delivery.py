"""X through the dispatcher: every post goes out once, or is handed to a person, never twice.

X has no idempotency key. These tests drive the real `XPublisher` (built from settings, as the
dispatcher builds it) against the fake X API: a lost answer to the create call, a 5xx, a worker
killed mid-send, and a second worker ticking while the first is still sending.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from core.config import Settings
from publishers.base import Publisher
from publishers.channels.x import XPublisher
from publishers.deliveries import expire_leases
from publishers.dispatcher import dispatch_due
from publishers.retraction import retract_story
from publishers.worker import run_worker
from tests.fakes.server import Response
from tests.fakes.x_api import FakeX
from tests.publishers.dispatch_support import (
    SLOT,
    all_deliveries,
    moderator_alerts,
    scheduled_world,
)
from tests.publishers.test_workers import _workers
from tests.publishers.test_x import x_settings

AFTER = SLOT + timedelta(minutes=1)


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with FakeX() as server:
        assert isinstance(server, FakeX)
        yield server


def impatient(kind: str, config: Mapping[str, Any], settings: Settings) -> Publisher:
    """The X publisher from settings, waiting only 0.3 s for the create call's answer."""
    built = XPublisher.from_settings(settings, config)
    built.timeout = (5.0, 0.3)
    return built


def one_x_story(engine: Engine) -> int:
    [story_id] = scheduled_world(
        engine, channels=(("x-koalisi", "x"),), text="Rob masuk rumah warga di Oesapa & Lasiana."
    )
    return story_id


def states(engine: Engine) -> list[str]:
    return [d.state for d in all_deliveries(engine)]


def test_a_post_goes_out_once_with_its_link(
    engine: Engine, settings: Settings, fake: FakeX
) -> None:
    one_x_story(engine)
    stats = dispatch_due(engine, x_settings(settings, fake), worker_id="w1", now=AFTER)
    assert stats.sent == 1
    [delivery] = all_deliveries(engine)
    [post] = fake.live()
    assert delivery.remote_id == post["id"]
    assert delivery.remote_url == f"https://x.com/i/web/status/{post['id']}"
    assert "#AdilUntukBumi" in post["text"] and "Oesapa" in post["text"]


def test_a_lost_answer_to_the_create_call_is_found_not_resent(
    engine: Engine, settings: Settings, fake: FakeX
) -> None:
    one_x_story(engine)
    fake.inject(Response(201, {}, delay=1.0, after_handling=True), path="/2/tweets", method="POST")
    stats = dispatch_due(
        engine,
        x_settings(settings, fake),
        worker_id="w1",
        now=AFTER,
        publisher_factory=impatient,
    )
    assert stats.sent == 1
    [delivery] = all_deliveries(engine)
    [post] = fake.live()
    assert delivery.state == "sent" and delivery.remote_id == post["id"]
    assert delivery.receipt is not None and delivery.receipt["extra"]["recovered"] is True
    assert len([r for r in fake.calls("/2/tweets") if r.method == "POST"]) == 1


def test_a_lost_answer_with_no_post_goes_to_a_person_and_is_never_resent(
    engine: Engine, settings: Settings, fake: FakeX
) -> None:
    one_x_story(engine)
    fake.inject(Response(201, {}, delay=1.0), path="/2/tweets", method="POST")
    configured = x_settings(settings, fake)
    stats = dispatch_due(engine, configured, worker_id="w1", now=AFTER, publisher_factory=impatient)
    assert stats.unknown == 1 and states(engine) == ["unknown"]
    assert [a.kind for a in moderator_alerts(engine)] == ["delivery_unknown"]
    # Much later, another worker sends nothing: a person decides.
    later = dispatch_due(engine, configured, worker_id="w2", now=AFTER + timedelta(days=1))
    assert later.claimed == 0
    assert not fake.posts
    assert len([r for r in fake.calls("/2/tweets") if r.method == "POST"]) == 1


def test_a_5xx_without_a_post_is_sent_once_later(
    engine: Engine, settings: Settings, fake: FakeX
) -> None:
    one_x_story(engine)
    configured = x_settings(settings, fake)
    fake.inject((503, {}, {"title": "Service Unavailable", "status": 503}), path="/2/tweets")
    first = dispatch_due(engine, configured, worker_id="w1", now=AFTER)
    assert first.retried == 1 and states(engine) == ["pending"]
    [delivery] = all_deliveries(engine)
    assert delivery.uncertain_since is None  # the account showed the post was not made
    second = dispatch_due(engine, configured, worker_id="w1", now=AFTER + timedelta(hours=2))
    assert second.sent == 1 and len(fake.live()) == 1


def test_a_5xx_after_the_post_was_made_records_that_post(
    engine: Engine, settings: Settings, fake: FakeX
) -> None:
    one_x_story(engine)
    fake.inject(
        Response(503, {"title": "Service Unavailable"}, after_handling=True), path="/2/tweets"
    )
    stats = dispatch_due(engine, x_settings(settings, fake), worker_id="w1", now=AFTER)
    assert stats.sent == 1
    [post] = fake.live()
    assert all_deliveries(engine)[0].remote_id == post["id"]


def test_a_second_worker_takes_nothing_while_the_first_is_sending(
    engine: Engine, settings: Settings, fake: FakeX
) -> None:
    one_x_story(engine)
    configured = x_settings(settings, fake)
    fake.hold = threading.Event()
    first = threading.Thread(
        target=dispatch_due, args=(engine, configured), kwargs={"worker_id": "w1", "now": AFTER}
    )
    first.start()
    try:
        assert fake.made.wait(20), "the first worker never reached X"
        second = dispatch_due(engine, configured, worker_id="w2", now=AFTER)
        assert second.claimed == 0
    finally:
        fake.hold.set()
        first.join(20)
    assert states(engine) == ["sent"] and len(fake.live()) == 1


def test_a_worker_killed_mid_send_is_not_resent(
    database_url: str,
    engine: Engine,
    settings: Settings,
    fake: FakeX,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configured = x_settings(settings, fake)
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    one_x_story(engine)
    fake.hold = threading.Event()
    with _workers(database_url, tmp_path, 1) as [worker]:
        assert fake.made.wait(30), "the worker never reached X"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    fake.hold.set()
    assert states(engine) == ["sending"]
    # The sweeper, once the lease has run out, hands the post to a person.
    assert expire_leases(engine, datetime.now(UTC) + timedelta(hours=1)) == {
        "unknown": 1,
        "pending": 0,
    }
    stats = run_worker(engine, configured, worker_id="next", stop=threading.Event(), once=True)
    assert stats.claimed == 0
    assert states(engine) == ["unknown"]
    assert len(fake.live()) == 1  # out once, never twice
    assert "delivery_unknown" in [a.kind for a in moderator_alerts(engine)]


def test_withdrawing_the_story_deletes_the_post_on_x(
    engine: Engine, settings: Settings, fake: FakeX
) -> None:
    story_id = one_x_story(engine)
    configured = x_settings(settings, fake)
    dispatch_due(engine, configured, worker_id="w1", now=AFTER)
    [post] = fake.live()
    summary = retract_story(engine, configured, story_id)
    assert summary["deleted"] == ["x-koalisi"] and summary["kept"] == []
    assert fake.deleted == [post["id"]] and not fake.live()
