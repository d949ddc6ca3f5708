"""Instagram, Facebook and Threads through the dispatcher: each post exactly once, when an answer
is lost, when a worker is killed mid-send, and when a second worker takes over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from publishers import deliveries
from publishers.campaigns import create_campaign
from publishers.channels_config import add_channel
from publishers.deliveries import DeliveryCheckpoint
from publishers.dispatcher import dispatch_due
from publishers.registry import build_publisher
from publishers.retraction import retract_story
from publishers.scheduling import schedule_story
from tests.fakes.meta_graph import throttled
from tests.fakes.server import Response
from tests.publishers.dispatch_support import all_deliveries, moderator_alerts
from tests.publishers.meta_support import MetaWorld

ROOT = Path(__file__).resolve().parents[2]
SLOT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
AFTER = SLOT + timedelta(minutes=1)


def schedule(meta: MetaWorld, kinds: tuple[str, ...], photos: int = 2, at: datetime = SLOT) -> int:
    """One approved story with photos, scheduled at `at` on a channel of each kind; its id."""
    story_id = meta.story(photos, state="approved")
    with Session(meta.engine) as session:
        for kind in kinds:
            add_channel(session, name=kind, kind=kind, config={})
        create_campaign(
            session,
            slug="adil",
            name="Adil",
            hashtags=["AdilUntukBumi", "LangkahHariIni"],
            channels=list(kinds),
            slots="daily@09:00",
        )
        schedule_story(
            session,
            submission_id=story_id,
            campaign_slug="adil",
            at=at,
            channels=None,
            actor="cli:test",
        )
        session.commit()
    return story_id


def states(meta: MetaWorld) -> list[str]:
    return [d.state for d in all_deliveries(meta.engine)]


def test_one_story_goes_out_once_on_each_meta_channel(meta: MetaWorld) -> None:
    schedule(meta, ("instagram", "facebook", "threads"))
    stats = dispatch_due(meta.engine, meta.settings, worker_id="w1", now=AFTER)
    assert stats.sent == 3, states(meta)
    assert len(meta.graph.media) == 1 and len(meta.graph.posts) == 1
    assert len(meta.threads.media) == 1
    for delivery in all_deliveries(meta.engine):
        assert delivery.receipt is not None and "progress" not in delivery.receipt
        assert delivery.remote_id and delivery.remote_url
    assert stats.published  # the story is published once all three are out


def test_a_lost_answer_to_media_publish_is_resolved_on_the_next_attempt(meta: MetaWorld) -> None:
    schedule(meta, ("instagram",))
    # Meta publishes, the answer is lost, and the look-up right after is throttled.
    meta.graph.inject(
        Response(502, "<html>bad gateway</html>", after_handling=True), path="/media_publish"
    )
    meta.graph.inject(throttled(4, minutes=1), path=f"{meta.graph.ig_user_id}/media", method="GET")
    first = dispatch_due(meta.engine, meta.settings, worker_id="w1", now=AFTER)
    assert first.retried == 1
    [delivery] = all_deliveries(meta.engine)
    assert delivery.state == "pending" and delivery.uncertain_since is not None
    assert delivery.receipt is not None and delivery.receipt["progress"]["container"]
    later = AFTER + timedelta(hours=2)
    second = dispatch_due(meta.engine, meta.settings, worker_id="w2", now=later)
    assert second.sent == 1
    assert len(meta.graph.media) == 1
    assert len(meta.graph.calls("/media_publish")) == 1
    [delivery] = all_deliveries(meta.engine)
    assert delivery.remote_id in meta.graph.media


def test_a_lost_answer_to_creating_a_container_makes_a_new_one_and_posts_once(
    meta: MetaWorld,
) -> None:
    schedule(meta, ("threads",), photos=1)
    meta.threads.inject(
        Response(500, "<html>oops</html>", after_handling=True), path="/threads", method="POST"
    )
    first = dispatch_due(meta.engine, meta.settings, worker_id="w1", now=AFTER)
    assert first.retried == 1 and len(meta.threads.containers) == 1
    second = dispatch_due(
        meta.engine, meta.settings, worker_id="w1", now=AFTER + timedelta(hours=2)
    )
    assert second.sent == 1
    # The first container was never published: a container alone is not a post.
    assert len(meta.threads.containers) == 2 and len(meta.threads.media) == 1


def test_a_second_worker_takes_over_and_the_first_cannot_post_again(meta: MetaWorld) -> None:
    schedule(meta, ("instagram",))
    slow = deliveries.claim_due(meta.engine, worker_id="slow", now=AFTER, lease_seconds=60)
    assert len(slow) == 1
    with Session(meta.engine) as session:
        claim = deliveries.load_claim(session, slow[0], "slow")
    assert claim is not None
    # The slow worker's lease runs out: Instagram is resend-safe, so the post goes back to
    # pending and a second worker sends it.
    swept = deliveries.expire_leases(meta.engine, AFTER + timedelta(minutes=5))
    assert swept == {"unknown": 0, "pending": 1}
    sent = dispatch_due(
        meta.engine, meta.settings, worker_id="second", now=AFTER + timedelta(minutes=6)
    )
    assert sent.sent == 1 and len(meta.graph.media) == 1
    # The slow worker wakes up and tries: its first checkpoint write is refused, so it stops
    # before publishing anything.
    publisher = build_publisher("instagram", {}, meta.settings)
    publisher.use_checkpoint(DeliveryCheckpoint(meta.engine, claim))
    post = meta.post("instagram", claim.submission_id, ("AdilUntukBumi", "LangkahHariIni"))
    try:
        publisher.publish(post, idempotency_key=claim.idempotency_key)
    except Exception as exc:
        assert "no longer this worker's" in str(exc)
    else:
        raise AssertionError("the slow worker published")
    assert len(meta.graph.media) == 1 and len(meta.graph.calls("/media_publish")) == 1
    [delivery] = all_deliveries(meta.engine)
    assert delivery.state == "sent"


def test_a_worker_killed_while_publishing_is_resolved_through_the_container(
    meta: MetaWorld, database_url: str
) -> None:
    schedule(meta, ("instagram",), at=datetime.now(UTC) - timedelta(seconds=5))
    # Meta publishes; the answer is held long enough for the worker to be killed waiting.
    meta.graph.inject(Response(200, {}, delay=30.0, after_handling=True), path="/media_publish")
    env = {**os.environ, "PYTHONPATH": str(ROOT), **_env(meta)}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.publishers.worker_process",
            database_url,
            "doomed",
            str(meta.settings.data_dir),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while not meta.graph.media and time.monotonic() < deadline:
            time.sleep(0.05)
        assert meta.graph.media, "the worker never published"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        if worker.stdout is not None:
            worker.stdout.close()
    assert states(meta) == ["sending"]
    swept = deliveries.expire_leases(meta.engine, datetime.now(UTC) + timedelta(hours=1))
    assert swept == {"unknown": 0, "pending": 1}
    later = datetime.now(UTC) + timedelta(hours=1, minutes=1)
    stats = dispatch_due(meta.engine, meta.settings, worker_id="next", now=later)
    assert stats.sent == 1
    assert len(meta.graph.media) == 1 and len(meta.graph.calls("/media_publish")) == 1
    [delivery] = all_deliveries(meta.engine)
    assert delivery.state == "sent" and delivery.remote_id in meta.graph.media


def _env(meta: MetaWorld) -> dict[str, str]:
    """The worker process's Meta settings, as environment variables."""
    settings = meta.settings
    assert settings.secret_key is not None and settings.instagram_access_token is not None
    return {
        "PESISIR_META_GRAPH_URL": settings.meta_graph_url,
        "PESISIR_INSTAGRAM_USER_ID": str(settings.instagram_user_id),
        "PESISIR_INSTAGRAM_ACCESS_TOKEN": settings.instagram_access_token.get_secret_value(),
        "PESISIR_PUBLIC_BASE_URL": str(settings.public_base_url),
        "PESISIR_SECRET_KEY": settings.secret_key.get_secret_value(),
    }


def test_withdrawal_deletes_on_facebook_and_threads_and_lists_instagram(meta: MetaWorld) -> None:
    story_id = schedule(meta, ("instagram", "facebook", "threads"))
    assert dispatch_due(meta.engine, meta.settings, worker_id="w1", now=AFTER).sent == 3
    summary = retract_story(meta.engine, meta.settings, story_id)
    assert sorted(summary["deleted"]) == ["facebook", "threads"]
    assert not meta.graph.posts and not meta.threads.media
    [kept] = summary["kept"]
    [media] = meta.graph.media.values()
    assert kept["channel"] == "instagram" and kept["url"] == media["permalink"]
    assert "does not allow deleting" in kept["reason"]
    alerts = [a for a in moderator_alerts(meta.engine) if a.kind == "posts_not_deleted"]
    assert len(alerts) == 1 and alerts[0].params["posts"] == [kept]
