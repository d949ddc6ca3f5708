"""Stories for the reports' tests: a few carrying every kind of private data that must never
leave (a phone number, an e-mail, a NIK, an exact point, a Telegram id, a name not chosen), and
a generated month (and year) of ordinary stories with photos and posts."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import taxonomy
from core.delivery_table import Delivery
from core.models import Campaign, Channel, Contributor, Media, Submission
from pipeline import gazetteer

ZONE = ZoneInfo("Asia/Makassar")

#: Private values that must appear in no brief and no export (their digits are unusual on
#: purpose: no count, date or centroid contains them).
PHONE = "0812-3456-7890"
EMAIL = "yuli.rahasia@example.com"
NIK = "5371014501900001"
TELEGRAM_ID = 987654321
EXACT = (-10.123457, 123.654321)
CHAT = (-10.111119, 123.777771)
GPS = (-10.222229, 123.888881)
INTERNAL_NAME = "Rahasiawati"
HIDDEN_NAME = "Tersembunyi"
NAMED = "Maria Goreti"  # chose to be named: must appear
FORMULA = "=2+5+cmd|' /C calc'!A0"
PRIVATE_STRINGS = (
    PHONE,
    "081234567890",
    EMAIL,
    NIK,
    str(TELEGRAM_ID),
    "123.654321",
    "10.123457",
    "123.777771",
    "10.111119",
    "123.888881",
    "10.222229",
    INTERNAL_NAME,
    HIDDEN_NAME,
)

VILLAGES = [
    place
    for place in gazetteer.places()
    if place.kind in {"kelurahan", "desa", "pantai", "landmark"}
    and place.parent_id is not None
    and any(a.id in {"kota-kupang", "kab-kupang"} for a in gazetteer.ancestors(place))
]


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A local time in Kupang, as an aware UTC datetime."""
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)


def thumb(data_dir: Path, name: str, shade: int) -> dict[str, Any]:
    """A real, metadata-free JPEG thumbnail on disk, as the pipeline's renditions are."""
    path = data_dir / "public" / "renditions" / name / "thumb.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (shade % 256, 120, 180)).save(buffer, "JPEG", quality=80)
    path.write_bytes(buffer.getvalue())
    relative = str(path.relative_to(data_dir))
    return {
        "thumb": {"path": relative, "width": 320, "height": 240, "bytes": len(buffer.getvalue())}
    }


@dataclass
class Seeded:
    """What was put in: references by purpose."""

    refs: dict[str, str] = field(default_factory=dict)
    count: int = 0


class Seeder:
    """Adds stories, photos and posts to a database."""

    def __init__(self, engine: Engine, data_dir: Path) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self.number = 0
        with Session(engine) as session:
            channel = Channel(name="outbox-test", kind="outbox")
            campaign = Campaign(slug="test-campaign", name="Test campaign")
            session.add(channel)
            session.add(campaign)
            session.commit()
            assert channel.id is not None and campaign.id is not None
            self.channel_id, self.campaign_id = channel.id, campaign.id

    def add(
        self,
        *,
        at: datetime,
        state: str = "published",
        consent: str = "anonymous",
        text: str = "Air laut masuk rumah di pesisir tadi malam.",
        themes: tuple[str, ...] = ("banjir-rob",),
        place_id: str | None = "kel-oesapa",
        place_name: str | None = None,
        name: str | None = None,
        telegram_id: int | None = None,
        photos: int = 0,
        link: str | None = None,
        gps: tuple[float, float] | None = None,
        **fields: Any,
    ) -> str:
        """One story; its reference."""
        self.number += 1
        ref = f"SP-T{self.number:04d}"
        place = gazetteer.by_id().get(place_id) if place_id else None
        with Session(self.engine) as session:
            person = Contributor(
                public_name=name, telegram_user_id=telegram_id, telegram_chat_id=telegram_id
            )
            session.add(person)
            session.flush()
            assert person.id is not None
            story = Submission(
                ref=ref,
                contributor_id=person.id,
                state=state,
                text=text,
                lang="id",
                consent=consent,
                themes=[
                    {"slug": slug, "score": round(0.9 - 0.1 * i, 2), "evidence": []}
                    for i, slug in enumerate(themes)
                ],
                place_id=place.id if place else None,
                place_name=place.name if place else place_name,
                place_kind=place.kind if place else None,
                place_source="text",
                created_at=at,
                submitted_at=at,
                published_at=at + timedelta(days=1) if state == "published" else None,
                **fields,
            )
            session.add(story)
            session.flush()
            assert story.id is not None
            for position in range(photos):
                session.add(
                    Media(
                        submission_id=story.id,
                        kind="photo",
                        position=position,
                        sha256=f"{self.number:04d}{position:02d}" + "c" * 58,
                        renditions=thumb(self.data_dir, f"{ref}-{position}", self.number * 7),
                        gps_lat=gps[0] if gps else None,
                        gps_lon=gps[1] if gps else None,
                    )
                )
            if link:
                session.add(
                    Delivery(
                        submission_id=story.id,
                        campaign_id=self.campaign_id,
                        channel_id=self.channel_id,
                        scheduled_at=at,
                        state="sent",
                        idempotency_key=f"test-{ref}",
                        remote_url=link,
                        sent_at=at,
                    )
                )
            session.commit()
        return ref


