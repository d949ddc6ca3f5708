"""Rule-based language guess from marker words: Indonesian, Kupang Malay, English, mixtures.

Codes: "id" Indonesian, "mkn" Kupang Malay (ISO 639-3; the catalogs use two-letter codes, and
Kupang Malay has none), "en" English, "mixed" (Indonesian or Kupang Malay with much English),
"und" (too little text to say).
"""

from __future__ import annotations

import itertools
import re

INDONESIAN = "id"
KUPANG_MALAY = "mkn"
ENGLISH = "en"
MIXED = "mixed"
UNDETERMINED = "und"

# Words that are Kupang Malay and not (everyday) Indonesian. "dong" and "na" also occur in
# Jakarta slang, so they only count as half a marker.
_KUPANG = {
    "beta": 1.0,
    "sonde": 1.5,
    "son": 1.0,
    "sond": 1.0,
    "katong": 1.5,
    "kotong": 1.5,
    "bosong": 1.5,
    "botong": 1.0,
    "pung": 1.5,
    "su": 1.0,
    "pi": 1.0,
    "lai": 0.75,
    "deng": 1.0,
    "ais": 1.0,
    "bae": 1.0,
    "sa": 0.5,
    "ko": 0.5,
    "dong": 0.5,
    "na": 0.25,
    "tarlalu": 1.5,
    "talalu": 1.5,
    "karmana": 1.5,
    "kermana": 1.5,
    "sampe": 0.5,
    "pake": 0.5,
    "ju": 0.75,
    "nyong": 1.0,
    "usi": 0.75,
    "tanta": 0.5,
    "lu": 0.5,
    "skali": 0.25,
    "ini hari": 1.0,
    "mo": 0.5,
    "sama dengan": 0.0,
}
_INDONESIAN = frozenset(
    [
        "yang",
        "dan",
        "di",
        "ke",
        "dari",
        "tidak",
        "sudah",
        "saya",
        "kami",
        "kita",
        "dengan",
        "untuk",
        "ini",
        "itu",
        "ada",
        "akan",
        "karena",
        "sekali",
        "tolong",
        "air",
        "sangat",
        "juga",
        "atau",
        "tapi",
        "tetapi",
        "belum",
        "lagi",
        "harus",
        "bisa",
        "sampai",
        "setelah",
        "sejak",
        "banyak",
        "rumah",
        "warga",
        "kalau",
        "apa",
        "mohon",
        "terima",
        "kasih",
        "pagi",
        "hari",
        "kemarin",
        "semua",
        "sekarang",
        "masih",
        "dalam",
        "pada",
        "mereka",
        "anak",
        "jadi",
        "tahun",
        "bulan",
        "minggu",
        "makin",
        "lebih",
        "dekat",
        "naik",
        "harga",
        "jual",
        "baru",
        "besar",
        "kecil",
        "tinggal",
        "mati",
        "lokasi",
        "kualitas",
        "hubungi",
        "surat",
        "lengkap",
        "minat",
    ]
)
_ENGLISH = frozenset(
    [
        "the",
        "and",
        "is",
        "are",
        "was",
        "were",
        "of",
        "to",
        "in",
        "on",
        "at",
        "we",
        "our",
        "my",
        "they",
        "their",
        "with",
        "have",
        "has",
        "had",
        "this",
        "that",
        "after",
        "for",
        "from",
        "it",
        "its",
        "be",
        "been",
        "no",
        "more",
        "not",
        "but",
        "good",
        "news",
        "just",
        "every",
        "now",
        "people",
        "there",
        "because",
        "what",
        "when",
        "who",
        "will",
        "would",
        "can",
        "could",
        "should",
        "many",
        "much",
        "water",
        "sea",
    ]
)
_WORD = re.compile(r"[^\W\d_]+")
_SENTENCES = re.compile(r"(?<=[.!?\n])\s+")


def language_scores(text: str) -> dict[str, float]:
    """Marker weights found for each language (for tests and debugging)."""
    words = [w.lower() for w in _WORD.findall(text)]
    bigrams = [f"{a} {b}" for a, b in itertools.pairwise(words)]
    kupang = sum(_KUPANG.get(w, 0.0) for w in (*words, *bigrams))
    indonesian = sum(1.0 for w in words if w in _INDONESIAN)
    english = sum(1.0 for w in words if w in _ENGLISH)
    return {KUPANG_MALAY: kupang, INDONESIAN: indonesian, ENGLISH: english}


def _classify(scores: dict[str, float]) -> str:
    kupang, indonesian, english = scores[KUPANG_MALAY], scores[INDONESIAN], scores[ENGLISH]
    malay = kupang + indonesian
    if malay + english < 1:
        return UNDETERMINED
    # both sides substantial in one breath: a mixture
    if english >= 2 and malay >= 2 and min(english, malay) / max(english, malay) >= 0.3:
        return MIXED
    if english > malay:
        return ENGLISH
    if kupang >= 1.5:
        return KUPANG_MALAY
    return INDONESIAN


def detect_language(text: str) -> str:
    """Guess "id", "mkn" (Kupang Malay), "en", "mixed" or "und" from marker words.

    The whole text decides, except that an English sentence beside an Indonesian or Kupang
    Malay one makes it "mixed".
    """
    overall = _classify(language_scores(text))
    if overall in {UNDETERMINED, MIXED}:
        return overall
    sentences = {_classify(language_scores(s)) for s in _SENTENCES.split(text)}
    if ENGLISH in sentences and sentences & {INDONESIAN, KUPANG_MALAY}:
        return MIXED
    return overall
