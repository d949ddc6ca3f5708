"""The combined theme tagger: everyday phrasings, negation, sarcasm, evidence (typed or spoken),
the artefact read without scikit-learn, and training that gives the same artefact again."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.errors import ConfigError
from pipeline.tagging import tag_text
from pipeline.theme_model import artefact_bytes, load_model, model
from pipeline.themes import tag_themes

ROOT = Path(__file__).resolve().parents[2]


def slugs(text: str, transcript: str | None = None) -> list[str]:
    return [t.slug for t in tag_themes(text, transcript=transcript)]


@pytest.mark.parametrize(
    ("text", "theme"),
    [
        ("Ombak su makan pantai sampai pohon kelapa tumbang", "abrasi"),
        ("Went back to the beach where I grew up: the sand is washing away.", "abrasi"),
        # sarcasm, read for its intent (labelled set n0437, n0433)
        ("PLN = Perusahaan Lilin Negara 🕯️ su mati lampu dari sore, es batu cair semua.", "energi"),
        (
            "Oeba su jadi Venesia lai 🚣 tinggal kurang gondola sa. "
            "Air dari laut nae masuk jalan, motor dorong.",
            "banjir-rob",
        ),
        ("Katong pemuda gereja kumpul doi bli semen ko tambal talud yang bolong", "aksi-warga"),
    ],
)
def test_everyday_phrasings_get_their_theme(text: str, theme: str) -> None:
    assert theme in slugs(text)


@pytest.mark.parametrize(
    "text",
    [
        # a negated hazard is no theme (labelled set n0278, n0636, n0062)
        "Puji Tuhan, ini tahun sonde banjir lai di katong pung gang di Osapa. Selamat natal 🎄",
        "Sumur di rumah beta masih manis, sonde asin sama sekali. Orang bilang berkat 😄",
        "Pantai kami aman, tidak ada abrasi seperti yang diberitakan. Silakan berlibur 😊",
        "Selamat pagi admin, terima kasih 🙏",
    ],
)
def test_negated_hazards_and_chat_get_no_theme(text: str) -> None:
    assert slugs(text) == []


def test_at_most_three_themes_best_first_and_spam_none() -> None:
    text = (
        "Banjir rob masuk rumah, talud rusak, listrik padam, sumur asin, nelayan tidak melaut, "
        "anak-anak diare, sampah plastik di mana-mana. Kami minta DPRD turun."
    )
    tags = tag_themes(text)
    assert 1 <= len(tags) <= 3
    m = model()
    margins = [t.score / float(m.thresholds[m.slugs.index(t.slug)]) for t in tags]
    assert margins == sorted(margins, reverse=True)
    assert tag_themes("Jual tandon air murah, minat hubungi WA 081234567890") == []


def test_evidence_points_at_the_words_that_suggested_the_theme() -> None:
    text = "Oeba su jadi Venesia lai 🚣 tinggal kurang gondola sa. Air dari laut nae masuk jalan."
    for tag in tag_themes(text):
        assert tag.evidence and tag.items
        for item in tag.items:
            assert text[item.start : item.end] == item.text
            assert item.source == "text" and item.by in {"rules", "model"}
        assert tag.evidence == tuple(dict.fromkeys(i.text for i in tag.items))
    flood = next(t for t in tag_themes(text) if t.slug == "banjir-rob")
    if flood.by == "model":  # no taxonomy term: the words the model leaned on
        assert all(item.by == "model" for item in flood.items)


def test_transcript_evidence_is_marked_as_speech() -> None:
    typed = "Tolong bantu kami di Oesapa"
    spoken = "air laut masuk rumah semua, ombak tinggi sekali tadi malam"
    result = tag_text(typed, transcript=spoken)
    items = [item for theme in result.themes for item in theme.items]
    assert items and all(item.source == "speech" for item in items)
    for item in items:  # spans index into the transcript
        assert spoken[item.start : item.end] == item.text
    public = result.public_dict()
    assert public["themes"][0]["evidence_items"][0]["source"] == "speech"
    assert public["place"]["id"] == "kel-oesapa"  # the typed place

    only_voice = tag_text("", transcript="katong di Oesapa su tiga hari sonde turun laut")
    assert [t.slug for t in only_voice.themes] == ["nelayan-laut"]
    assert only_voice.place is not None and only_voice.place.evidence == "Oesapa (speech)"
    typed_and_spoken = tag_themes(
        "Listrik padam lagi", transcript="ombak tinggi, kapal tidak jalan"
    )
    sources = {t.slug: {i.source for i in t.items} for t in typed_and_spoken}
    assert sources["energi"] == {"text"}
    assert sources["cuaca-ekstrem"] == {"speech"}


def test_artefact_is_read_without_scikit_learn_or_pickles() -> None:
    code = (
        "import sys; from pipeline.tagging import tag_text; "
        "assert tag_text('banjir rob masuk rumah').themes; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'sklearn', 'pickle'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "sklearn" not in out.stdout
    with np.load(io.BytesIO(artefact_bytes()), allow_pickle=False) as npz:
        assert {"vocabulary", "idf", "coef", "intercept", "thresholds", "meta"} <= set(npz.files)


def test_a_damaged_artefact_is_refused() -> None:
    with np.load(io.BytesIO(artefact_bytes()), allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["coef"] = arrays["coef"][:-1]
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with pytest.raises(ConfigError, match="do not match"):
        load_model(buf.getvalue())


@pytest.mark.slow
def test_training_again_gives_the_shipped_artefact(tmp_path: Path) -> None:
    """Same data and seed: the shipped model again (byte-identical artefact with the
    scikit-learn version it was trained with; within 1e-4 across versions)."""
    sklearn = pytest.importorskip("sklearn")
    out = tmp_path / "a.npz"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "train-tagger"), "--out", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    retrained, shipped = load_model(out.read_bytes()), model()
    if shipped.meta.get("sklearn") == sklearn.__version__:
        digest = hashlib.sha256(out.read_bytes()).digest()
        assert digest == hashlib.sha256(artefact_bytes()).digest()
    assert retrained.vocabulary == shipped.vocabulary
    np.testing.assert_allclose(retrained.coef, shipped.coef, atol=1e-4)
    np.testing.assert_allclose(retrained.intercept, shipped.intercept, atol=1e-4)
    np.testing.assert_array_equal(retrained.thresholds, shipped.thresholds)
    assert retrained.rules_or == shipped.rules_or
