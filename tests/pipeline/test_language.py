"""Rule-based language guess."""

from __future__ import annotations

import pytest

from pipeline.language import detect_language, language_scores


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Semalam air laut naik sampai masuk ke rumah warga di Oesapa.", "id"),
        ("Mohon pemerintah segera membangun talud sebelum musim hujan.", "id"),
        ("Beta pung rumah su kena rob lai, katong sonde bisa tidur", "mkn"),
        ("Sonde ada air, bosong pi ambil di mata air sa", "mkn"),
        ("The sea wall cracked after last week's high tide.", "en"),
        ("Fishermen in Oesapa say they now have to go much further out.", "en"),
        ("Banjir lagi di Oesapa. We need help, the water is in our houses now!", "mixed"),
        ("🙏🙏🙏", "und"),
        ("Oesapa", "und"),
        ("", "und"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_scores_count_markers() -> None:
    scores = language_scores("beta sonde tahu")
    assert scores["mkn"] >= 2.5 and scores["en"] == 0
