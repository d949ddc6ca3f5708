"""Meta's Graph API, shared by Instagram, Facebook Pages and Threads: one client, and the one
reading of its error envelope `{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}` and of its usage headers.

PLATFORMS.md (Facebook Page, Instagram): codes 1 and 2 are transient; 4, 17, 32, 341, 613 and 9
are throttling, retried when `X-Business-Use-Case-Usage` says access comes back; 368 (a
temporary policy block) waits an hour; 190 is a token to renew and 10 or 200-299 a missing
permission (both pause the channel); Instagram's 2207xxx subcodes say what was wrong with a
photo or caption, in words a person reads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import requests
from pydantic import SecretStr

from publishers.base import AuthError, PermanentError, PublishError, RetryableError
from publishers.http import (
    MAX_RETRY_AFTER,
    TIMEOUT,
    body_json,
    may_have_reached_server,
    new_session,
    retry_after_seconds,
)

logger = logging.getLogger(__name__)

TRANSIENT_CODES = frozenset({1, 2})
THROTTLING_CODES = frozenset({4, 9, 17, 32, 341, 613})
TOKEN_CODES = frozenset({102, 190})
POLICY_BLOCK_CODE = 368
#: A throttled call without a usage estimate waits this long (Meta's windows are an hour).
THROTTLE_SECONDS = 900.0
#: Instagram's daily publishing cap: try again in an hour (the window moves).
CAP_SECONDS = 3600.0

#: Instagram's subcodes (PLATFORMS.md, "Error subcodes seen in practice"), as a person reads them.
SUBCODE_MESSAGES: dict[int, str] = {
    2207052: "Instagram could not fetch the photo from our public address: "
    "PESISIR_PUBLIC_BASE_URL must be reachable from the internet and the link still valid",
    2207003: "Instagram timed out fetching the photo from our public address "
    "(PESISIR_PUBLIC_BASE_URL): is it reachable from the internet?",
    2207004: "the photo is too large for Instagram (at most 8 MB)",
    2207005: "Instagram takes only JPEG photos",
    2207009: "the photo's shape is outside what Instagram takes (4:5 to 1.91:1)",
    2207010: "the caption is too long for Instagram (2,200 characters, 30 hashtags)",
    2207020: "the Instagram container expired (24 hours) before it was published",
    2207042: "the account reached Instagram's publishing limit for 24 hours",
    2207050: "the Instagram account is restricted: log in to Instagram and follow its notice",
}
#: Subcodes that mean "later", not "never".
RETRY_SUBCODES = {2207003: 300.0, 2207042: CAP_SECONDS}
#: Subcodes that stop every post of the account until a person acts: pause the channel.
ACCOUNT_SUBCODES = frozenset({2207050})


def usage_wait_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds until Meta gives access back: the largest `estimated_time_to_regain_access`
    (minutes) in `X-Business-Use-Case-Usage`; else `Retry-After`; None when nothing says."""
    waits: list[float] = []
    raw = headers.get("X-Business-Use-Case-Usage")
    if raw:
        try:
            usage = json.loads(raw)
        except ValueError:
            usage = None
        entries = usage.values() if isinstance(usage, dict) else ()
        for entry in entries:
            for item in entry if isinstance(entry, list) else [entry]:
                minutes = (
                    item.get("estimated_time_to_regain_access") if isinstance(item, dict) else 0
                )
                if isinstance(minutes, int | float) and minutes > 0:
                    waits.append(float(minutes) * 60)
    if waits:
        return min(MAX_RETRY_AFTER, max(waits))
    return retry_after_seconds(headers)


def app_usage_percent(headers: Mapping[str, str]) -> int | None:
    """The highest percentage in `X-App-Usage` (call_count, total_time, total_cputime)."""
    raw = headers.get("X-App-Usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    values = (
        [v for v in usage.values() if isinstance(v, int | float)] if isinstance(usage, dict) else []
    )
    return int(max(values)) if values else None


