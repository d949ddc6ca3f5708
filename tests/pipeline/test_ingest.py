"""`pipeline.ingest()` on real rows and files: every step, routing, errors, idempotence."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.clock import utcnow
from core.config import Settings
from core.models import AuditEvent, Contributor, Media, Submission
from core.storage import MediaStore
from faketelegram.images import OESAPA, jpeg
from moderation.withdrawal import withdraw_and_erase
from pipeline import ingest
from pipeline.ingestion import PIPELINE_VERSION, ingest_waiting
from pipeline.theme_model import model_version
from pipeline.theme_rules import rules_version
from tests.jpeg_segments import metadata_in


def _story(
    engine: Engine,
    settings: Settings,
    *,
    text_: str,
    files: Sequence[bytes] = (),
    place_text: str | None = None,
    chat_point: tuple[float, float] | None = None,
    user: int = 1,
) -> int:
    store = MediaStore(settings.data_dir)
    with Session(engine) as session:
        person = session.exec(
            select(Contributor).where(Contributor.telegram_user_id == user)
        ).first() or Contributor(telegram_user_id=user)
        session.add(person)
        session.flush()
        story = Submission(
            ref=f"SP-T{user}{len(text_) % 100:02d}{len(files)}",
            contributor_id=person.id,
            state="received",
            text=text_,
            consent="anonymous",
            place_text=place_text,
            chat_lat=chat_point[0] if chat_point else None,
            chat_lon=chat_point[1] if chat_point else None,
        )
        session.add(story)
        session.flush()
        for position, data in enumerate(files):
            stored = store.put_original(data)
            session.add(
                Media(
                    submission_id=story.id,
                    kind="document",
                    position=position,
                    sha256=stored.sha256,
                    path=stored.relative,
                    size_bytes=stored.size_bytes,
                )
            )
        session.commit()
        assert story.id is not None
        return story.id


def _load(engine: Engine, story_id: int) -> tuple[Submission, list[Media]]:
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        media = list(session.exec(select(Media).where(Media.submission_id == story_id)))
        return story, media


def test_story_with_a_gps_photo_is_tagged_placed_and_made_safe(
    engine: Engine, settings: Settings
) -> None:
    photo = jpeg(size=(1600, 1200), gps=OESAPA, label="rob")
    story_id = _story(
        engine,
        settings,
        text_="Semalam banjir rob masuk rumah lagi, air sampai lutut. Katong angkat barang.",
        files=[photo],
    )
    assert ingest(engine, settings, story_id) == "pending_review"
    story, [media] = _load(engine, story_id)
    assert "banjir-rob" in [theme["slug"] for theme in story.themes]
    # the tags keep which rules and which model made them
    assert (
        story.pipeline_version
        == f"{PIPELINE_VERSION} (rules {rules_version()} + {model_version()})"
    )
    assert story.place_source == "photo" and story.place_id is not None
    assert story.exact_lat == pytest.approx(OESAPA[0], abs=1e-3)
    assert media.gps_lat == pytest.approx(OESAPA[0], abs=1e-3)
    assert media.width == 1600 and media.phash
    assert story.pipeline_errors == {}
    assert set(media.renditions) == {"web", "feed", "square", "thumb"}
    store = MediaStore(settings.data_dir)
    for info in media.renditions.values():
        data = store.absolute(info["path"]).read_bytes()
        assert metadata_in(data) == []
        assert not Image.open(io.BytesIO(data)).getexif()


def test_running_twice_changes_nothing(engine: Engine, settings: Settings) -> None:
    story_id = _story(engine, settings, text_="Abrasi di pantai Oesapa makin parah, pohon tumbang.")
    assert ingest(engine, settings, story_id) == "pending_review"
    first, _ = _load(engine, story_id)
    assert ingest(engine, settings, story_id) == "pending_review"
    again, _ = _load(engine, story_id)
    assert again.version == first.version
    with Session(engine) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.submission_id == story_id)).all()
    assert [row.to_state for row in rows] == ["pending_review"]


def test_spam_goes_to_quarantine(engine: Engine, settings: Settings) -> None:
    story_id = _story(
        engine,
        settings,
        text_="JUAL MURAH pulsa dan paket data! Pinjaman dana cepat cair tanpa jaminan, "
        "hubungi WA 081234567890 sekarang. Sebarkan ke 10 grup!",
    )
    assert ingest(engine, settings, story_id) == "quarantined"
    story, _ = _load(engine, story_id)
    kinds = {flag["kind"] for flag in story.flags}
    assert {"spam", "phone"} <= kinds


def test_a_broken_file_is_flagged_and_the_story_still_reaches_review(
    engine: Engine, settings: Settings
) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("a.txt", "not a photo")
    story_id = _story(
        engine,
        settings,
        text_="Sumur di Oesapa su asin, sonde bisa minum lai.",
        files=[archive.getvalue()],
    )
    assert ingest(engine, settings, story_id) == "pending_review"
    story, [media] = _load(engine, story_id)
    assert media.error == "not_an_image" and media.renditions == {}
    assert {"kind": "media_refused", "span": None, "detail": "not_an_image"} in story.flags


@contextmanager
def _refusing_updates(
    engine: Engine, name: str, *, column: str, only_id: int | None = None
) -> Iterator[None]:
    """The database refuses to change `column` of submissions (of one row, with `only_id`), as a
    full disk, a broken replica or a broken constraint would."""
    row = f"OLD.id = {only_id} AND " if only_id else ""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            when = f"WHEN OLD.id = {only_id} " if only_id else ""
            connection.execute(
                text(
                    f"CREATE TRIGGER {name} BEFORE UPDATE OF {column} ON submissions {when}"
                    "BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END"
                )
            )
        else:
            connection.execute(
                text(
                    f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
                    f"IF {row}NEW.{column} IS DISTINCT FROM OLD.{column} THEN "
                    "RAISE EXCEPTION 'refused by test trigger'; END IF; RETURN NEW; END $$ "
                    "LANGUAGE plpgsql"
                )
            )
            connection.execute(
                text(
                    f"CREATE TRIGGER {name} BEFORE UPDATE ON submissions "
                    f"FOR EACH ROW EXECUTE FUNCTION {name}()"
                )
            )
    try:
        yield
    finally:
        with engine.begin() as connection:
            if engine.dialect.name == "sqlite":
                connection.execute(text(f"DROP TRIGGER {name}"))
            else:
                connection.execute(text(f"DROP TRIGGER {name} ON submissions"))
                connection.execute(text(f"DROP FUNCTION {name}()"))


@pytest.fixture
def failing_tag_writes(engine: Engine) -> Iterator[None]:
    """The database refuses to store tags."""
    with _refusing_updates(engine, "fail_tags", column="lang"):
        yield


def test_a_failing_step_records_its_error_and_the_story_moves_on(
    engine: Engine, settings: Settings, failing_tag_writes: None
) -> None:
    story_id = _story(engine, settings, text_="Banjir rob di Oesapa lagi malam ini.")
    assert ingest(engine, settings, story_id) == "pending_review"
    story, _ = _load(engine, story_id)
    assert "tags" in story.pipeline_errors
    assert "refused by test trigger" in story.pipeline_errors["tags"]
    assert story.themes == []


def test_typed_place_outranks_names_in_the_text(engine: Engine, settings: Settings) -> None:
    story_id = _story(
        engine,
        settings,
        text_="Dulu beta tinggal di Oesapa, sekarang pantai di sini habis kena abrasi.",
        place_text="Lasiana",
    )
    ingest(engine, settings, story_id)
    story, _ = _load(engine, story_id)
    assert story.place_name is not None and "Lasiana" in story.place_name
    assert story.place_source == "text"


def test_the_same_photo_twice_links_the_later_story(engine: Engine, settings: Settings) -> None:
    photo = jpeg(size=(800, 600), color=(90, 20, 200), label="talud")
    first = _story(engine, settings, text_="Talud di Pasir Panjang retak.", files=[photo], user=1)
    second = _story(engine, settings, text_="Lihat talud ini, rusak parah.", files=[photo], user=2)
    ingest(engine, settings, first)
    ingest(engine, settings, second)
    story, _ = _load(engine, second)
    assert story.duplicate_of_id == first
    assert any(flag["kind"] == "duplicate" for flag in story.flags)


def test_stories_left_in_received_are_picked_up(engine: Engine, settings: Settings) -> None:
    story_id = _story(engine, settings, text_="Angin kencang semalam, atap rumah terbang.")
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        story.updated_at = utcnow() - timedelta(minutes=10)
        session.add(story)
        session.commit()
    with Session(engine) as session:
        ref = session.get(Submission, story_id).ref  # type: ignore[union-attr]
    assert ingest_waiting(engine, settings, older_than_seconds=60) == [(ref, "pending_review")]
    assert ingest_waiting(engine, settings, older_than_seconds=60) == []


def test_ingest_command_processes_what_was_left(engine: Engine, settings: Settings) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    story_id = _story(engine, settings, text_="Sumur di Oesapa su asin, katong beli air.")
    env = {
        "PESISIR_DATA_DIR": str(settings.data_dir),
        "PESISIR_DATABASE_URL": settings.database_url,
    }
    result = CliRunner().invoke(app, ["ingest"], env=env)
    assert result.exit_code == 0, result.output
    story, _ = _load(engine, story_id)
    assert story.state == "pending_review"
    assert f"{story.ref}: pending_review" in result.stdout


def test_a_story_withdrawn_while_a_step_runs_keeps_nothing_of_it(
    engine: Engine, settings: Settings
) -> None:
    """The step waits for the story's row, sees it withdrawn, and writes nothing (PostgreSQL)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks make the interleaving exact on PostgreSQL")
    import threading
    import time

    story_id = _story(engine, settings, text_="Banjir rob masuk rumah di Oesapa.")
    outcome: list[str] = []
    with engine.connect() as holder:
        holder.execute(text("SELECT id FROM submissions WHERE id = :i FOR UPDATE"), {"i": story_id})
        worker = threading.Thread(target=lambda: outcome.append(ingest(engine, settings, story_id)))
        worker.start()
        for _ in range(200):  # until the pipeline waits for our lock
            waiting = holder.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            ).scalar()
            if waiting:
                break
            time.sleep(0.05)
        holder.execute(
            text("UPDATE submissions SET state = 'withdrawn', version = version + 1 WHERE id = :i"),
            {"i": story_id},
        )
        holder.commit()
        worker.join(timeout=30)
    assert outcome == ["withdrawn"]
    story, _ = _load(engine, story_id)
    assert story.themes == [] and story.lang is None


