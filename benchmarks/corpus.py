"""A realistic corpus at scale for benchmarks: stories, photos, campaigns, channels and posts.

Every benchmark that needs "a million stories" builds them here, so they measure the same data:
states, consents, themes and places in the proportions a year of the coalition's work would
have, texts of a few sentences in Indonesian and Kupang Malay, one to three photos per story,
submission times spread over the past year. Rows go in by bulk INSERT in batches (minutes for
a million, not hours); the data is deterministic for a given seed.

    from benchmarks.corpus import build, reset
    reset(url); build(engine, stories=1_000_000, posts=20_000)
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic import command
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from core import taxonomy
from core.db import alembic_config, make_engine, migrate
from core.delivery_table import Delivery
from core.models import Campaign, Channel, Contributor, Media, Notification, Submission
from pipeline import gazetteer
from pipeline.duplicates import text_digest

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
BATCH = 10_000
#: The revision rows are loaded under (see `build`).
BULK_REVISION = "0007"

#: (state, weight): most stories of a year are decided; a few wait.
STATES = [
    ("published", 40),
    ("approved", 12),
    ("scheduled", 6),
    ("pending_review", 8),
    ("needs_info", 2),
    ("rejected", 22),
    ("quarantined", 3),
    ("withdrawn", 1),
    ("erased", 1),
    ("draft", 5),
]
CONSENTS = [("anonymous", 55), ("named", 30), ("internal", 15)]
CHANNEL_KINDS = ["outbox", "telegram", "mastodon", "bluesky", "wordpress"]
OPENINGS = [
    "Air laut naik lagi di {place} pagi ini",
    "Tadi malam ombak besar sampai di {place}",
    "Beta mau cerita dari {place}",
    "Di {place} orang su mulai pindah barang",
    "Sudah tiga hari air sumur di {place} rasa asin",
    "Anak muda di {place} tanam mangrove hari ini",
]
DETAILS = [
    "Rumah-rumah di pinggir pantai kena banjir rob sampai lutut.",
    "Pohon kelapa tumbang karena pantai terkikis abrasi.",
    "Nelayan tidak bisa melaut karena angin kencang dan gelombang tinggi.",
    "Sampah plastik menumpuk di muara setelah hujan deras.",
    "Jalan ke pasar putus, anak-anak tidak bisa ke sekolah.",
    "Mama-mama antre air bersih dari tangki, harga air naik.",
    "Kami gotong royong bikin tanggul dari karung pasir.",
    "Banyak anak kena diare setelah banjir.",
    "Kebun jagung kering, hujan tidak turun sejak bulan lalu.",
    "Karang di depan kampung pucat, ikan makin jauh.",
]
CLOSINGS = ["Tolong pemerintah lihat kami.", "Kami butuh bantuan.", "", "Terima kasih."]
#: What voice notes say (one story in 30 has one): words the typed texts never use, so a
#: search that finds them found a transcript.
SPOKEN = [
    "Bapak dorang bilang tambak garam di {place} su hancur kena air pasang.",
    "Mama-mama di {place} jalan jauh cari air tawar tiap pagi.",
    "Pukat nelayan di {place} robek kena badai semalam.",
]
VOICE_SHARE = 30


@dataclass(frozen=True)
class Built:
    """What `build` inserted: counts, so a benchmark can print them."""

    stories: int
    media: int
    posts: int


def reset(url: str) -> None:
    """An empty, migrated database at `url` (on PostgreSQL: the public schema is DROPPED)."""
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate(url)


def _weighted(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([name for name, _ in table], [weight for _, weight in table])[0]


def _places() -> list[gazetteer.Place]:
    wanted = {"kelurahan", "desa", "landmark", "dusun"}
    return [place for place in gazetteer.places() if place.kind in wanted]


def _ref(number: int) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ2345679"
    code = ""
    while True:
        number, digit = divmod(number, len(alphabet))
        code = alphabet[digit] + code
        if number == 0:
            break
    return "SP-" + code.rjust(5, "A")


def _story_rows(count: int, contributors: int, seed: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    places = _places()
    slugs = list(taxonomy.slugs())
    for number in range(1, count + 1):
        place = rng.choice(places)
        state = _weighted(rng, STATES)
        submitted = NOW - timedelta(seconds=rng.randrange(365 * 86_400))
        story = " ".join(
            part
            for part in (
                rng.choice(OPENINGS).format(place=place.name) + ".",
                *rng.sample(DETAILS, 2),
                rng.choice(CLOSINGS),
            )
            if part
        )
        themes = [
            {"slug": slug, "score": round(rng.uniform(0.5, 1.0), 2), "evidence": []}
            for slug in rng.sample(slugs, rng.choice((1, 1, 2, 3)))
        ]
        decided = state not in {"draft", "pending_review", "needs_info", "quarantined"}
        version = rng.randrange(1, 6)
        carded = state not in {"draft", "erased"}  # every story reviewed had its card
        yield {
            "ref": _ref(number),
            "contributor_id": rng.randrange(1, contributors + 1),
            "state": state,
            "version": version,
            "card_chat_id": -1001000000001 if carded else None,
            "card_message_id": number if carded else None,
            "card_version": version if carded else None,
            "text": None if state == "erased" else story,
            "text_digest": None if state == "erased" else text_digest(story),
            "lang": rng.choice(("id", "id", "id", "kupang", "en")),
            "consent": None if state == "draft" else _weighted(rng, CONSENTS),
            "force_anonymous": False,
            "place_skipped": False,
            "place_id": place.id,
            "place_name": place.name,
            "place_kind": place.kind,
            "place_source": rng.choice(("chat", "photo", "text", "text")),
            "exact_lat": place.lat + rng.uniform(-0.01, 0.01),
            "exact_lon": place.lon + rng.uniform(-0.01, 0.01),
            "themes": themes,
            "flags": [],
            "pipeline_errors": {},
            "questions": [],
            "card_media_message_ids": [],
            "decided_by": "Ina" if decided else None,
            "decided_at": submitted + timedelta(hours=5) if decided else None,
            "created_at": submitted,
            "updated_at": submitted,
            "submitted_at": None if state == "draft" else submitted,
            "processed_at": None if state == "draft" else submitted,
            "published_at": submitted + timedelta(days=2) if state == "published" else None,
        }


def story_texts(count: int, seed: int = 1) -> list[str]:
    """The texts of the first `count` stories `build` would insert (no database)."""
    return [row["text"] or "" for row in _story_rows(count, contributors=1, seed=seed)]


def _media_rows(count: int, seed: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed + 1)
    for story in range(1, count + 1):
        for position in range(rng.choice((0, 1, 1, 2, 3))):
            digest = hashlib.sha256(f"{seed}:{story}:{position}".encode()).hexdigest()
            yield {
                "submission_id": story,
                "kind": "photo",
                "position": position,
                "sha256": digest,
                "mime_type": "image/jpeg",
                "size_bytes": rng.randrange(400_000, 3_000_000),
                "path": f"private/originals/{digest[:2]}/{digest}.jpg",
                "width": 4000,
                "height": 3000,
                "phash": f"{rng.getrandbits(64):016x}",
                "renditions": {},
                "created_at": NOW,
            }


def _voice_rows(count: int, seed: int) -> Iterator[dict[str, Any]]:
    """A voice note with its transcript for one story in `VOICE_SHARE` (its own random stream,
    so the photos stay what they were)."""
    rng = random.Random(seed + 4)
    places = _places()
    for story in range(1, count + 1):
        if rng.randrange(VOICE_SHARE):
            continue
        digest = hashlib.sha256(f"{seed}:{story}:voice".encode()).hexdigest()
        yield {
            "submission_id": story,
            "kind": "voice",
            "position": 9,
            "sha256": digest,
            "mime_type": "audio/ogg",
            "size_bytes": rng.randrange(40_000, 400_000),
            "path": f"private/originals/{digest[:2]}/{digest}.ogg",
            "duration_seconds": rng.randrange(5, 90),
            "transcript": rng.choice(SPOKEN).format(place=rng.choice(places).name),
            "transcript_status": "done",
            "renditions": {},
            "created_at": NOW,
        }


def _notification_rows(count: int, contributors: int, seed: int) -> Iterator[dict[str, Any]]:
    """One notification per story (approved, rejected, published...), all sent but one in a
    thousand, which waits: what the bot's claim looks for every few seconds."""
    rng = random.Random(seed + 3)
    for number in range(1, count + 1):
        waiting = number % 1000 == 0
        at = NOW - timedelta(seconds=rng.randrange(365 * 86_400))
        yield {
            "audience": "contributor",
            "contributor_id": rng.randrange(1, contributors + 1),
            "submission_id": number,
            "kind": rng.choice(("approved", "rejected", "published")),
            "params": {},
            "state": "pending" if waiting else "sent",
            "attempts": 0 if waiting else 1,
            "next_attempt_at": at,
            "created_at": at,
            "sent_at": None if waiting else at,
        }


