"""The labelled stories: well formed, split as documented, and the figures the README states are
the ones the shipped model gives on the held-out split (so the README cannot go stale)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from core import taxonomy
from pipeline.evaluation import LABELLED, compare, load_labelled
from pipeline.gazetteer import by_id
from pipeline.tagging import tag_text
from pipeline.themes import tagger_version

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return load_labelled(LABELLED)


def test_labelled_set_is_well_formed(rows: list[dict[str, Any]]) -> None:
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    for row in rows:
        assert isinstance(row["text"], str) and row["text"].strip()
        themes = row["themes"]
        assert isinstance(themes, list) and len(themes) <= 3
        assert themes == sorted(themes, key=taxonomy.slugs().index), row["id"]
        assert set(themes) <= set(taxonomy.slugs()), row["id"]
        assert row["place"] is None or row["place"] in by_id(), row["id"]
        assert row["lang_mix"] in {"id", "mkn", "mixed", "en"}
        assert row["split"] in {"train", "dev", "heldout"}
    fresh = [r for r in rows if r["id"][0] in "ntw"]
    assert len(fresh) >= 600
    assert Counter(r["lang_mix"] for r in fresh).keys() == {"id", "mkn", "mixed", "en"}
    # the first round's dev split is frozen; its held-out split was retired to training in the
    # fifth round (LABELLING.md), marked as such
    first = Counter(r["split"] for r in rows if r["id"].startswith("n"))
    assert first == {"train": 611, "dev": 152}
    retired = [r for r in rows if "retired_from" in r]
    assert len(retired) == 152 and {(r["split"], r["retired_from"]) for r in retired} == {
        ("train", "heldout")
    }
    assert {r["split"] for r in rows if r["id"].startswith("t")} == {"train"}
    # the set the rules were tuned on is training data only, never dev or held-out
    assert {r["split"] for r in rows if r["id"].startswith("s")} == {"train"}
    # the held-out split is the fifth round's blind writers' share (`w` ids), five writers
    heldout = [r for r in rows if r["split"] == "heldout"]
    assert {r["id"][:2] for r in heldout} == {"wa", "wb", "wc", "wd", "we"}
    assert len(heldout) >= 150
    per_theme = Counter(t for r in heldout for t in r["themes"])
    assert all(per_theme[slug] >= 12 for slug in taxonomy.slugs()), per_theme
    assert sum(1 for r in heldout if not r["themes"]) >= 10  # off-topic, negated, ads


def test_place_labels_follow_the_written_rule() -> None:
    """`scripts/apply-place-rule` (LABELLING.md "Places") finds nothing left to change."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "apply-place-rule")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == ""
    assert re.fullmatch(r"0 of \d+ labels changed\n", out.stderr)


def test_the_place_rule_moves_labels_to_the_place_the_text_names(tmp_path: Path) -> None:
    cases = [
        ("Went back to Lasiana, the water reaches the stalls", "pantai-lasiana", "kel-lasiana"),
        ("Tangga turun ke pante Namosain su ancor", "kel-namosain", "pantai-namosain"),
        ("Sekolah di dekat pantai Lasiana kebanjiran", "kel-lasiana", "kel-lasiana"),
        ("Would love a solar pilot di Kupang", None, "kota-kupang"),
        ("Jalan di Kabupaten Kupang rusak", "kab-kupang", "kab-kupang"),
    ]
    data = tmp_path / "stories.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"x{i}", "text": text, "themes": [], "place": was}) + "\n"
            for i, (text, was, _) in enumerate(cases)
        ),
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts/apply-place-rule"), "--data", str(data), "--write"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert [r["place"] for r in load_labelled(data)] == [now for _, _, now in cases]
    assert out.stdout.count("\n") == 3 and "P1" in out.stdout and "P3" in out.stdout


