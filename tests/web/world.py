"""A small, realistic world for the dashboard's tests and screenshots: stories in every stage with
real metadata-free renditions, a campaign on two channels (an outbox and a Mastodon account
without credentials), posts sent, failed and waiting. Made through the product's own functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.clock import utcnow
from core.config import Settings
from core.models import Media
from core.states import SubmissionState
from core.storage import MediaStore
from faketelegram.images import jpeg
from moderation import actions
from pipeline.images import process_photo
from publishers.campaigns import create_campaign
from publishers.channels_config import add_channel
from publishers.dispatcher import dispatch_due
from tests.moderation.conftest import add_story

ANA = "moderator:Ana"
FLOOD = [
    {"slug": "banjir-rob", "score": 0.92, "evidence": ["air laut naik", "rob"]},
    {"slug": "abrasi", "score": 0.55, "evidence": ["pantai makin habis"]},
]
DROUGHT = [{"slug": "kekeringan-air", "score": 0.88, "evidence": ["sumur", "asin"]}]
FISHING = [{"slug": "nelayan-laut", "score": 0.8, "evidence": ["nelayan", "melaut"]}]
ACTION = [{"slug": "aksi-warga", "score": 0.9, "evidence": ["tanam mangrove"]}]


@dataclass
class World:
    """What was made: story references by their part, and post ids."""

    refs: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    failed_post: int = 0
    sent_post: int = 0
    waiting_posts: list[int] = field(default_factory=list)


def _photos(engine: Engine, settings: Settings, story_id: int, labels: list[str]) -> None:
    """Real photos: originals in private storage, renditions made by the pipeline's code."""
    store = MediaStore(settings.data_dir)
    with Session(engine) as session:
        for position, label in enumerate(labels):
            colour = (40 + 50 * position, 110 + 10 * len(label) % 80, 150)
            stored = store.put_original(
                jpeg(color=colour, label=label, size=(960, 720)), suffix=".jpg"
            )
            result = process_photo(stored.path, store.rendition_dir(stored.sha256), threads=1)
            session.add(
                Media(
                    submission_id=story_id,
                    kind="photo",
                    position=position,
                    sha256=stored.sha256,
                    path=stored.relative,
                    mime_type="image/jpeg",
                    width=960,
                    height=720,
                    renditions={
                        name: {**info, "path": store.relative(Path(info["path"]))}
                        for name, info in result.renditions.items()
                    },
                )
            )
        session.commit()


def _story(
    engine: Engine,
    settings: Settings,
    world: World,
    key: str,
    ref: str,
    photos: list[str],
    **options: Any,
) -> int:
    story_id = add_story(engine, ref=ref, media=0, **options)
    if photos:
        _photos(engine, settings, story_id, photos)
    world.refs[key], world.ids[key] = ref, story_id
    return story_id


def _do(engine: Engine, story_id: int, action: str, payload: dict[str, Any] | None = None) -> None:
    from core.db import session_scope
    from core.stories import get_story

    with session_scope(engine) as session:
        version = get_story(session, story_id).version
        actions.apply(session, story_id, action, payload, actor=ANA, expected_version=version)