def _once_before(engine: Engine, sql: str, action: Callable[[], object]) -> list[bool]:
    """Run `action` (on its own connection) just before the first statement holding `sql`."""
    fired: list[bool] = []

    def hook(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not fired and sql in statement.upper():
            fired.append(True)
            action()

    event.listen(engine, "before_cursor_execute", hook)
    return fired


def test_a_second_ingest_running_at_the_same_time_is_harmless(
    engine: Engine, settings: Settings
) -> None:
    """The sweeper and the bot's task may ingest one story at once: one routes it, no error."""
    story_id = _story(engine, settings, text_="Abrasi di pantai Oesapa, talud roboh.")
    other: list[str] = []
    # The other run routes the story just before this run routes it (only routing sets
    # `processed_at`).
    fired = _once_before(
        engine,
        "PROCESSED_AT=",
        lambda: other.append(ingest(engine, settings, story_id)),
    )
    assert ingest(engine, settings, story_id) == "pending_review"
    assert fired and other == ["pending_review"]
    with Session(engine) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.submission_id == story_id)).all()
    assert [row.to_state for row in rows] == ["pending_review"]


def test_a_story_erased_while_its_photos_are_processed_keeps_nothing(
    engine: Engine, settings: Settings
) -> None:
    """/hapus during the media step: no rendition file and no metadata survive the step."""
    store = MediaStore(settings.data_dir)
    photo = jpeg(size=(900, 700), color=(10, 120, 60), label="erased", gps=OESAPA)
    story_id = _story(engine, settings, text_="Pantai Oesapa kena abrasi.", files=[photo])

    def erase() -> None:
        with Session(engine) as session:
            story = session.get(Submission, story_id)
            assert story is not None
            withdraw_and_erase(session, store, story, actor="contributor")
            session.commit()

    fired = _once_before(engine, "UPDATE MEDIA", erase)
    assert ingest(engine, settings, story_id) == "erased"
    assert fired
    _, [media] = _load(engine, story_id)
    assert media.exif is None and media.gps_lat is None and media.renditions == {}
    assert media.sha256 is None  # not even the fingerprint of the photo
    assert not store.rendition_dir(hashlib.sha256(photo).hexdigest()).exists()