def _post_rows(count: int, stories: int, channels: int, seed: int) -> Iterator[dict[str, Any]]:
    """Posts of distinct (story, channel) pairs: past ones sent (a few failed), the rest ahead."""
    rng = random.Random(seed + 2)
    pairs = rng.sample(range(stories * channels), min(count, stories * channels))
    for number, pair in enumerate(pairs):
        story, channel = divmod(pair, channels)
        at = NOW + timedelta(minutes=30 * rng.randrange(-24 * 60, 24 * 30))
        past = at < NOW
        state = rng.choice(("sent",) * 18 + ("failed", "unknown")) if past else "pending"
        yield {
            "submission_id": story + 1,
            "campaign_id": 1 + number % 3,
            "channel_id": channel + 1,
            "scheduled_at": at,
            "next_attempt_at": None if past else at,
            "state": state,
            "attempts": 1 if past else 0,
            "idempotency_key": f"bench-{number}",
            "remote_url": f"https://example.org/p/{number}" if state == "sent" else None,
            "last_error": "HTTP 500 from the platform" if state == "failed" else None,
            "sent_at": at if state == "sent" else None,
            "created_at": at - timedelta(days=3),
            "updated_at": at,
        }


def _insert(engine: Engine, table: Any, rows: Iterator[dict[str, Any]]) -> int:
    total = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            with engine.begin() as connection:
                connection.execute(insert(table), batch)
            total += len(batch)
            batch = []
    if batch:
        with engine.begin() as connection:
            connection.execute(insert(table), batch)
        total += len(batch)
    return total