def build_world(engine: Engine, settings: Settings, now: datetime | None = None) -> World:
    """Stories waiting, approved, scheduled, sent and failed; see the module docstring."""
    now = now or utcnow()
    world = World()
    hours = lambda n: now - timedelta(hours=n)  # noqa: E731 - a short local helper
    _story(
        engine,
        settings,
        world,
        "flood",
        "SP-RB7K",
        ["Oesapa, rob 1", "Oesapa, rob 2"],
        text="Tadi malam air laut naik masuk rumah lai, sampe lutut. Pantai makin habis. "
        "Kalau mau tanya, telepon beta di 0812 3456 7890.",
        themes=FLOOD,
        place=("kel-oesapa", "Oesapa"),
        created_at=hours(30),
        flags=[{"kind": "phone", "span": [91, 105], "detail": None}],
    )
    _story(
        engine,
        settings,
        world,
        "drought",
        "SP-KR2M",
        ["Lasiana, sumur"],
        text="Sumur di Lasiana su rasa asin. Mama-mama antre air tangki dari pagi.",
        themes=DROUGHT,
        place=("kel-lasiana", "Lasiana"),
        created_at=hours(20),
    )
    asked = _story(
        engine,
        settings,
        world,
        "fishing",
        "SP-NL3P",
        [],
        text="Nelayan di Namosain tidak bisa melaut tiga hari karena angin kencang.",
        themes=FISHING,
        place=("kel-namosain", "Namosain"),
        created_at=hours(12),
    )
    _do(engine, asked, "ask", {"question": "Di RT berapa perahu-perahu itu rusak?"})
    _story(
        engine,
        settings,
        world,
        "spam",
        "SP-SP4Q",
        [],
        text="Pinjaman cepat tanpa jaminan, hubungi sekarang juga!!!",
        themes=[],
        place=None,
        created_at=hours(8),
        state=SubmissionState.QUARANTINED,
        flags=[{"kind": "spam", "span": [0, 10], "detail": "loan"}],
        spam_score=0.9,
    )
    for key, ref, text, themes, place, photos in (
        (
            "mangrove",
            "SP-MG5R",
            "Anak muda di Tablolong tanam mangrove hari ini, 300 bibit.",
            ACTION,
            ("desa-tablolong", "Tablolong"),
            ["Tablolong, mangrove"],
        ),
        (
            "wall",
            "SP-TW6S",
            "Tembok penahan ombak di Pasir Panjang retak lagi setelah pasang besar.",
            FLOOD,
            ("kel-pasir-panjang", "Pasir Panjang"),
            ["Pasir Panjang, tembok"],
        ),
        (
            "well",
            "SP-SW7T",
            "Warga Kelapa Lima gotong royong bikin tanggul dari karung pasir.",
            ACTION,
            ("kel-kelapa-lima", "Kelapa Lima"),
            [],
        ),
        (
            "tray",
            "SP-TR8U",
            "Karang di depan kampung Oesapa Barat pucat, ikan makin jauh.",
            FISHING,
            ("kel-oesapa-barat", "Oesapa Barat"),
            ["Oesapa Barat, karang"],
        ),
    ):
        story_id = _story(
            engine,
            settings,
            world,
            key,
            ref,
            photos,
            text=text,
            themes=themes,
            place=place,
            created_at=hours(40),
        )
        _do(engine, story_id, "approve")
    _publishing(engine, settings, world, now)
    return world


def _publishing(engine: Engine, settings: Settings, world: World, now: datetime) -> None:
    """The campaign, two channels, a post sent and one failed (Mastodon has no token), and
    posts waiting in the coming week."""
    from core.db import session_scope
    from publishers.calendar import posts_in_states
    from publishers.campaigns import get_campaign, next_free_slot

    with session_scope(engine) as session:
        add_channel(session, name="outbox", kind="outbox")
        add_channel(session, name="mastodon", kind="mastodon")
        create_campaign(
            session,
            slug="adil-untuk-bumi",
            name="Adil untuk Bumi",
            hashtags=["AdilUntukBumi", "Kupang"],
            channels=["outbox", "mastodon"],
            slots="mon,wed,fri@09:00,19:00; sat@10:00",
        )
    _do(
        engine,
        world.ids["mangrove"],
        "schedule",
        {"campaign": "adil-untuk-bumi", "at": now - timedelta(hours=2)},
    )
    dispatch_due(engine, settings, worker_id="world", now=now)
    with session_scope(engine) as session:
        campaign = get_campaign(session, "adil-untuk-bumi")
        first = next_free_slot(session, campaign, now)
        second = next_free_slot(session, campaign, first)
    _do(engine, world.ids["wall"], "schedule", {"campaign": "adil-untuk-bumi", "at": first})
    _do(engine, world.ids["well"], "schedule", {"campaign": "adil-untuk-bumi", "at": second})
    with session_scope(engine) as session:
        [failed] = posts_in_states(session, ["failed"])
        [sent] = posts_in_states(session, ["sent"])
        world.failed_post, world.sent_post = failed.id, sent.id
        world.waiting_posts = [p.id for p in posts_in_states(session, ["pending"])]