def test_a_written_batch_is_added_split_and_the_old_heldout_retired(tmp_path: Path) -> None:
    """`scripts/add-labelled-batch`: ids get a `w`, near copies stay out, the new stories are
    split by the per-theme floor, the old held-out becomes training data, and no text is shown."""
    data = tmp_path / "stories.jsonl"
    old = [
        {"id": "n1", "text": "Rob masuk rumah di Oeba lagi malam ini", "split": "heldout"},
        {"id": "n2", "text": "Sumur kami asin sejak bulan lalu", "split": "train"},
    ]
    data.write_text(
        "".join(
            json.dumps({**r, "themes": [], "place": None, "lang_mix": "id"}) + "\n" for r in old
        ),
        encoding="utf-8",
    )
    batches = []
    for writer in "ab":
        rows = [
            {
                "id": f"{writer}{i:03d}",
                "text": f"Story {i} by {writer}: air naik ke jalan {i * 7} di kampung {writer}",
                "themes": ["banjir-rob"],
                "place": None,
                "lang_mix": "id",
            }
            for i in range(1, 6)
        ]
        batches.append(tmp_path / f"{writer}.jsonl")
        batches[-1].write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    copy = {"id": "b006", "text": "Rob masuk rumah di Oeba lagi malam ini ya", "themes": []}
    with batches[1].open("a", encoding="utf-8") as f:
        f.write(json.dumps({**copy, "place": None, "lang_mix": "id"}) + "\n")
    script = str(ROOT / "scripts" / "add-labelled-batch")
    flags = ["--data", str(data), "--retire-heldout", "--write"]
    out = subprocess.run(
        [sys.executable, script, *map(str, batches), *flags],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "left out: wb006" in out.stdout and "Rob" not in out.stdout and "Story" not in out.stdout
    rows = load_labelled(data)
    assert [r["id"] for r in rows][:2] == ["n1", "n2"] and len(rows) == 12
    assert rows[0]["split"] == "train" and rows[0]["retired_from"] == "heldout"
    new = Counter((r["id"][:2], r["split"]) for r in rows[2:])
    assert new == {
        ("wa", "heldout"): 2,
        ("wa", "train"): 3,
        ("wb", "heldout"): 2,
        ("wb", "train"): 3,
    }


def _readme_rows(figures: Any, rules_only: Any) -> list[str]:
    rows = [
        f"| {slug} | {fig.support} | {fig.precision:.2f} | {fig.recall:.2f} | {fig.f1:.2f} "
        f"| {base.precision:.2f} | {base.recall:.2f} | {base.f1:.2f} |"
        for (slug, fig), base in zip(
            figures.per_theme.items(), rules_only.per_theme.values(), strict=True
        )
    ]
    rows.append(
        f"| **macro-F1** | {figures.n} | | | **{figures.macro_f1:.3f}** | | | "
        f"**{rules_only.macro_f1:.3f}** |"
    )
    return rows


def test_readme_states_the_heldout_figures_of_the_shipped_model(
    rows: list[dict[str, Any]],
) -> None:
    combined, rules_only = compare([r for r in rows if r["split"] == "heldout"])
    readme = README.read_text(encoding="utf-8")
    section = readme[readme.index("### Figures") :]
    section = section[: section.index("\n## ")]
    assert tagger_version() in section
    for line in _readme_rows(combined, rules_only):
        assert line in section, f"README figures are stale; expected the row:\n{line}"
    place = re.search(r"place accuracy (\d\.\d{3}) on the held-out split", section)
    assert place is not None and place.group(1) == f"{combined.place_accuracy:.3f}"


@pytest.mark.parametrize(
    ("name", "heading", "size"),
    [
        ("second", "**Second test set**", 160),
        ("third", "**Third test set**", 160),
        ("fourth", "**Fourth test set**", 159),  # one near copy of a training story left out
    ],
)
def test_blind_sets_are_well_formed_and_the_readme_states_their_figures(
    name: str, heading: str, size: int
) -> None:
    """The blind sets (written by someone who saw neither model nor rules' code nor labelled
    stories): well formed, and their figures in the README are the shipped model's."""
    blind = load_labelled(ROOT / "tests" / "data" / "tagging" / f"{name}-set.jsonl")
    assert len(blind) == size and {row["split"] for row in blind} == {name}
    assert len({row["id"] for row in blind}) == len({row["text"] for row in blind}) == size
    for row in blind:
        assert set(row["themes"]) <= set(taxonomy.slugs()) and len(row["themes"]) <= 3
        assert row["place"] is None or row["place"] in by_id(), row["id"]
        assert row["lang_mix"] in {"id", "mkn", "mixed", "en"}
    combined, rules_only = compare(blind)
    readme = README.read_text(encoding="utf-8")
    start = readme.index(heading)
    section = readme[start : readme.index("\n\n**", start)]  # up to the next paragraph
    for line in _readme_rows(combined, rules_only):
        assert line in section, f"README figures are stale; expected the row:\n{line}"
    place = re.search(rf"place accuracy (\d\.\d{{3}}) on the {name} test set", section)
    assert place is not None and place.group(1) == f"{combined.place_accuracy:.3f}"


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


def test_readme_states_the_agreement_of_the_second_labeller(rows: list[dict[str, Any]]) -> None:
    """The second labeller's labels (dev and held-out): well formed, and the agreement with the
    first labeller the README states is what they give."""
    second = load_labelled(ROOT / "tests" / "data" / "tagging" / "second-labeller.jsonl")
    gold = {row["id"]: row for row in rows}
    assert len(second) == 304 and len({row["id"] for row in second}) == 304
    # the first round's dev and (now retired) held-out splits
    first_split = {i: row.get("retired_from", row["split"]) for i, row in gold.items()}
    assert {first_split[row["id"]] for row in second} == {"dev", "heldout"}
    readme = README.read_text(encoding="utf-8")
    for split in ("heldout", "dev"):
        pairs = [(gold[r["id"]], r) for r in second if first_split[r["id"]] == split]
        assert all(set(r["themes"]) <= set(taxonomy.slugs()) for _, r in pairs)
        assert all(r["place"] is None or r["place"] in by_id() for _, r in pairs)
        scores = []
        for slug in taxonomy.slugs():
            tp = sum(slug in a["themes"] and slug in b["themes"] for a, b in pairs)
            wrong = sum((slug in a["themes"]) != (slug in b["themes"]) for a, b in pairs)
            scores.append(1.0 if tp + wrong == 0 else 2 * tp / (2 * tp + wrong))
        assert f"{sum(scores) / len(scores):.3f}" in readme, split
        same_place = sum(a["place"] == b["place"] for a, b in pairs) / len(pairs)
        assert f"{same_place:.3f}" in readme, split