def build(engine: Engine, *, stories: int, posts: int = 0, seed: int = 1) -> Built:
    """Fill an empty, migrated database with `stories` stories, their photos and `posts` posts."""
    # The rows go in under the revision before the story list's indexes, whose migration then
    # fills its theme rows and word index in one statement each and builds its indexes once:
    # minutes for a million stories, where its triggers, row by row, take an hour.
    url = engine.url.render_as_string(hide_password=False)
    command.downgrade(alembic_config(url), BULK_REVISION)
    contributors = max(1, stories // 5)
    names = ["Maria", "Yosef", "Ina", "Ferdi", "Sarlota", None, None, None]
    rng = random.Random(seed)
    _insert(
        engine,
        Contributor.__table__,
        (
            {
                "public_name": rng.choice(names),
                "language": "id",
                "telegram_user_id": 10_000_000 + number,
                "telegram_chat_id": 10_000_000 + number,
                "created_at": NOW,
            }
            for number in range(contributors)
        ),
    )
    with engine.begin() as connection:
        connection.execute(
            insert(Campaign.__table__),  # type: ignore[attr-defined]
            [
                {
                    "slug": slug,
                    "name": slug.replace("-", " ").title(),
                    "hashtags": [tag],
                    "channels": [f"{kind}-1" for kind in CHANNEL_KINDS],
                    "slots": [{"days": ["mon", "wed", "fri"], "time": "09:00"}],
                    "timezone": "Asia/Makassar",
                    "theme_filter": [],
                    "place_filter": [],
                    "paused": False,
                    "created_at": NOW,
                }
                for slug, tag in (
                    ("adil-untuk-bumi", "AdilUntukBumi"),
                    ("langkah-hari-ini", "LangkahHariIni"),
                    ("mau-hidup-lebih-lama", "MauHidupLebihLama"),
                )
            ],
        )
        connection.execute(
            insert(Channel.__table__),  # type: ignore[attr-defined]
            [
                {
                    "name": f"{kind}-1",
                    "kind": kind,
                    "config": {},
                    "paused": False,
                    "created_at": NOW,
                }
                for kind in CHANNEL_KINDS
            ],
        )
    made = _insert(engine, Submission.__table__, _story_rows(stories, contributors, seed))
    media = _insert(engine, Media.__table__, _media_rows(stories, seed))
    media += _insert(engine, Media.__table__, _voice_rows(stories, seed))
    _insert(engine, Notification.__table__, _notification_rows(stories, contributors, seed))
    sent = _insert(engine, Delivery.__table__, _post_rows(posts, stories, len(CHANNEL_KINDS), seed))
    migrate(url)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return Built(stories=made, media=media, posts=sent)
