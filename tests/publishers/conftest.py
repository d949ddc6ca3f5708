"""Stories with real, metadata-free JPEG renditions for the publisher tests."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from core.projections import PublicStory, Rendition, StoryImage
from publishers.base import PublishError, RetryableError
from publishers.channels.mastodon import forget_limits

StoryFactory = Callable[..., PublicStory]


@pytest.fixture(autouse=True)
def _forget_mastodon_limits() -> None:
    """Each test reads its fake's limits afresh: a later fake may get an earlier one's port."""
    forget_limits()


def write_jpeg(path: Path, width: int, height: int, shade: int) -> Rendition:
    """A small JPEG without EXIF, as the pipeline's renditions are."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (shade % 256, 120, 200)).save(buffer, "JPEG", quality=80)
    path.write_bytes(buffer.getvalue())
    return Rendition(path, width, height, path.stat().st_size)


@pytest.fixture
def make_story(tmp_path: Path) -> StoryFactory:
    """`make_story(images=3, text=..., **fields)`: a PublicStory with web and feed renditions."""

    def factory(
        images: int = 1, text: str = "Air laut masuk ke rumah kami lagi.", **fields: object
    ) -> PublicStory:
        story_images = []
        for n in range(images):
            story_images.append(
                StoryImage(
                    renditions={
                        "web": write_jpeg(tmp_path / f"p{n}-web.jpg", 64, 48, n * 10),
                        "feed": write_jpeg(tmp_path / f"p{n}-feed.jpg", 32, 24, n * 10 + 5),
                    }
                )
            )
        values: dict[str, object] = {
            "ref": "SP-0042",
            "place_name": "Oesapa",
            "themes": ("aksi-warga",),
            "images": tuple(story_images),
        }
        values.update(fields)
        return PublicStory(text=text, **values)  # type: ignore[arg-type]

    return factory


def raised_exactly(
    error: type[PublishError], retry_after: float | None, send: Callable[[], object]
) -> PublishError:
    """`send()` raises exactly `error` (not a subclass), with `retry_after` when one is given;
    the error, for further checks."""
    with pytest.raises(error) as caught:
        send()
    assert type(caught.value) is error
    if retry_after is not None:
        assert isinstance(caught.value, RetryableError) and caught.value.retry_after == retry_after
    return caught.value


from tests.publishers.meta_support import meta  # noqa: E402, F401 - the Meta publishers' world
