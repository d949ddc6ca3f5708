"""The test recordings: Indonesian sentences spoken by espeak-ng, encoded like Telegram voice
notes (OGG/Opus), made by scripts/make-voice-fixtures and committed beside their text."""

from __future__ import annotations

import re
from pathlib import Path

VOICE = Path(__file__).resolve().parent / "data" / "voice"
#: id → what is said (tests/data/voice/sentences.tsv).
SENTENCES = dict(
    line.split("\t", 1)
    for line in (VOICE / "sentences.tsv").read_text(encoding="utf-8").splitlines()
    if line.strip()
)


def clip(name: str) -> bytes:
    """The bytes of one recording (`s1` … `s8`, `silence`)."""
    return (VOICE / f"{name}.ogg").read_bytes()


def words(text: str) -> str:
    """Lower case, punctuation to spaces: how transcripts and sentences are compared."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
