"""What every HTTP publisher shares: a session with timeouts and reading rate-limit headers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from core.clock import utcnow

USER_AGENT = "SuaraPesisir/0.1 (+https://github.com/suara-pesisir)"
# (connect, read) seconds. Uploads get a longer read timeout.
TIMEOUT = (5.0, 30.0)
UPLOAD_TIMEOUT = (5.0, 120.0)
# A platform's "wait N seconds" above this is not honoured blindly (a typo'd header, or a day).
MAX_RETRY_AFTER = 24 * 3600.0


def new_session() -> requests.Session:
    """A requests session with our User-Agent; one per publisher instance."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def body_json(response: requests.Response) -> Any:
    """The response body as JSON, or None when it is not JSON (a proxy's HTML 502 page)."""
    try:
        return response.json()
    except (json.JSONDecodeError, ValueError):
        return None


def _seconds_until(moment: datetime, now: datetime) -> float:
    return max(0.0, (moment - now).total_seconds())


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or HTTP date), `X-RateLimit-Reset`
    (Mastodon: ISO-8601) or `RateLimit-Reset` (Bluesky: Unix seconds; IETF draft: a delta)."""
    now = now or utcnow()
    retry_after = headers.get("Retry-After")
    if retry_after:
        try:
            return min(MAX_RETRY_AFTER, max(0.0, float(retry_after)))
        except ValueError:
            try:
                return min(MAX_RETRY_AFTER, _seconds_until(parsedate_to_datetime(retry_after), now))
            except (TypeError, ValueError):
                pass
    for name in ("X-RateLimit-Reset", "RateLimit-Reset"):
        value = headers.get(name)
        if not value:
            continue
        try:
            number = float(value)
        except ValueError:
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return min(MAX_RETRY_AFTER, _seconds_until(moment, now))
        # A Unix timestamp is large; a small number is a delta in seconds.
        if number > 1_000_000_000:
            return min(MAX_RETRY_AFTER, _seconds_until(datetime.fromtimestamp(number, UTC), now))
        return min(MAX_RETRY_AFTER, max(0.0, number))
    return None


def may_have_reached_server(exc: requests.RequestException) -> bool:
    """False only when the request surely never left: no connection was made."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, requests.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", None)
        if isinstance(reason, NewConnectionError):
            return False
    return True
