"""The outbox publisher: a folder per post, idempotent by key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from publishers.channels.outbox import OutboxPublisher, folder_name
from publishers.formatting import compose
from tests.publishers.conftest import StoryFactory

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_writes_json_and_image_copies(tmp_path: Path, make_story: StoryFactory) -> None:
    outbox = OutboxPublisher(tmp_path / "outbox", now=lambda: NOON)
    post = compose("outbox", make_story(images=2, credit_name="Maria"), hashtags=["AdilUntukBumi"])
    receipt = outbox.publish(post, idempotency_key="delivery-1")
    json.loads(json.dumps(receipt.extra))  # the dispatcher stores it as JSON
    folder = tmp_path / "outbox" / "2026-11-23" / "delivery-1"
    assert receipt.remote_id == "2026-11-23/delivery-1" and receipt.url == folder.resolve().as_uri()
    document = json.loads((folder / "post.json").read_text(encoding="utf-8"))
    assert document["text"] == post.text and "Cerita: Maria, Oesapa" in document["text"]
    assert document["hashtags"] == ["AdilUntukBumi"]
    assert document["idempotency_key"] == "delivery-1"
    assert document["created_at"] == NOON.isoformat()
    assert document["alt_texts"] == [
        "Foto 1 dari 2, cerita warga Oesapa",
        "Foto 2 dari 2, cerita warga Oesapa",
    ]
    files = [image["file"] for image in document["images"]]
    assert files == ["01-web.jpg", "02-web.jpg"]
    assert [(folder / f).read_bytes() for f in files] == [i.path.read_bytes() for i in post.images]
    assert sorted(p.name for p in folder.iterdir()) == ["01-web.jpg", "02-web.jpg", "post.json"]


def test_same_key_same_receipt_no_second_folder(tmp_path: Path, make_story: StoryFactory) -> None:
    moments = iter([NOON, NOON + timedelta(days=1)])
    outbox = OutboxPublisher(tmp_path / "o", now=lambda: next(moments))
    post = compose("outbox", make_story(images=1), hashtags=[])
    first = outbox.publish(post, idempotency_key="delivery-2")
    again = outbox.publish(post, idempotency_key="delivery-2")  # the next day
    assert again == first
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["2026-11-23"]
    assert len(list((tmp_path / "o").glob("*/*"))) == 1


def test_unsafe_keys_become_hashes(tmp_path: Path, make_story: StoryFactory) -> None:
    assert folder_name("../../etc") != "../../etc" and "/" not in folder_name("../../etc")
    assert folder_name("delivery-3") == "delivery-3"
    outbox = OutboxPublisher(tmp_path / "o", now=lambda: NOON)
    receipt = outbox.publish(
        compose("outbox", make_story(images=0), hashtags=[]), idempotency_key="a/b"
    )
    assert (tmp_path / "o" / receipt.remote_id / "post.json").exists()


def test_delete_removes_the_folder(tmp_path: Path, make_story: StoryFactory) -> None:
    outbox = OutboxPublisher(tmp_path, now=lambda: NOON)
    receipt = outbox.publish(
        compose("outbox", make_story(images=1), hashtags=[]), idempotency_key="d"
    )
    assert outbox.delete(receipt) is True
    assert not (tmp_path / "2026-11-23" / "d").exists()
    assert outbox.delete(receipt) is False
    # A receipt pointing outside the outbox is refused.
    assert outbox.delete(type(receipt)(remote_id="../../")) is False
