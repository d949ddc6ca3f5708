"""The labelled set: well formed, and the tagger holds its figures on it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from core import taxonomy
from pipeline.evaluation import evaluate, load_labelled
from pipeline.gazetteer import by_id
from pipeline.tagging import tag_text

LABELLED = Path(__file__).resolve().parents[1] / "data" / "tagging" / "stories.jsonl"


@pytest.fixture(scope="module")
def rows() -> list[dict[str, object]]:
    return load_labelled(LABELLED)


def test_labelled_set_is_well_formed(rows: list[dict[str, object]]) -> None:
    assert len(rows) >= 160
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    for row in rows:
        assert isinstance(row["text"], str) and row["text"].strip()
        themes = row["themes"]
        assert isinstance(themes, list) and len(themes) <= 3
        assert set(themes) <= set(taxonomy.slugs()), row["id"]
        assert row["place"] is None or row["place"] in by_id(), row["id"]
        assert row["split"] in {"dev", "heldout"}
    splits = Counter(r["split"] for r in rows)
    assert 0.25 <= splits["heldout"] / len(rows) <= 0.4
    per_theme = Counter(t for r in rows for t in r["themes"])  # type: ignore[attr-defined]
    assert all(per_theme[slug] >= 10 for slug in taxonomy.slugs()), per_theme
    assert sum(1 for r in rows if not r["themes"]) >= 15  # off-topic and greetings
    assert sum(1 for r in rows if r["place"] is None) >= 15  # no place named


def test_theme_f1_and_place_accuracy(rows: list[dict[str, object]]) -> None:
    whole = evaluate(rows)
    heldout = evaluate(r for r in rows if r["split"] == "heldout")
    print(
        f"\nall: n={whole.n} macro-F1={whole.macro_f1:.3f} place={whole.place_accuracy:.3f}"
        f"\nheld-out: n={heldout.n} macro-F1={heldout.macro_f1:.3f}"
        f" place={heldout.place_accuracy:.3f}"
    )
    assert whole.macro_f1 >= 0.80
    assert whole.place_accuracy >= 0.90


def test_tag_text_public_output_never_has_the_exact_point() -> None:
    result = tag_text("Rob di sini", chat_point=(-10.1455, 123.6531))
    assert result.place is not None and result.place.exact_lat == -10.1455
    public = result.public_dict()
    assert public["place"]["id"] == "kel-oesapa"
    assert "exact_lat" not in public["place"]
    assert "-10.1455" not in repr(public) and "123.6531" not in repr(public)
    assert set(public["place"]) == {"id", "name", "kind", "lat", "lon", "source", "evidence"}


def test_tag_text_combines_everything() -> None:
    result = tag_text("Beta pung rumah di Namosain su kena rob lai. WA 0812-3456-7890")
    public = result.public_dict()
    assert [t["slug"] for t in public["themes"]] == ["banjir-rob"]
    assert public["place"]["id"] == "kel-namosain"
    assert public["lang"] == "mkn"
    assert public["flags"] == [{"kind": "phone", "start": 48, "end": 62, "text": "0812-3456-7890"}]
    assert result.spam is False


def test_spam_gets_a_spam_flag_and_no_themes() -> None:
    result = tag_text("Jual rumput laut kering, harga grosir, minat hubungi WA 081234567890")
    assert result.spam and result.themes == ()
    kinds = [f["kind"] for f in result.public_dict()["flags"]]
    assert kinds == ["phone", "spam"]


def test_outside_ntt_shows_as_a_flag() -> None:
    public = tag_text("Halo", chat_point=(-8.65, 115.22)).public_dict()
    assert public["place"] is None
    assert {"kind": "outside_ntt", "start": None, "end": None, "text": None} in public["flags"]


def test_submission_fields_match_the_model_columns() -> None:
    from core.models import Submission

    result = tag_text(
        "Rob lagi! Hubungi 081234567890. Dijual murah, minat hubungi WA",
        chat_point=(-10.1455, 123.6531),
    )
    fields = result.submission_fields()
    assert set(fields) <= set(Submission.model_fields)
    assert fields["place_id"] == "kel-oesapa" and fields["place_source"] == "chat"
    assert (fields["exact_lat"], fields["exact_lon"]) == (-10.1455, 123.6531)
    assert {"kind": "phone", "span": [18, 30], "detail": None} in fields["flags"]
    assert "081234567890" not in repr(fields["flags"])
    assert fields["flags"][-1]["kind"] == "spam" and fields["flags"][-1]["detail"] == "selling"
    assert fields["themes"] == [] and fields["spam_score"] >= 0.6
