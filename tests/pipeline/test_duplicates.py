"""pipeline.duplicates: same photo, nearly the same photo, same text; on both databases."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageEnhance
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.clock import utcnow
from core.models import Contributor, Media, Submission
from core.phash import QUARTERS, quarter_sql
from core.states import MediaKind, SubmissionState
from pipeline.duplicates import (
    PHASH_MAX_DISTANCE,
    find_duplicate,
    find_duplicate_match,
    normalise_text,
    perceptual_hash,
    phash_distance,
    text_digest,
)
from pipeline.images import open_upright

STORY = "Air laut naik sampai ke rumah-rumah di Oesapa tadi malam, perahu nelayan rusak."


def _scene(seed: int) -> Image.Image:
    """A photo-like picture: shapes over a gradient, different for each seed."""
    image = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    noise = Image.effect_noise((640, 480), 30).convert("RGB")
    image = Image.blend(image, noise, 0.2)
    tile = Image.linear_gradient("L").rotate(seed * 37).resize((160 + seed * 40, 120))
    image.paste(tile.convert("RGB"), (40 + seed * 60, 60 + seed * 30))
    return image


def _reencode(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer)


def test_phash_survives_recompression_and_resizing_but_tells_photos_apart() -> None:
    photo = _scene(1)
    original = perceptual_hash(photo)
    telegram_like = perceptual_hash(_reencode(photo.resize((320, 240)), 60))
    brighter = perceptual_hash(ImageEnhance.Brightness(photo).enhance(1.15))
    other = perceptual_hash(_scene(4))
    assert phash_distance(original, telegram_like) <= PHASH_MAX_DISTANCE
    assert phash_distance(original, brighter) <= PHASH_MAX_DISTANCE
    assert phash_distance(original, other) > PHASH_MAX_DISTANCE


def test_normalise_text() -> None:
    assert (
        normalise_text("  Air LAUT naik!!\n\nsampai   ke rumah… ")
        == "air laut naik sampai ke rumah"
    )
    assert normalise_text(None) == ""


def _story(
    session: Session, person: Contributor, n: int, text: str | None, state: str
) -> Submission:
    story = Submission(ref=f"SP-T{n:03d}", contributor_id=person.id or 0, text=text, state=state)
    story.text_digest = text_digest(text)  # as the pipeline's duplicates step sets it
    session.add(story)
    session.flush()
    return story


def _photo(session: Session, story: Submission, sha: str, phash: str | None = None) -> None:
    media = Media(submission_id=story.id or 0, kind=MediaKind.PHOTO, sha256=sha)
    media.phash = phash  # as the pipeline stores a photo's hash
    session.add(media)
    session.flush()


def test_find_duplicate_links_to_the_earlier_story(engine: Engine, tmp_path: Path) -> None:
    photo = _scene(2)
    near = perceptual_hash(_reencode(photo.resize((480, 360)), 55))
    far = perceptual_hash(_scene(5))
    with Session(engine) as session:
        person = Contributor(telegram_user_id=4242)
        session.add(person)
        session.flush()
        first = _story(session, person, 1, STORY, SubmissionState.PENDING_REVIEW)
        _photo(session, first, "a" * 64, perceptual_hash(photo))
        # same bytes again
        same_file = _story(
            session, person, 2, "Lain cerita sama sekali, tentang sampah plastik.", "received"
        )
        _photo(session, same_file, "a" * 64, perceptual_hash(photo))
        # Telegram recompressed it: other bytes, nearly the same picture
        recompressed = _story(session, person, 3, None, "received")
        _photo(session, recompressed, "b" * 64, near)
        # a different photo, the same words with other punctuation and case
        same_words = _story(
            session,
            person,
            4,
            "air laut naik sampai ke rumah rumah di OESAPA tadi malam; perahu nelayan rusak",
            "received",
        )
        _photo(session, same_words, "c" * 64, far)
        # different photo, different text
        fresh = _story(
            session,
            person,
            5,
            "Mangrove di Tablolong mulai tumbuh lagi sesudah ditanam.",
            "received",
        )
        _photo(
            session, fresh, "d" * 64, perceptual_hash(Image.new("RGB", (300, 200), (20, 90, 40)))
        )
        # short texts repeat innocently
        short_a = _story(session, person, 6, "Banjir!", "received")
        short_b = _story(session, person, 7, "banjir", "received")
        session.commit()

        assert find_duplicate(session, first.id or 0) is None  # nothing earlier
        match = find_duplicate_match(session, same_file.id or 0)
        assert match is not None and (match.submission_id, match.kind) == (first.id, "sha256")
        match = find_duplicate_match(session, recompressed.id or 0)
        assert match is not None and (match.submission_id, match.kind) == (first.id, "phash")
        assert match.distance <= PHASH_MAX_DISTANCE
        match = find_duplicate_match(session, same_words.id or 0)
        assert match is not None and (match.submission_id, match.kind) == (first.id, "text")
        assert find_duplicate(session, fresh.id or 0) is None
        assert find_duplicate(session, short_b.id or 0) is None
        assert short_a.id is not None
        assert find_duplicate(session, 999_999) is None


def test_drafts_erased_and_deleted_media_do_not_count(engine: Engine) -> None:
    with Session(engine) as session:
        person = Contributor(telegram_user_id=4343)
        session.add(person)
        session.flush()
        draft = _story(session, person, 1, STORY, SubmissionState.DRAFT)
        _photo(session, draft, "e" * 64)
        erased = _story(session, person, 2, STORY, SubmissionState.ERASED)
        _photo(session, erased, "e" * 64)
        withdrawn_photo = _story(session, person, 3, None, SubmissionState.PENDING_REVIEW)
        session.add(
            Media(
                submission_id=withdrawn_photo.id or 0,
                kind=MediaKind.PHOTO,
                sha256="e" * 64,
                deleted_at=utcnow(),
            )
        )
        later = _story(session, person, 4, STORY, SubmissionState.RECEIVED)
        _photo(session, later, "e" * 64)
        session.commit()
        assert find_duplicate(session, later.id or 0) is None


def test_hash_of_a_processed_photo_matches_its_recompressed_copy(tmp_path: Path) -> None:
    """The hash stored by the pipeline (upright image) matches a re-sent, recompressed copy."""
    photo = _scene(3)
    first, second = tmp_path / "first.png", tmp_path / "second.jpg"
    photo.save(first)
    photo.resize((500, 375)).save(second, "JPEG", quality=50)
    a = perceptual_hash(open_upright(first))
    b = perceptual_hash(open_upright(second))
    assert phash_distance(a, b) <= PHASH_MAX_DISTANCE


def test_a_photo_within_six_bits_is_found_through_the_quarter_indexes(engine: Engine) -> None:
    """Six differing bits as two, two, one and one per quarter: no quarter agrees, but the last
    two differ by one bit, which the one-bit probes find; seven bits is another photo."""
    base = 0x0123_4567_89AB_CDEF
    six = base ^ (0b11 << 60) ^ (0b11 << 44) ^ (1 << 20) ^ (1 << 4)
    seven = six ^ (1 << 40)
    assert (six ^ base).bit_count() == 6 and (seven ^ base).bit_count() == 7
    with Session(engine) as session:
        person = Contributor(telegram_user_id=4343)
        session.add(person)
        session.flush()
        earlier = _story(session, person, 1, None, SubmissionState.PENDING_REVIEW)
        _photo(session, earlier, "e" * 64, f"{base:016x}")
        near = _story(session, person, 2, None, "received")
        _photo(session, near, "f" * 64, f"{six:016x}")
        session.commit()
        match = find_duplicate_match(session, near.id or 0)
        assert match is not None and (match.submission_id, match.distance) == (earlier.id, 6)
        other = _story(session, person, 3, None, "received")
        _photo(session, other, "9" * 64, f"{seven:016x}")
        session.delete(session.get(Media, 2))  # only `base` and `seven` left to compare
        session.commit()
        assert find_duplicate(session, other.id or 0) is None
        if engine.dialect.name == "sqlite":
            where = " OR ".join(f"{quarter_sql(n)} IN ('0123')" for n in range(QUARTERS))
            plan = " ".join(
                str(row[-1])
                for row in session.connection().exec_driver_sql(
                    f"EXPLAIN QUERY PLAN SELECT phash, submission_id FROM media WHERE {where}"
                )
            )
            for number in range(QUARTERS):
                assert f"COVERING INDEX ix_media_phash_q{number}" in plan