def seed_private(seeder: Seeder, day: date) -> Seeded:
    """Stories carrying every private field, on `day` (all approved or published)."""
    seeded = Seeded()
    refs = seeded.refs
    refs["personal"] = seeder.add(
        at=local(day, 8),
        text=f"Rob masuk rumah. Hubungi saya {PHONE} atau {EMAIL}, NIK {NIK}.",
        telegram_id=TELEGRAM_ID,
        exact_lat=EXACT[0],
        exact_lon=EXACT[1],
        chat_lat=CHAT[0],
        chat_lon=CHAT[1],
        photos=1,
        gps=GPS,
        link="https://example.org/post/personal",
    )
    refs["edited"] = seeder.add(
        at=local(day, 9),
        text="Abrasi makan pantai kami.",
        public_text="Abrasi makan pantai kami, kata warga (hubungi 081234567890).",
        themes=("abrasi",),
    )
    refs["internal"] = seeder.add(
        at=local(day, 10),
        consent="internal",
        name=INTERNAL_NAME,
        text="Sumur kami asin sejak tahun lalu; kami beli air tangki setiap minggu.",
        themes=("kekeringan-air",),
        state="approved",
    )
    refs["hidden"] = seeder.add(
        at=local(day, 11),
        consent="named",
        name=HIDDEN_NAME,
        force_anonymous=True,
        text="Tanggul karung pasir kami bikin sendiri.",
        themes=("aksi-warga",),
    )
    refs["named"] = seeder.add(
        at=local(day, 12),
        consent="named",
        name=NAMED,
        text="Nelayan tidak bisa melaut karena angin kencang.",
        themes=("nelayan-laut",),
        place_id="pantai-lasiana",
    )
    refs["formula"] = seeder.add(at=local(day, 13), text=FORMULA, themes=("sampah-pencemaran",))
    refs["typed_place"] = seeder.add(
        at=local(day, 14), place_id=None, place_name="Kampung di ujung jalan"
    )
    seeded.count = len(refs)
    return seeded


def seed_month(seeder: Seeder, year: int, month: int, *, stories: int, seed: int = 7) -> int:
    """`stories` ordinary stories spread over a month, in every state and consent; how many."""
    rng = random.Random(seed)
    slugs = list(taxonomy.slugs())
    states = ["published"] * 5 + ["approved"] * 2 + ["scheduled", "pending_review", "rejected"]
    states += ["quarantined", "withdrawn", "erased", "draft"]
    first = date(year, month, 1)
    days = ((first + timedelta(days=32)).replace(day=1) - first).days
    for number in range(stories):
        day = first + timedelta(days=rng.randrange(days))
        place = rng.choice(VILLAGES)
        state = rng.choice(states)
        seeder.add(
            at=local(day, rng.randrange(0, 24), rng.randrange(60)),
            state=state,
            consent=rng.choice(["anonymous", "anonymous", "named", "internal"]),
            name=rng.choice([None, "Yosef", "Ina"]),
            text=f"Cerita {number}: air laut naik lagi di {place.name}, rumah kena rob.",
            themes=tuple(rng.sample(slugs, rng.choice([1, 1, 2, 3]))),
            place_id=place.id,
            photos=1 if number % 9 == 0 else 0,
            link=f"https://example.org/p/{number}" if state == "published" else None,
        )
    return stories
