"""A world for the Meta publishers: the fake Graph hosts, the web dashboard serving signed photo
URLs on loopback (which the fakes really fetch), and stories with real renditions on disk."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.config import Settings
from core.models import Media, Submission
from core.projections import PublicStory, public_story
from core.storage import MediaStore
from publishers.base import Post, Publisher
from publishers.dispatcher import compose_post
from publishers.registry import build_publisher
from tests.fakes.meta_graph import FakeMetaGraph
from tests.publishers.dispatch_support import make_story
from web import create_app
from web.server import serving


@dataclass
class MetaWorld:
    """The fakes, the served dashboard and settings pointing at them."""

    engine: Engine
    settings: Settings
    graph: FakeMetaGraph
    threads: FakeMetaGraph
    web_url: str

    def publisher(self, kind: str, **settings: Any) -> Publisher:
        """The publisher of `kind` as the dispatcher builds it (settings may be changed)."""
        changed = self.settings.model_copy(update=settings) if settings else self.settings
        publisher = build_publisher(kind, {}, changed)
        # No real waiting between container status checks.
        if hasattr(publisher, "_sleep"):
            publisher._sleep = lambda _seconds: None
        return publisher

    def story(self, photos: int = 1, *, shape: tuple[int, int] = (40, 50), **fields: Any) -> int:
        """A scheduled story with `photos` photos (feed rendition of `shape`); its id."""
        return photo_story(self.engine, self.settings, photos, shape=shape, **fields)

    def public(self, story_id: int) -> PublicStory:
        """What may be published of the story, with absolute rendition paths."""
        with Session(self.engine) as session:
            row = session.get(Submission, story_id)
            assert row is not None
            return public_story(session, row, data_dir=self.settings.data_dir)

    def post(
        self, kind: str, story_id: int, hashtags: tuple[str, ...] = ("AdilUntukBumi",)
    ) -> Post:
        """The post the dispatcher would compose for this story on `kind`."""
        return compose_post(self.publisher(kind), kind, self.public(story_id), hashtags)


def jpeg(width: int, height: int, shade: int) -> bytes:
    """A small JPEG without metadata."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (shade % 256, 90, 160)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def photo_story(
    engine: Engine,
    settings: Settings,
    photos: int = 1,
    *,
    shape: tuple[int, int] = (40, 50),
    state: str = "scheduled",
    **fields: Any,
) -> int:
    """A story with real renditions in the data folder (`feed` of `shape`, `web` 64x48)."""
    store = MediaStore(settings.data_dir)
    with Session(engine) as session:
        story = make_story(session, state=state, **fields)
        for number in range(photos):
            sha = hashlib.sha256(f"{story.ref}-{number}".encode()).hexdigest()
            folder = store.rendition_dir(sha)
            folder.mkdir(parents=True, exist_ok=True)
            renditions = {}
            for name, (width, height) in (("feed", shape), ("web", (64, 48))):
                data = jpeg(width, height, number * 20 + len(name))
                (folder / f"{name}.jpg").write_bytes(data)
                renditions[name] = {
                    "path": store.relative(folder / f"{name}.jpg"),
                    "width": width,
                    "height": height,
                    "bytes": len(data),
                }
            session.add(
                Media(
                    submission_id=story.id or 0,
                    kind="photo",
                    sha256=sha,
                    path=f"private/originals/{sha[:2]}/{sha}.jpg",
                    renditions=renditions,
                )
            )
        session.commit()
        return story.id or 0


@pytest.fixture
def meta(engine: Engine, settings: Settings) -> Iterator[MetaWorld]:
    """Fake graph.facebook.com and graph.threads.net, and the dashboard serving photos."""
    keyed = settings.model_copy(update={"secret_key": SecretStr("test-secret-key-0123456789")})
    keyed.data_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        graph = stack.enter_context(FakeMetaGraph())
        threads = stack.enter_context(FakeMetaGraph(flavor="threads"))
        url = stack.enter_context(serving(create_app(keyed, engine)))
        assert isinstance(graph, FakeMetaGraph) and isinstance(threads, FakeMetaGraph)
        world = keyed.model_copy(
            update={
                "public_base_url": url,
                "meta_graph_url": f"{graph.url}/v26.0",
                "instagram_user_id": graph.ig_user_id,
                "instagram_access_token": SecretStr("ig-token"),
                "facebook_page_id": graph.page_id,
                "facebook_page_token": SecretStr("page-token"),
                "threads_graph_url": f"{threads.url}/v1.0",
                "threads_user_id": threads.threads_user_id,
                "threads_access_token": SecretStr("threads-token"),
            }
        )
        yield MetaWorld(engine, world, graph, threads, url)