def test_typed_place_is_used_when_the_photo_gps_is_outside_ntt(
    engine: Engine, settings: Settings
) -> None:
    """A photo placed in Jakarta is flagged, not mapped: the typed place comes next."""
    photo = jpeg(size=(800, 600), color=(30, 60, 90), label="jakarta", gps=(-6.2, 106.8))
    story_id = _story(
        engine,
        settings,
        text_="Dulu beta tinggal di Oesapa, sekarang pantai di sini habis kena abrasi.",
        files=[photo],
        place_text="Lasiana",
    )
    assert ingest(engine, settings, story_id) == "pending_review"
    story, _ = _load(engine, story_id)
    assert story.place_name is not None and "Lasiana" in story.place_name
    assert story.place_source == "text"
    assert any(flag["kind"] == "photo_outside_ntt" for flag in story.flags)


@pytest.fixture
def first_story_cannot_move(engine: Engine) -> Iterator[None]:
    """The database refuses to route story #1 (a poison row)."""
    with _refusing_updates(engine, "stuck", column="state", only_id=1):
        yield


def test_one_story_that_cannot_be_routed_does_not_hold_up_the_others(
    engine: Engine, settings: Settings, first_story_cannot_move: None
) -> None:
    poison = _story(engine, settings, text_="Rob masuk rumah di Oesapa.", user=1)
    other = _story(engine, settings, text_="Abrasi di Lasiana makin parah tahun ini.", user=2)
    assert poison == 1
    done = ingest_waiting(engine, settings, older_than_seconds=0)
    story, _ = _load(engine, other)
    assert done == [(story.ref, "pending_review")]
    stuck, _ = _load(engine, poison)
    assert stuck.state == "received"  # left for the next round, not lost
