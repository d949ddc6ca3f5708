"""`GET /m/<token>` over real HTTP: a rendition by a signed, expiring URL, never an original,
404 once the story is withdrawn or internal."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import media_urls
from core.clock import utcnow
from core.config import Settings
from core.errors import ConfigError, NotAllowed
from core.models import Media, Submission
from core.storage import MediaStore
from tests.publishers.dispatch_support import make_story
from web import create_app
from web.server import serving

SHA = "ab" + "c" * 62


@pytest.fixture
def configured(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "secret_key": SecretStr("test-secret-key-0123456789"),
            "public_base_url": "https://pesisir.example.org/",
        }
    )


def _story_with_rendition(engine: Engine, settings: Settings, **story: object) -> tuple[int, str]:
    store = MediaStore(settings.data_dir)
    folder = store.rendition_dir(SHA)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "feed.jpg").write_bytes(b"\xff\xd8\xff rendition")
    original = store.original_path(SHA, ".jpg")
    original.parent.mkdir(parents=True, exist_ok=True)
    original.write_bytes(b"\xff\xd8\xff original with GPS")
    with Session(engine) as session:
        row = make_story(session, **story)  # type: ignore[arg-type]
        session.add(
            Media(
                submission_id=row.id or 0,
                kind="photo",
                sha256=SHA,
                path=store.relative(original),
                renditions={"feed": {"path": store.relative(folder / "feed.jpg")}},
            )
        )
        session.commit()
        return row.id or 0, store.relative(folder / "feed.jpg")


def test_a_signed_url_serves_the_rendition_until_it_expires(
    engine: Engine, configured: Settings
) -> None:
    _story_id, relative = _story_with_rendition(engine, configured)
    url = media_urls.media_url(configured, relative)
    assert url.startswith("https://pesisir.example.org/m/")
    with serving(create_app(configured, engine)) as base:
        _check_tokens(base, configured, url, relative)


def _check_tokens(base: str, configured: Settings, url: str, relative: str) -> None:
    path = url.removeprefix("https://pesisir.example.org")
    served = requests.get(base + path, timeout=10)
    assert served.status_code == 200 and served.content == b"\xff\xd8\xff rendition"
    assert served.headers["content-type"] == "image/jpeg"
    expired = media_urls.sign(configured, relative, expires=utcnow() - timedelta(seconds=1))
    assert requests.get(f"{base}/m/{expired}", timeout=10).status_code == 404
    token = path.removeprefix("/m/")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert requests.get(f"{base}/m/{tampered}", timeout=10).status_code == 404
    other = configured.model_copy(update={"secret_key": SecretStr("another-installation-key")})
    forged = media_urls.sign(other, relative, expires=utcnow() + timedelta(hours=1))
    assert requests.get(f"{base}/m/{forged}", timeout=10).status_code == 404


def test_never_an_original_and_never_after_withdrawal_or_for_internal(
    engine: Engine, configured: Settings
) -> None:
    story_id, relative = _story_with_rendition(engine, configured)
    store = MediaStore(configured.data_dir)
    with pytest.raises(NotAllowed):
        media_urls.sign(
            configured, store.relative(store.original_path(SHA, ".jpg")), expires=utcnow()
        )
    with pytest.raises(NotAllowed):
        media_urls.sign(
            configured, "public/renditions/../private/originals/x.jpg", expires=utcnow()
        )
    path = media_urls.media_url(configured, relative).removeprefix("https://pesisir.example.org")
    with serving(create_app(configured, engine)) as base:
        assert requests.get(base + path, timeout=10).status_code == 200
        _change(engine, story_id, consent="internal")
        assert requests.get(base + path, timeout=10).status_code == 404
        _change(engine, story_id, consent="anonymous", state="withdrawn")
        assert requests.get(base + path, timeout=10).status_code == 404


def _change(engine: Engine, story_id: int, **values: str) -> None:
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        for name, value in values.items():
            setattr(story, name, value)
        session.add(story)
        session.commit()


def test_without_a_secret_or_an_address_the_setting_is_named(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="PESISIR_SECRET_KEY"):
        media_urls.sign(settings, "public/renditions/ab/x/feed.jpg", expires=utcnow())
    keyed = settings.model_copy(update={"secret_key": SecretStr("k" * 32)})
    with pytest.raises(ConfigError, match="PESISIR_PUBLIC_BASE_URL"):
        media_urls.media_url(keyed, "public/renditions/ab/x/feed.jpg")


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        (None, "is not set"),
        ("http://localhost:8000", "only this network knows"),
        ("http://127.0.0.1:8000", "private or loopback"),
        ("https://192.168.1.20", "private or loopback"),
        ("https://10.0.0.5/pesisir", "private or loopback"),
        ("http://[::1]:8000", "private or loopback"),
        ("https://pesisir.local", "only this network knows"),
        ("https://pesisir", "only this network knows"),
        ("ftp://pesisir.example.org", "not a web address"),
        ("https://pesisir.example.org", None),
        ("https://203.0.113.9", "private or loopback"),  # documentation range: not global
        ("https://8.8.8.8", None),
    ],
)
def test_check_says_when_the_public_address_is_not_public(
    address: str | None, problem: str | None
) -> None:
    found = media_urls.public_address_problem(address)
    assert (found is None) if problem is None else (problem in (found or ""))
