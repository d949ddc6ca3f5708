"""Theme rules: affixes, negation, off-topic, languages, the rules file itself."""

from __future__ import annotations

import copy
import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from core import taxonomy
from core.errors import ConfigError
from pipeline.theme_rules import parse_rules, rules, rules_version, stems
from pipeline.theme_rules import tag_rules as tag_themes

TAXONOMY = Path("/work/shared/TAXONOMY.md")


def slugs(text: str) -> list[str]:
    return [t.slug for t in tag_themes(text)]


def test_themes_are_the_taxonomy() -> None:
    assert len(taxonomy.slugs()) == 13
    if TAXONOMY.exists():  # the shared taxonomy beside the project, when present
        rows = re.findall(
            r"^\| `([a-z-]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \|", TAXONOMY.read_text(), re.M
        )
        shared = [(slug, i.strip(), e.strip(), c.strip()) for slug, i, e, c in rows]
        ours = [(t.slug, t.label_id, t.label_en, t.covers) for t in taxonomy.themes()]
        assert ours == shared
        hashtags = {f"#{tag}" for theme in taxonomy.themes() for tag in theme.hashtags} | {
            f"#{taxonomy.project_hashtag()}"
        }
        assert all(tag in TAXONOMY.read_text() for tag in hashtags)


def test_rules_file_is_versioned_and_covers_every_theme() -> None:
    raw = resources.files("core").joinpath("data/taxonomy.toml").read_text(encoding="utf-8")
    data = tomllib.loads(raw)
    assert data["version"] == rules_version()
    assert [rule.slug for rule in rules().themes] == list(taxonomy.slugs())
    assert all(rule.terms for rule in rules().themes)


def test_unknown_theme_in_rules_is_refused() -> None:
    data = copy.deepcopy(taxonomy.data())
    data["themes"]["tsunami"] = {"terms": {"tsunami": 3}}
    with pytest.raises(ConfigError, match="tsunami"):
        parse_rules(data)


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("kebanjiran", "banjir"),
        ("kekeringan", "kering"),
        ("menanam", "tanam"),
        ("penanaman", "tanam"),
        ("dibersihkan", "bersih"),
        ("membersihkan", "bersih"),
        ("terendam", "rendam"),
        ("meluap", "luap"),
        ("banjirnya", "banjir"),
        ("sampahlah", "sampah"),
        ("nelayankah", "nelayan"),
        ("terkikis", "kikis"),
        ("berlayar", "layar"),
        ("menyiram", "siram"),
    ],
)
def test_affixes_are_removed(word: str, stem: str) -> None:
    assert stem in stems(word)


def test_sekarang_is_not_karang() -> None:
    assert "karang" not in stems("sekarang")
    assert "ekosistem-pesisir" not in slugs("Sampai sekarang rumah kami belum diperbaiki.")


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Rumah kami kebanjiran tadi malam", "banjir-rob"),
        ("Rumah-rumah terendam air laut", "banjir-rob"),
        ("Banjirnya sampai sepinggang", "banjir-rob"),
        ("Pantai terkikis ombak tiap tahun, abrasinya parah", "abrasi"),
        ("Sumur su kering, katong beli air tangki", "kekeringan-air"),
        ("Anak2 kena DBD", "kesehatan"),
        ("Nelayan sonde bisa pi melaut", "nelayan-laut"),  # negated sailing is the theme itself
        ("Listrik padam dari pagi", "energi"),
        ("Warga gotong royong menanam bakau", "aksi-warga"),
        ("Warga gotong royong menanam bakau", "ekosistem-pesisir"),
        ("The sea wall cracked after the storm", "infrastruktur"),
        ("Fishermen cannot go to sea, the boats stay on the beach", "nelayan-laut"),
        ("Pemkot janji bangun talud, sampai sekarang belum ada", "kebijakan"),
        ("Sampah plastik menumpuk di pantai", "sampah-pencemaran"),
        ("Panen jagung gagal, harga beras naik", "pangan"),
        ("Badai Seroja hancurkan atap rumah", "cuaca-ekstrem"),
    ],
)
def test_theme_found(text: str, slug: str) -> None:
    assert slug in slugs(text)


def test_evidence_shows_the_words_as_written() -> None:
    tags = tag_themes("Rumah kami kebanjiran lagi, rob tiap bulan")
    assert tags[0].slug == "banjir-rob"
    assert "kebanjiran" in tags[0].evidence and "rob" in tags[0].evidence
    assert 0 < tags[0].score <= 1


@pytest.mark.parametrize(
    "text",
    [
        "Tahun ini sonde banjir lai di kampung",
        "Syukur, tidak ada banjir tahun ini",
        "No more flooding in our street",
        "Tidak kebanjiran lagi sejak got dibersihkan",
        "Sudah bebas rob sekarang",
    ],
)
def test_negated_flood_is_not_the_flood_theme(text: str) -> None:
    assert "banjir-rob" not in slugs(text)


def test_negation_stops_at_a_clause_boundary() -> None:
    found = slugs("Tidak ada banjir tahun ini, tapi sumur kering sejak Mei")
    assert "kekeringan-air" in found and "banjir-rob" not in found
    assert "banjir-rob" in slugs("Tidak tidur semalam. Banjir masuk rumah")


@pytest.mark.parametrize(
    "text",
    [
        "Jual rumput laut kering kualitas super, harga grosir, minat hubungi WA",
        "Sebarkan pesan ini ke 10 grup, kalau tidak sial 7 tahun. Banjir rezeki menanti!",
        "Pinjaman online cair 5 menit tanpa jaminan",
        "Selamat pagi semua, salam kenal 🙏",
        "Terima kasih, Tuhan memberkati",
        "Banjir diskon akhir tahun di toko kami",
        "",
    ],
)
def test_off_topic_gets_no_themes(text: str) -> None:
    assert tag_themes(text) == []


def test_at_most_three_themes_best_first() -> None:
    text = (
        "Banjir rob masuk rumah, talud rusak, nelayan sonde bisa melaut, listrik padam, "
        "anak-anak kena diare, sampah plastik di mana-mana, pemerintah janji terus."
    )
    tags = tag_themes(text)
    assert len(tags) == 3
    assert [t.score for t in tags] == sorted((t.score for t in tags), reverse=True)


def test_kupang_malay_and_mixed() -> None:
    assert slugs("Beta pung rumah su kena rob lai, air masuk sampe lutut")[0] == "banjir-rob"
    mixed = slugs("Air PDAM sonde jalan, we have to buy water every week")
    assert mixed[0] == "kekeringan-air"