def classify(
    platform: str, what: str, status: int, headers: Mapping[str, str], payload: Any
) -> PublishError:
    """The typed error for a Graph API failure, read from the envelope's code and subcode."""
    error = payload.get("error") if isinstance(payload, dict) else None
    error = error if isinstance(error, dict) else {}
    code = _int(error.get("code"))
    subcode = _int(error.get("error_subcode"))
    trace = error.get("fbtrace_id")
    said = SUBCODE_MESSAGES.get(subcode or 0) or str(
        error.get("error_user_msg") or error.get("message") or f"HTTP {status}"
    )
    numbers = "/".join(str(n) for n in (code, subcode) if n is not None) or str(status)
    message = f"{platform} {what} ({numbers}): {said}" + (f" [fbtrace {trace}]" if trace else "")
    if subcode in RETRY_SUBCODES:
        return RetryableError(message, retry_after=RETRY_SUBCODES[subcode])
    if subcode in ACCOUNT_SUBCODES:
        return AuthError(message)
    if code == POLICY_BLOCK_CODE:
        # PLATFORMS.md: a temporary block for a policy violation; waiting is the only remedy.
        return RetryableError(message, retry_after=CAP_SECONDS)
    if code in THROTTLING_CODES or status == 429:
        return RetryableError(message, retry_after=usage_wait_seconds(headers) or THROTTLE_SECONDS)
    if code in TOKEN_CODES or status == 401:
        return AuthError(f"{message}; make a new access token")
    if code == 10 or (code is not None and 200 <= code <= 299):
        return AuthError(f"{message}; the token lacks a permission")
    if code in TRANSIENT_CODES or status >= 500:
        return RetryableError(message, retry_after=retry_after_seconds(headers))
    return PermanentError(message)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class GraphClient:
    """Calls to one Graph host with one token (sent as a Bearer header, never in a URL)."""

    def __init__(
        self,
        base_url: str,
        token: SecretStr,
        *,
        platform: str,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.platform = platform
        self._token = token
        self._session = new_session()
        self._session.headers["Authorization"] = f"Bearer {token.get_secret_value()}"

    def call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        timeout: tuple[float, float] | None = None,
    ) -> Any:
        """One call; its JSON answer, or a typed error. A lost answer to a POST or DELETE is a
        `RetryableError` with `maybe_sent` (the caller knows how to find out)."""
        try:
            response = self._session.request(
                method,
                f"{self.base_url}/{path.lstrip('/')}",
                params=params,
                data=data,
                files=files,
                timeout=timeout or self.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            sent = method != "GET" and may_have_reached_server(exc)
            raise RetryableError(
                f"{self.platform} {what}: {type(exc).__name__}", maybe_sent=sent
            ) from None
        payload = body_json(response)
        if response.status_code >= 400 or (isinstance(payload, dict) and "error" in payload):
            error = classify(self.platform, what, response.status_code, response.headers, payload)
            if (
                isinstance(error, RetryableError)
                and method != "GET"
                and response.status_code >= 500
            ):
                error.maybe_sent = True  # a server error after the work was done looks the same
            raise error
        percent = app_usage_percent(response.headers)
        if percent is not None and percent >= 90:
            logger.warning("%s: the app has used %d%% of its hourly calls", self.platform, percent)
        return payload

    def delete(self, object_id: str) -> bool:
        """`DELETE /{object-id}`; an object already gone counts as deleted."""
        try:
            self.call("DELETE", object_id, "delete")
        except PermanentError as exc:
            if is_gone(exc):
                return True
            raise
        return True

    def scopes(self) -> set[str] | None:
        """The token's permissions from `GET /debug_token`; None when Meta will not say."""
        try:
            answer = self.call(
                "GET",
                "debug_token",
                "debug_token",
                params={"input_token": self._token.get_secret_value()},
            )
        except AuthError:
            raise
        except PublishError:
            return None
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            return None
        if data.get("is_valid") is False:
            raise AuthError(f"{self.platform}: the access token is not valid any more")
        scopes = data.get("scopes")
        return {str(s) for s in scopes} if isinstance(scopes, list) else None


def is_gone(error: PublishError) -> bool:
    """True when the error says the object does not exist (code 100 subcode 33, or a 404):
    deleting something already deleted."""
    text = str(error)
    return isinstance(error, PermanentError) and (" (100/33)" in text or " (404)" in text)


def missing_permissions(granted: set[str] | None, needed: Mapping[str, str]) -> list[str]:
    """The permissions in `needed` (name → why) that `granted` lacks; none when unknown."""
    if granted is None:
        return []
    return [f"{name} ({why})" for name, why in needed.items() if name not in granted]
