"""Signed, expiring URLs of public renditions, for platforms that fetch photos by URL.

Instagram and Threads fetch each photo from an `image_url`: the web app serves `GET /m/<token>`
for a token made here. The token names one rendition (never an original) and when it expires,
signed with PESISIR_SECRET_KEY (itsdangerous, HMAC); the web app checks it and, when it serves
the file, that the story still allows it (consent, not withdrawn).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from itsdangerous import BadData, URLSafeSerializer

from core.clock import utcnow
from core.config import Settings
from core.errors import ConfigError, NotAllowed

#: Renditions live here, relative to the data directory (`core.storage.MediaStore`).
RENDITIONS_PREFIX = PurePosixPath("public/renditions")


def _serializer(settings: Settings) -> URLSafeSerializer:
    if settings.secret_key is None:
        raise ConfigError(
            "PESISIR_SECRET_KEY is not set: set it to a long random string "
            '(python3 -c "import secrets; print(secrets.token_urlsafe(32))")'
        )
    return URLSafeSerializer(settings.secret_key.get_secret_value(), salt="pesisir.media")


def sign(settings: Settings, relative: str, *, expires: datetime) -> str:
    """A token for one rendition (its path relative to the data directory) until `expires`."""
    path = PurePosixPath(relative)
    if path.is_absolute() or ".." in path.parts or not path.is_relative_to(RENDITIONS_PREFIX):
        raise NotAllowed(f"only renditions have public URLs, not {relative!r}")
    return str(_serializer(settings).dumps([str(path), int(expires.timestamp())]))


def verify(settings: Settings, token: str, *, now: datetime | None = None) -> str:
    """The rendition path a token names; NotAllowed when it is forged, garbled or expired."""
    try:
        path, expires = _serializer(settings).loads(token)
    except (BadData, TypeError, ValueError):
        raise NotAllowed("not a media token of this installation") from None
    if not isinstance(expires, int) or expires < (now or utcnow()).timestamp():
        raise NotAllowed("this media link has expired")
    return str(path)


def media_url(settings: Settings, relative: str, *, now: datetime | None = None) -> str:
    """The public URL of a rendition, valid for PESISIR_MEDIA_URL_HOURS."""
    if not settings.public_base_url:
        raise ConfigError(
            "PESISIR_PUBLIC_BASE_URL is not set: the https:// address this installation is "
            "reached at (platforms fetch photos from it)"
        )
    expires = (now or utcnow()) + timedelta(hours=settings.media_url_hours)
    return f"{settings.public_base_url.rstrip('/')}/m/{sign(settings, relative, expires=expires)}"


def public_address_problem(base_url: str | None) -> str | None:
    """Why platforms on the internet cannot fetch from `base_url` (unset, localhost, a private
    or loopback address, a name without a domain); None when it looks public.

    Read from the address itself, without asking DNS: a name that resolves privately is found
    out by the platform's first fetch (Instagram's 2207052)."""
    if not base_url:
        return "PESISIR_PUBLIC_BASE_URL is not set"
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in ("http", "https") or not host:
        return f"PESISIR_PUBLIC_BASE_URL {base_url} is not a web address"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith(_PRIVATE_SUFFIXES) or "." not in host:
            return f"PESISIR_PUBLIC_BASE_URL {base_url} names a host only this network knows"
        return None
    if not address.is_global:
        return f"PESISIR_PUBLIC_BASE_URL {base_url} is a private or loopback address"
    return None


#: Names that never resolve on the internet (RFC 6761, RFC 6762, RFC 8375 and common practice).
_PRIVATE_SUFFIXES = (".localhost", ".local", ".lan", ".internal", ".home.arpa", ".test")
