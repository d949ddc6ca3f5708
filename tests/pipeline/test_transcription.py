"""Voice notes through the pipeline: the model from PyPI (joined, checked), the settings that
choose it, Indonesian transcripts of the test recordings, and the `transcribe` step of ingest.

The Whisper model is loaded once per test session (`pipeline.transcription` keeps it per
process); each transcription here is one short clip.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.config import Settings, load_settings
from core.errors import ConfigError
from core.models import Contributor, Media, Submission
from core.projections import UNREVIEWED_TRANSCRIPT_FLAG, public_text_problem
from core.storage import MediaStore
from moderation.withdrawal import withdraw_and_erase
from pipeline import ingest, speech_model, transcription
from pipeline.speech_model import PYPI_BASE_FILES, choose_model, ensure_pypi_model
from tests.pipeline.test_ingest import _load
from tests.voice import clip, words


def test_the_pypi_model_is_joined_checked_and_made_again_when_altered(tmp_path: Path) -> None:
    folder = ensure_pypi_model(tmp_path)
    assert speech_model.pypi_model_ok(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(PYPI_BASE_FILES)
    # Nothing half-made is left beside it (the folder is renamed into place when complete).
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]
    model = folder / "model.bin"
    with model.open("r+b") as file:  # one byte altered: no longer the pinned model
        file.seek(1000)
        file.write(b"\x00" if file.read(1) != b"\x00" else b"\x01")
    assert not speech_model.pypi_model_ok(folder)
    assert ensure_pypi_model(tmp_path) == folder and speech_model.pypi_model_ok(folder)


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_setting_chooses_the_model(tmp_path: Path) -> None:
    assert choose_model(_settings()).source == "pypi"  # the dev extra installs the packages
    assert choose_model(_settings(transcribe_model="pypi:base")).label == (
        "Whisper base (PyPI packages)"
    )
    assert choose_model(_settings(transcribe_model="OFF")).source == "off"
    assert choose_model(_settings(transcribe_model="small")).source == "size"
    folder = choose_model(_settings(transcribe_model=str(tmp_path)))
    assert folder.source == "folder" and folder.name == str(tmp_path)
    assert "has no model.bin" in (speech_model.folder_problem(tmp_path) or "")
    with pytest.raises(ConfigError, match="not a Whisper size"):
        choose_model(_settings(transcribe_model="bsae"))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/no/such/folder", "is not a folder"),
        ("pypi:small", "only pypi:base"),
        ("Whisper Base!", "is not a model"),
    ],
)
def test_a_wrong_model_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("PESISIR_TRANSCRIBE_MODEL", value)
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None)
    assert str(raised.value).startswith("PESISIR_TRANSCRIBE_MODEL: ") and message in str(
        raised.value
    )


def test_the_prompt_names_the_coast_and_the_themes_and_fits_whisper(settings: Settings) -> None:
    prompt = transcription.speech_prompt()
    for word in ("Oesapa", "Lasiana", "Namosain", "Pasir Panjang", "Tablolong", "mangrove"):
        assert word in prompt
    loaded = transcription.transcriber_for(settings)
    assert loaded is not None
    # Whisper reads at most 223 prompt tokens; more would quietly cut the first names off.
    assert len(loaded.model.hf_tokenizer.encode(" " + prompt).ids) < 223


def test_indonesian_speech_is_transcribed_with_places_and_theme_words(
    settings: Settings, tmp_path: Path
) -> None:
    loaded = transcription.transcriber_for(settings)
    assert loaded is not None
    heard = {}
    for name in ("s2", "s6"):
        path = tmp_path / f"{name}.ogg"
        path.write_bytes(clip(name))
        heard[name] = words(loaded.transcribe(path, prompt=transcription.speech_prompt()).text)
    # Exact words differ between CPUs; the names and theme words are what the prompt is for.
    found = [
        word in heard[name]
        for name, expected in (("s2", ("lasiana", "abrasi")), ("s6", ("mangrove", "tablolong")))
        for word in expected
    ]
    assert sum(found) >= 3, heard
    silence = tmp_path / "silence.ogg"
    silence.write_bytes(clip("silence"))
    assert loaded.transcribe(silence, prompt=transcription.speech_prompt()).text == ""


def _voice_story(
    engine: Engine, settings: Settings, recordings: list[bytes], *, text: str | None = None
) -> int:
    """A submitted story told in voice notes (and maybe a line of text), as the bot leaves it."""
    store = MediaStore(settings.data_dir)
    with Session(engine) as session:
        person = Contributor(telegram_user_id=4242)
        session.add(person)
        session.flush()
        story = Submission(
            ref="SP-VOX1", contributor_id=person.id, state="received", text=text, consent="named"
        )
        session.add(story)
        session.flush()
        for position, data in enumerate(recordings):
            stored = store.put_original(data, suffix=".ogg")
            session.add(
                Media(
                    submission_id=story.id,
                    kind="voice",
                    position=position,
                    sha256=stored.sha256,
                    path=stored.relative,
                    mime_type="audio/ogg",
                    duration_seconds=4,
                )
            )
        session.commit()
        assert story.id is not None
        return story.id


def _rows(engine: Engine, story_id: int) -> tuple[Submission, list[Media]]:
    story, media = _load(engine, story_id)
    return story, sorted(media, key=lambda row: row.position)


def test_a_voice_story_is_transcribed_tagged_from_speech_and_held_for_a_moderator(
    engine: Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    story_id = _voice_story(engine, settings, [clip("s6"), b"OggS\x00\x02" + b"\x00" * 300])
    assert ingest(engine, settings, story_id) == "pending_review"
    story, (spoken, broken) = _rows(engine, story_id)
    assert spoken.transcript_status == "done" and spoken.transcript
    assert "mangrove" in words(spoken.transcript)
    # A file the decoder cannot read fails alone; the story still reaches review.
    assert broken.transcript_status == "failed" and broken.transcript is None
    assert story.pipeline_errors == {}
    # Tagged from the transcript exactly as from typed text, the evidence marked as speech.
    mangrove = next(theme for theme in story.themes if theme["slug"] == "ekosistem-pesisir")
    assert {item["source"] for item in mangrove["evidence_items"]} == {"speech"}
    assert story.place_name == "Tablolong" and "(speech)" in (story.place_evidence or "")
    assert story.lang == "mkn"  # "katong": Kupang Malay, heard as well as read
    # Never published as it is: a moderator accepts or edits it first.
    assert UNREVIEWED_TRANSCRIPT_FLAG in {flag["kind"] for flag in story.flags}
    assert "voice story" in (public_text_problem(story) or "")
    # The transcript never reaches a log.
    assert "mangrove" not in caplog.text.lower()
    assert "Tablolong" not in caplog.text

    # Safe to run twice: a transcribed recording is not transcribed again (its file is gone
    # now, so trying would fail), a failed one is tried again.
    MediaStore(settings.data_dir).delete_original(spoken.path or "")
    with Session(engine) as session:
        row = session.get(Submission, story_id)
        assert row is not None
        assert transcription.transcribe_step(session, row, settings) == 1
        session.commit()
    _, (again, _) = _rows(engine, story_id)
    assert (again.transcript, again.transcript_status) == (spoken.transcript, "done")


def test_without_a_model_the_recording_waits_for_a_person(
    engine: Engine, settings: Settings
) -> None:
    story_id = _voice_story(engine, settings, [clip("s4")])
    off = settings.model_copy(update={"transcribe_model": "off"})
    assert ingest(engine, off, story_id) == "pending_review"
    story, [row] = _rows(engine, story_id)
    assert (row.transcript, row.transcript_status) == (None, "off")
    assert story.themes == [] and story.pipeline_errors == {}
    # A moderator listens and writes the text; until then it cannot go out.
    assert {flag["kind"] for flag in story.flags} == {"voice_needs_text"}
    assert "voice story" in (public_text_problem(story) or "")


def test_a_model_that_cannot_be_loaded_fails_the_recordings_not_the_story(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    story_id = _voice_story(engine, settings, [clip("s1")])
    broken = settings.model_copy(update={"transcribe_model": str(empty)})
    assert ingest(engine, broken, story_id) == "pending_review"
    _, [row] = _rows(engine, story_id)
    assert row.transcript_status == "failed"


def test_erasure_takes_the_recordings_and_their_transcripts(
    engine: Engine, settings: Settings
) -> None:
    story_id = _voice_story(engine, settings, [clip("s6")], text="Cerita dari Tablolong.")
    ingest(engine, settings, story_id)
    store = MediaStore(settings.data_dir)
    typed, [before] = _rows(engine, story_id)
    # The typed text is what goes out (masked as ever): no moderator's text is waited for.
    assert not typed.flags and public_text_problem(typed) is None
    assert before.transcript and store.absolute(before.path or "").is_file()
    with Session(engine) as session:
        story = session.get(Submission, story_id)
        assert story is not None
        summary = withdraw_and_erase(session, store, story, actor="contributor")
        session.commit()
    assert (summary["recording_files"], summary["photo_files"]) == (1, 0)
    _, [after] = _rows(engine, story_id)
    assert (after.transcript, after.transcript_status, after.path) == (None, None, None)
    assert not store.absolute(before.path or "").exists()
    assert not list((Path(settings.data_dir) / "private" / "originals").rglob("*.ogg"))


def test_without_the_voice_extra_transcription_is_off_with_the_install_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As on an installation without faster-whisper (its import is blocked)."""
    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    choice = choose_model(_settings())
    assert choice.source == "off" and "suara-pesisir[voice]" in (choice.off_reason or "")
    with pytest.raises(ConfigError, match="faster-whisper is not installed"):
        choose_model(_settings(transcribe_model="base"))
