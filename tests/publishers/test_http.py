"""Reading how long a platform asks us to wait."""

from __future__ import annotations

from datetime import UTC, datetime

from publishers.http import MAX_RETRY_AFTER, retry_after_seconds

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_retry_after_seconds_and_http_date() -> None:
    assert retry_after_seconds({"Retry-After": "7"}, now=NOW) == 7.0
    assert retry_after_seconds({"Retry-After": "Mon, 23 Nov 2026 12:01:00 GMT"}, now=NOW) == 60.0


def test_mastodon_iso_reset_and_bluesky_unix_reset() -> None:
    assert retry_after_seconds({"X-RateLimit-Reset": "2026-11-23T12:05:00.000Z"}, now=NOW) == 300.0
    unix = str(int(NOW.timestamp()) + 90)
    assert retry_after_seconds({"RateLimit-Reset": unix}, now=NOW) == 90.0
    assert retry_after_seconds({"RateLimit-Reset": "15"}, now=NOW) == 15.0  # a delta


def test_past_garbage_and_absurd_values() -> None:
    assert retry_after_seconds({"X-RateLimit-Reset": "2026-11-23T11:00:00Z"}, now=NOW) == 0.0
    assert retry_after_seconds({"Retry-After": "soon"}, now=NOW) is None
    assert retry_after_seconds({}, now=NOW) is None
    assert retry_after_seconds({"Retry-After": "99999999"}, now=NOW) == MAX_RETRY_AFTER
