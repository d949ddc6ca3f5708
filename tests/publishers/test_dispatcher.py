"""Dispatch: atomic claims, outcomes (sent, retry, failed, auth, unknown), publication."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.audit import history
from core.config import Settings
from core.delivery_table import Delivery
from core.errors import InvalidTransition
from core.models import Channel, Notification, Submission
from core.states import DeliveryState
from publishers import deliveries
from publishers.base import Receipt
from publishers.campaigns import set_paused
from publishers.channels_config import pause_channel
from publishers.deliveries import (
    backoff_seconds,
    claim_due,
    expire_leases,
    resend_is_safe,
    resolve,
)
from publishers.dispatcher import dispatch_due
from publishers.scheduling import schedule_story, unschedule
from tests.fakes.mastodon_api import FakeMastodon, status_length
from tests.fakes.server import Response
from tests.publishers.dispatch_support import (
    CALLS,
    DELETED,
    HOOKS,
    SCRIPTS,
    SLOT,
    all_deliveries,
    moderator_alerts,
    register_test_publishers,
    scheduled_world,
)

register_test_publishers()

AFTER = SLOT + timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _clean_fakes() -> None:
    SCRIPTS.clear()
    CALLS.clear()
    DELETED.clear()
    HOOKS.clear()


def test_claim_takes_only_due_rows_of_open_channels(engine: Engine) -> None:
    scheduled_world(
        engine, stories=3, channels=(("mast", "test-scripted"), ("tele", "test-scripted"))
    )
    with Session(engine) as session:
        pause_channel(session, "tele", "maintenance")
        session.commit()
    assert claim_due(engine, worker_id="w1", now=SLOT - timedelta(seconds=1)) == []
    claimed = claim_due(engine, worker_id="w1", now=AFTER)
    rows = {d.id: d for d in all_deliveries(engine)}
    assert len(claimed) == 3
    with Session(engine) as session:
        mast = session.exec(select(Channel).where(Channel.name == "mast")).one()
    for delivery_id in claimed:
        row = rows[delivery_id]
        assert (row.state, row.claimed_by, row.attempts, row.channel_id) == (
            "sending",
            "w1",
            1,
            mast.id,
        )
        assert row.lease_until is not None and row.lease_until > AFTER
    assert claim_due(engine, worker_id="w2", now=AFTER) == []  # nothing claimed twice


def test_concurrent_claims_never_overlap(engine: Engine) -> None:
    scheduled_world(engine, stories=60)
    results: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def claim(worker: str) -> None:
        barrier.wait()
        got: list[int] = []
        while batch := claim_due(engine, worker_id=worker, now=AFTER, limit=7):
            got += batch
        results[worker] = got

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for got in results.values() for i in got]
    assert len(everything) == 60 and len(set(everything)) == 60
    owners = {d.id: d.claimed_by for d in all_deliveries(engine)}
    for worker, got in results.items():
        assert all(owners[i] == worker for i in got)


def test_rate_limit_caps_claims_per_minute(engine: Engine, settings: Settings) -> None:
    scheduled_world(engine, stories=5, rate=2)
    first = dispatch_due(engine, settings, worker_id="w1", now=AFTER)
    assert (first.claimed, first.sent) == (2, 2)
    assert (
        dispatch_due(engine, settings, worker_id="w1", now=AFTER + timedelta(seconds=30)).claimed
        == 0
    )
    later = dispatch_due(engine, settings, worker_id="w1", now=AFTER + timedelta(seconds=61))
    assert later.claimed == 2


def test_a_backlog_on_an_unlimited_channel_does_not_starve_a_limited_one(engine: Engine) -> None:
    scheduled_world(
        engine, stories=30, channels=(("mast", "test-scripted"), ("tele", "test-scripted"))
    )
    with Session(engine) as session:
        tele = session.exec(select(Channel).where(Channel.name == "tele")).one()
        tele.rate_per_minute = 3
        session.add(tele)
        session.commit()
        tele_id = tele.id
    claimed = set(claim_due(engine, worker_id="w1", now=AFTER, limit=20))
    by_channel = [d.channel_id for d in all_deliveries(engine) if d.id in claimed]
    assert len(by_channel) == 20 and by_channel.count(tele_id) == 3


def test_sent_posts_publish_the_story_and_tell_the_contributor(
    engine: Engine, settings: Settings
) -> None:
    [story_id] = scheduled_world(
        engine, channels=(("mast", "test-scripted"), ("tele", "test-scripted"))
    )
    SCRIPTS["tele"].append("retry:60")
    stats = dispatch_due(engine, settings, worker_id="w1", now=AFTER)
    assert (stats.sent, stats.retried, stats.published) == (1, 1, [])
    with Session(engine) as session:
        assert session.get(Submission, story_id).state == "scheduled"  # type: ignore[union-attr]
    stats = dispatch_due(engine, settings, worker_id="w1", now=AFTER + timedelta(hours=1))
    assert stats.sent == 1 and len(stats.published) == 1
    rows = all_deliveries(engine)
    assert {d.state for d in rows} == {"sent"}
    assert all(d.remote_id and d.remote_url and d.sent_at and d.receipt for d in rows)
    # The composed post carried the campaign hashtag and the consented credit, no coordinates.
    _key, post = CALLS["mast"][0]
    assert "#AdilUntukBumi" in post.text and "Maria" in post.text
    assert "10.15" not in post.text
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None and story.state == "published" and story.published_at
        assert ("publish", "scheduled", "published") in [
            (e.action, e.from_state, e.to_state) for e in history(session, submission_id=story_id)
        ]
        [note] = session.exec(select(Notification).where(Notification.kind == "published")).all()
        assert note.audience == "contributor" and note.contributor_id == story.contributor_id
        assert note.params["ref"] == story.ref
        assert sorted(note.params["links"]) == sorted(d.remote_url for d in rows)


def test_retryable_error_backs_off_honouring_retry_after(
    engine: Engine, settings: Settings
) -> None:
    scheduled_world(engine)
    SCRIPTS["mast"].append("retry:600")
    dispatch_due(engine, settings, worker_id="w1", now=AFTER)
    [row] = all_deliveries(engine)
    assert row.state == "pending" and row.attempts == 1 and "429" in (row.last_error or "")
    assert row.next_attempt_at is not None
    waited = (row.next_attempt_at - AFTER).total_seconds()
    assert waited >= 600
    # Not due before its time
    assert (
        dispatch_due(engine, settings, worker_id="w1", now=AFTER + timedelta(seconds=599)).claimed
        == 0
    )


def test_backoff_is_capped_exponential_with_jitter() -> None:
    rng = random.Random(7)
    delays = [backoff_seconds(n, rng=rng) for n in range(1, 12)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(
            deliveries.sending.BACKOFF_CAP_SECONDS,
            deliveries.sending.BACKOFF_BASE_SECONDS * 2 ** (n - 1),
        )
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= deliveries.sending.BACKOFF_CAP_SECONDS
    assert len({round(d, 3) for d in delays[-4:]}) == 4  # jittered, not all equal at the cap
    assert backoff_seconds(1, retry_after=900, rng=rng) >= 900


def test_retries_run_out_into_failed(engine: Engine, settings: Settings) -> None:
    scheduled_world(engine)
    SCRIPTS["mast"].extend(["retry"] * deliveries.MAX_ATTEMPTS)
    at = AFTER
    for _ in range(deliveries.MAX_ATTEMPTS):
        dispatch_due(engine, settings, worker_id="w1", now=at)
        at += timedelta(hours=2)
    [row] = all_deliveries(engine)
    assert row.state == "failed" and row.attempts == deliveries.MAX_ATTEMPTS
    assert [a.kind for a in moderator_alerts(engine)] == ["delivery_failed"]


def test_permanent_error_fails_and_alerts_moderators(engine: Engine, settings: Settings) -> None:
    [story_id] = scheduled_world(engine)
    SCRIPTS["mast"].append("permanent")
    stats = dispatch_due(engine, settings, worker_id="w1", now=AFTER)
    assert stats.failed == 1
    [row] = all_deliveries(engine)
    assert row.state == "failed" and "caption too long" in (row.last_error or "")
    [alert] = moderator_alerts(engine)
    assert alert.kind == "delivery_failed" and alert.submission_id == story_id
    assert alert.params["channel"] == "mast" and alert.params["campaign"] == "adil"
    assert "Maria" not in str(alert.params) and "731" not in str(alert.params)
    # Never retried on its own.
    assert (
        dispatch_due(engine, settings, worker_id="w1", now=AFTER + timedelta(days=1)).claimed == 0
    )


def test_auth_error_pauses_the_channel_and_alerts(engine: Engine, settings: Settings) -> None:
    scheduled_world(engine, stories=3)
    SCRIPTS["mast"].append("auth")
    stats = dispatch_due(engine, settings, worker_id="w1", now=AFTER)
    assert (stats.claimed, stats.failed, stats.released) == (3, 1, 2)
    assert len(CALLS["mast"]) == 1  # the other two were not even tried
    with Session(engine) as session:
        channel = session.exec(select(Channel).where(Channel.name == "mast")).one()
        assert channel.paused and "401" in (channel.paused_reason or "")
    states = sorted(d.state for d in all_deliveries(engine))
    assert states == ["failed", "pending", "pending"]
    assert all(d.attempts == 0 for d in all_deliveries(engine) if d.state == "pending")
    assert [a.kind for a in moderator_alerts(engine)] == ["channel_paused"]
    assert dispatch_due(engine, settings, worker_id="w1", now=AFTER).claimed == 0


def test_crash_mid_send_is_unknown_and_never_resent(engine: Engine, settings: Settings) -> None:
    scheduled_world(engine)
    SCRIPTS["mast"].append("crash")
    stats = dispatch_due(engine, settings, worker_id="w1", now=AFTER)
    assert stats.unknown == 1
    [row] = all_deliveries(engine)
    assert row.state == "unknown"
    assert [a.kind for a in moderator_alerts(engine)] == ["delivery_unknown"]
    assert (
        dispatch_due(engine, settings, worker_id="w1", now=AFTER + timedelta(days=1)).claimed == 0
    )
    assert len(CALLS["mast"]) == 1


def test_uncertain_send_is_unknown_except_where_resending_is_safe(
    engine: Engine, settings: Settings
) -> None:
    scheduled_world(engine, channels=(("mast", "test-scripted"), ("bsky", "test-idempotent")))
    SCRIPTS["mast"].append("uncertain")
    SCRIPTS["bsky"].append("uncertain")
    stats = dispatch_due(engine, settings, worker_id="w1", now=AFTER)
    assert (stats.unknown, stats.retried) == (1, 1)
    assert sorted(d.state for d in all_deliveries(engine)) == ["pending", "unknown"]


def test_resend_safety_by_kind_and_mastodon_window() -> None:
    claimed = AFTER
    assert resend_is_safe("outbox")
    assert resend_is_safe("bluesky", since=claimed, now=claimed + timedelta(days=2))
    assert not resend_is_safe("telegram_channel")
    assert resend_is_safe("mastodon", since=claimed, now=claimed + timedelta(minutes=10))
    # Mastodon forgets an Idempotency-Key after an hour: then a resend could post twice.
    assert not resend_is_safe("mastodon", since=claimed, now=claimed + timedelta(minutes=59))
    assert not resend_is_safe("test-scripted")  # the class says so
    assert resend_is_safe("test-idempotent")


def test_expired_lease_becomes_unknown_but_idempotent_channels_resend(
    engine: Engine, settings: Settings
) -> None:
    scheduled_world(engine, channels=(("mast", "test-scripted"), ("bsky", "test-idempotent")))
    claimed = claim_due(engine, worker_id="dead", now=AFTER, lease_seconds=60)
    assert len(claimed) == 2
    assert expire_leases(engine, AFTER + timedelta(seconds=59)) == {"unknown": 0, "pending": 0}
    assert expire_leases(engine, AFTER + timedelta(seconds=61)) == {"unknown": 1, "pending": 1}
    with Session(engine) as session:
        by_channel = {
            name: d
            for d, name in session.exec(
                select(Delivery, Channel.name).join(Channel, col(Channel.id) == Delivery.channel_id)
            )
        }
    assert by_channel["mast"].state == "unknown"
    assert by_channel["bsky"].state == "pending"
    assert [a.kind for a in moderator_alerts(engine)] == ["delivery_unknown"]
    stats = dispatch_due(engine, settings, worker_id="w2", now=AFTER + timedelta(seconds=62))
    assert stats.sent == 1 and not CALLS["mast"]
    [(key, _post)] = CALLS["bsky"]
    assert key == by_channel["bsky"].idempotency_key  # the same key: the platform dedupes


def test_a_slow_send_that_finishes_after_its_lease_still_records_the_receipt(
    engine: Engine, settings: Settings
) -> None:
    scheduled_world(engine)
    [delivery_id] = claim_due(engine, worker_id="slow", now=AFTER, lease_seconds=1)
    with Session(engine) as session:
        claim = deliveries.load_claim(session, delivery_id, "slow")
    assert claim is not None
    # The send takes longer than the lease: the sweeper calls it unknown meanwhile.
    expire_leases(engine, AFTER + timedelta(seconds=5))
    assert [d.state for d in all_deliveries(engine)] == ["unknown"]
    with Session(engine) as session:
        assert deliveries.record_sent(
            session, claim, Receipt("r-1", "https://x.test/1"), AFTER, timezone=settings.timezone
        )
        session.commit()
    [row] = all_deliveries(engine)
    assert (row.state, row.remote_id) == ("sent", "r-1")


def test_a_row_swept_while_its_batch_ran_long_is_not_sent(
    engine: Engine, settings: Settings
) -> None:
    scheduled_world(engine, stories=2)
    # While the first post is being sent, another process's sweeper decides the batch is lost.
    SCRIPTS["mast"].append("hook")
    HOOKS.append(lambda: expire_leases(engine, AFTER + timedelta(days=1)))
    stats = dispatch_due(engine, settings, worker_id="w1", now=AFTER)
    assert len(CALLS["mast"]) == 1  # the second was not sent: it is `unknown` now, not ours
    assert sorted(d.state for d in all_deliveries(engine)) == ["sent", "unknown"]
    assert stats.sent == 1


def test_withdrawn_story_is_cancelled_not_sent(engine: Engine, settings: Settings) -> None:
    [story_id] = scheduled_world(engine)
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        story.state = "withdrawn"
        session.add(story)
        session.commit()
    stats = dispatch_due(engine, settings, worker_id="w1", now=AFTER)
    assert stats.cancelled == 1 and not CALLS["mast"]
    assert [d.state for d in all_deliveries(engine)] == ["cancelled"]


def _mastodon_world(engine: Engine, stories: int = 1) -> list[int]:
    """Like `_world`, on a channel of the real Mastodon publisher."""
    return scheduled_world(engine, stories=stories, channels=(("masto", "mastodon"),))


def test_through_the_real_mastodon_publisher_a_lost_answer_and_a_429_make_one_status(
    engine: Engine, settings: Settings
) -> None:
    with FakeMastodon() as fake:
        assert isinstance(fake, FakeMastodon)
        real = settings.model_copy(
            update={"mastodon_base_url": fake.url, "mastodon_token": SecretStr(fake.token)}
        )
        [story_id] = _mastodon_world(engine)
        fake.inject(
            Response(502, "<html>Bad Gateway</html>", after_handling=True),
            Response(429, {"error": "Too many requests"}, {"Retry-After": "600"}),
            path="/api/v1/statuses",
        )
        assert dispatch_due(engine, real, worker_id="w1", now=AFTER).retried == 1
        second = AFTER + timedelta(minutes=5)
        assert dispatch_due(engine, real, worker_id="w1", now=second).retried == 1
        [row] = all_deliveries(engine)
        assert row.next_attempt_at is not None
        assert (row.next_attempt_at - second).total_seconds() >= 600  # Retry-After honoured
        assert row.uncertain_since == AFTER  # the 502 may have hidden a made status
        stats = dispatch_due(engine, real, worker_id="w1", now=second + timedelta(minutes=20))
        assert stats.sent == 1 and len(stats.published) == 1
        assert len(fake.statuses) == 1  # three tries, one status: the same Idempotency-Key
        [row] = all_deliveries(engine)
        status = fake.statuses[row.remote_id or ""]
        assert row.remote_url == status["url"] and "#AdilUntukBumi" in status["content"]
        with Session(engine) as session:
            note = session.exec(select(Notification).where(Notification.kind == "published")).one()
            assert note.params["links"] == [status["url"]]
            assert session.get(Submission, story_id).state == "published"  # type: ignore[union-attr]


def test_through_the_real_mastodon_publisher_a_revoked_token_pauses_the_channel(
    engine: Engine, settings: Settings
) -> None:
    with FakeMastodon() as fake:
        assert isinstance(fake, FakeMastodon)
        wrong = settings.model_copy(
            update={"mastodon_base_url": fake.url, "mastodon_token": SecretStr("revoked")}
        )
        _mastodon_world(engine)
        stats = dispatch_due(engine, wrong, worker_id="w1", now=AFTER)
        assert stats.failed == 1 and not fake.statuses
    with Session(engine) as session:
        channel = session.exec(select(Channel).where(Channel.name == "masto")).one()
        assert channel.paused and (channel.paused_reason or "").startswith("auth:")
        assert "revoked" not in (channel.paused_reason or "")  # the token never lands in the db
    assert [a.kind for a in moderator_alerts(engine)] == ["channel_paused"]


def test_an_idempotent_channel_that_keeps_crashing_ends_unknown_and_alerts(
    engine: Engine, settings: Settings
) -> None:
    # A resend-safe channel goes back to pending after a crash, but not forever: after
    # MAX_ATTEMPTS a person must hear of it.
    scheduled_world(engine, channels=(("bsky", "test-idempotent"),))
    SCRIPTS["bsky"].extend(["crash"] * (deliveries.MAX_ATTEMPTS + 2))
    at = AFTER
    for _ in range(deliveries.MAX_ATTEMPTS + 2):
        dispatch_due(engine, settings, worker_id="w1", now=at)
        at += timedelta(hours=2)
    [row] = all_deliveries(engine)
    assert row.state == "unknown" and row.attempts == deliveries.MAX_ATTEMPTS
    assert len(CALLS["bsky"]) == deliveries.MAX_ATTEMPTS
    assert [a.kind for a in moderator_alerts(engine)] == ["delivery_unknown"]


def test_an_idempotent_channel_whose_worker_keeps_dying_ends_unknown_and_alerts(
    engine: Engine,
) -> None:
    scheduled_world(engine, channels=(("bsky", "test-idempotent"),))
    at = AFTER
    for _ in range(deliveries.MAX_ATTEMPTS + 2):
        claim_due(engine, worker_id="dies", now=at, lease_seconds=60)
        expire_leases(engine, at + timedelta(seconds=61))
        at += timedelta(minutes=5)
    [row] = all_deliveries(engine)
    assert row.state == "unknown" and row.attempts == deliveries.MAX_ATTEMPTS
    assert [a.kind for a in moderator_alerts(engine)] == ["delivery_unknown"]


def test_a_channel_paused_while_its_batch_runs_gets_its_other_posts_back_unsent(
    engine: Engine, settings: Settings
) -> None:
    # Another worker's auth error (or a person) pauses the channel while this worker's batch,
    # claimed before the pause, is still being sent: the rest of the batch must wait, not go out
    # (and not each fail against revoked credentials).
    scheduled_world(engine, stories=3)

    def pause() -> None:
        with Session(engine) as session:
            pause_channel(session, "mast", reason="auth: 401 on another worker")
            session.commit()

    SCRIPTS["mast"].append("hook")
    HOOKS.append(pause)
    stats = dispatch_due(engine, settings, worker_id="w1", now=AFTER)
    assert len(CALLS["mast"]) == 1
    assert (stats.sent, stats.released) == (1, 2)
    assert sorted(d.state for d in all_deliveries(engine)) == ["pending", "pending", "sent"]
    assert all(d.attempts == 0 for d in all_deliveries(engine) if d.state == "pending")


def test_a_campaign_paused_while_its_batch_runs_sends_no_more_of_it(
    engine: Engine, settings: Settings
) -> None:
    scheduled_world(engine, stories=2)

    def pause() -> None:
        with Session(engine) as session:
            set_paused(session, "adil", True)
            session.commit()

    SCRIPTS["mast"].append("hook")
    HOOKS.append(pause)
    stats = dispatch_due(engine, settings, worker_id="w1", now=AFTER)
    assert (len(CALLS["mast"]), stats.sent, stats.released) == (1, 1, 1)


def test_a_post_being_sent_cannot_be_retried_or_marked_by_hand(
    engine: Engine, settings: Settings
) -> None:
    # `posts list` shows it `sending`: a worker holds it. A hand "retry" would let a second
    # worker send it while the first is still sending (Telegram: twice). The lease sweeper
    # turns it `unknown` if its worker died; then a person decides.
    scheduled_world(engine)
    [delivery_id] = claim_due(engine, worker_id="w1", now=AFTER)
    for target in (DeliveryState.PENDING, DeliveryState.SENT, DeliveryState.FAILED):
        with Session(engine) as session, pytest.raises(InvalidTransition, match="being sent"):
            resolve(session, delivery_id, target, actor="cli:test")
    [row] = all_deliveries(engine)
    assert row.state == "sending"
    expire_leases(engine, AFTER + timedelta(days=1))
    with Session(engine) as session:
        resolve(session, delivery_id, DeliveryState.PENDING, actor="cli:test")
        session.commit()
    assert all_deliveries(engine)[0].state == "pending"


def test_a_batch_of_slow_sends_keeps_its_later_posts_claimed(
    engine: Engine, settings: Settings
) -> None:
    """Each send extends the lease of the posts still waiting in the batch, so a sweeper running
    during a long batch does not call them lost (`unknown`, alerted) before they were tried."""
    import time

    scheduled_world(engine, stories=3, channels=(("tele", "test-scripted"),))
    SCRIPTS["tele"].extend(["hook", "hook"])
    HOOKS.append(lambda: time.sleep(2))  # a slow first send
    HOOKS.append(lambda: (time.sleep(2), expire_leases(engine)))  # the sweeper, mid-batch
    dispatch_due(engine, settings, worker_id="w1", lease_seconds=3)
    assert len(CALLS["tele"]) == 3
    assert [d.state for d in all_deliveries(engine)] == ["sent", "sent", "sent"]
    assert not [a for a in moderator_alerts(engine) if a.kind == "delivery_unknown"]


def test_mastodon_is_not_retried_once_it_may_have_forgotten_the_idempotency_key(
    engine: Engine, settings: Settings
) -> None:
    """A 502 after the status was made, then no retry until past Mastodon's hour: a resend
    could post twice, so the post turns `unknown` and the moderators hear of it."""
    with FakeMastodon() as fake:
        real = settings.model_copy(
            update={"mastodon_base_url": fake.url, "mastodon_token": SecretStr(fake.token)}
        )
        _mastodon_world(engine)
        fake.inject(
            Response(502, "<html>Bad Gateway</html>", after_handling=True),
            path="/api/v1/statuses",
        )
        assert dispatch_due(engine, real, worker_id="w1", now=AFTER).retried == 1
        assert len(fake.statuses) == 1
        later = AFTER + timedelta(minutes=55)  # the worker was down, or the backlog was long
        assert dispatch_due(engine, real, worker_id="w1", now=later).unknown == 1
        assert len(fake.statuses) == 1
        [row] = all_deliveries(engine)
        assert row.state == "unknown" and row.last_error == deliveries.WINDOW_PASSED
        assert [a.kind for a in moderator_alerts(engine)] == ["delivery_unknown"]


def test_through_the_real_mastodon_publisher_posts_fit_the_server_limits(
    engine: Engine, settings: Settings
) -> None:
    """The dispatcher composes each post to the limits the channel's server tells, and asks the
    server once for all three ticks, not once per post."""
    long_text = "Air laut masuk ke rumah kami lagi, kasur dan buku anak-anak basah. " * 20
    with FakeMastodon(max_characters=300) as fake:
        real = settings.model_copy(
            update={"mastodon_base_url": fake.url, "mastodon_token": SecretStr(fake.token)}
        )
        scheduled_world(engine, stories=3, channels=(("masto", "mastodon"),), text=long_text)
        for minute in range(3):  # the channel's rate: one post a minute, one tick each
            at = AFTER + timedelta(minutes=minute)
            assert dispatch_due(engine, real, worker_id="w1", now=at).sent == 1
        assert len(fake.statuses) == 3
        for status in fake.statuses.values():
            assert 280 <= status_length(status["content"]) <= 300
            assert status["content"].split("\n\n", 1)[0].endswith("…")
        assert len(fake.calls("/api/v2/instance")) == 1


def test_a_post_unscheduled_after_a_maybe_sent_retry_and_scheduled_again_goes_out_anew(
    engine: Engine, settings: Settings
) -> None:
    """Scheduling a cancelled post again makes a new post: nothing of the old attempts (its
    'may have been sent' mark above all) may make the new one `unknown` unsent."""
    [story_id] = scheduled_world(engine)
    SCRIPTS["mast"].append("maybe")
    assert dispatch_due(engine, settings, worker_id="w1", now=AFTER).retried == 1
    with Session(engine) as session:
        unschedule(session, submission_id=story_id, actor="cli:test")
        session.commit()
    later = SLOT + timedelta(days=1)
    with Session(engine) as session:
        schedule_story(
            session,
            submission_id=story_id,
            campaign_slug="adil",
            at=later,
            channels=None,
            actor="cli:test",
        )
        session.commit()
    stats = dispatch_due(engine, settings, worker_id="w1", now=later + timedelta(minutes=1))
    assert (stats.sent, stats.unknown) == (1, 0)
    [first_key, second_key] = [key for key, _post in CALLS["mast"]]
    assert first_key != second_key
    [row] = all_deliveries(engine)
    assert row.state == "sent" and row.uncertain_since is None and row.attempts == 1
