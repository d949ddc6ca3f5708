"""pipeline.exif: agreement with exiftool on the real corpus, odd GPS shapes, bad files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from pipeline.exif import read_metadata
from tests.conftest import EXIF_CORPUS
from tests.pipeline.exif_builder import (
    ascii_entry,
    exif_block,
    jpeg_with_exif,
    rational_entry,
    short_entry,
)

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "exiftool-reference.json"

# Files exiftool reads and we refuse, each for a stated reason (not hidden).
KNOWN_DIFFERENCES = {
    "mde/heic/IllegalArgumentException.HeifReader.processBoxes.heif": (
        "malformed HEIF box tree (a fuzzing sample): libheif refuses to decode it; exiftool "
        "only reads the declared size"
    ),
    "mde/heic/NegativeArraySizeException.ItemInfoBox.init.heif": (
        "malformed item-info box (a fuzzing sample): libheif refuses it; exiftool reads the "
        "declared size"
    ),
    "mde/jpg/beach.jpg": (
        "the JPEG frame header declares a height of 0 (exiftool: 200x0): no image to decode"
    ),
}

# Kupang, as the crafted files write it: 10°10'37.92"S 123°36'25.2"E
KUPANG_LAT = -(10 + 10 / 60 + 37.92 / 3600)
KUPANG_LON = 123 + 36 / 60 + 25.2 / 3600
LAT = [(10, 1), (10, 1), (3792, 100)]
LON = [(123, 1), (36, 1), (252, 10)]


@pytest.mark.skipif(not EXIF_CORPUS.is_dir(), reason="the shared EXIF corpus is not here")
def test_agrees_with_exiftool_on_the_whole_corpus() -> None:
    reference = json.loads(REFERENCE.read_text())
    assert len(reference) >= 280
    mismatches: list[str] = []
    for name, expected in reference.items():
        got = read_metadata(EXIF_CORPUS / name)
        if name in KNOWN_DIFFERENCES:
            assert got.error is not None, name  # we refuse it, and say so
            continue
        if got.error is not None:
            # agreement only when exiftool cannot find an image either
            assert expected["width"] is None, f"{name}: {got.error}"
            continue
        for key in ("width", "height", "orientation", "make", "model", "taken_at"):
            if getattr(got, key) != expected[key]:
                mismatches.append(f"{name} {key}: ours {getattr(got, key)!r}, {expected[key]!r}")
        lat, lon = expected["gps_lat"], expected["gps_lon"]
        if lat == 0 and lon == 0:
            lat = lon = None  # 0,0 is a receiver without a fix: we discard it, and flag it
            assert "gps_zero" in got.flags, name
        for key, want in (("gps_lat", lat), ("gps_lon", lon)):
            value = getattr(got, key)
            if (value is None) != (want is None) or (
                value is not None and abs(value - want) > 1e-6
            ):
                mismatches.append(f"{name} {key}: ours {value!r}, exiftool {want!r}")
    assert mismatches == []


@pytest.mark.skipif(not EXIF_CORPUS.is_dir(), reason="the shared EXIF corpus is not here")
def test_corpus_has_what_the_comparison_needs() -> None:
    """The comparison above is only worth something if the corpus has GPS, turns and HEIC."""
    reference = json.loads(REFERENCE.read_text())
    with_gps = [n for n, e in reference.items() if e["gps_lat"] not in (None, 0)]
    turned = [n for n, e in reference.items() if (e["orientation"] or 1) > 1]
    heic = [n for n, e in reference.items() if e["type"] == "HEIC"]
    southern_or_western = [n for n, e in reference.items() if (e["gps_lat"] or 0) < 0]
    assert len(with_gps) >= 40
    assert len(turned) >= 20
    assert len(heic) >= 5
    assert southern_or_western


def _crafted(tmp_path: Path, gps: list, name: str = "photo.jpg") -> Path:  # type: ignore[type-arg]
    block = exif_block(
        [ascii_entry(0x010F, "OPPO"), ascii_entry(0x0110, "A57"), short_entry(0x0112, 6)],
        [ascii_entry(0x9003, "2025:01:15 07:30:00"), ascii_entry(0x9011, "+08:00")],
        gps,
    )
    return jpeg_with_exif(tmp_path / name, block)


# Expected values are exiftool 12.57's Composite reading of the same bytes.
@pytest.mark.parametrize(
    ("gps", "lat", "lon", "flag"),
    [
        pytest.param(
            [
                ascii_entry(1, "S"),
                rational_entry(2, LAT),
                ascii_entry(3, "E"),
                rational_entry(4, LON),
            ],
            KUPANG_LAT,
            KUPANG_LON,
            None,
            id="degrees-minutes-seconds",
        ),
        pytest.param(
            [
                ascii_entry(1, "S"),
                rational_entry(2, [(1017720, 100000)]),
                ascii_entry(3, "E"),
                rational_entry(4, [(123607, 1000)]),
            ],
            -10.1772,
            123.607,
            None,
            id="degrees-only",
        ),
        pytest.param(
            [
                ascii_entry(1, "S"),
                rational_entry(2, [(10, 1), (1063, 100)]),
                ascii_entry(3, "E"),
                rational_entry(4, LON),
            ],
            -(10 + 10.63 / 60),
            KUPANG_LON,
            None,
            id="short-array-degrees-minutes",
        ),
        pytest.param(
            [
                ascii_entry(1, "s"),
                rational_entry(2, LAT),
                ascii_entry(3, "e"),
                rational_entry(4, LON),
            ],
            KUPANG_LAT,
            KUPANG_LON,
            None,
            id="lower-case-refs",
        ),
        pytest.param(
            # exiftool: d + (m + s/60)/60 with a negative d, made positive, then signed by ref
            [
                ascii_entry(1, "S"),
                rational_entry(2, [(-10, 1), (10, 1), (0, 1)], signed=True),
                ascii_entry(3, "E"),
                rational_entry(4, LON, signed=True),
            ],
            -(10 - 10 / 60),
            KUPANG_LON,
            None,
            id="signed-rationals",
        ),
        pytest.param(
            # a latitude ref of W is not S: exiftool reads north, and so do we
            [
                ascii_entry(1, "W"),
                rational_entry(2, LAT),
                ascii_entry(3, "S"),
                rational_entry(4, LON),
            ],
            -KUPANG_LAT,
            KUPANG_LON,
            None,
            id="wrong-refs",
        ),
        pytest.param(
            [
                ascii_entry(1, "S"),
                rational_entry(2, [(10, 1), (10, 1), (0, 0)]),
                ascii_entry(3, "E"),
                rational_entry(4, LON),
            ],
            None,
            None,
            "gps_invalid",
            id="zero-over-zero",
        ),
        pytest.param(
            [
                ascii_entry(1, "S"),
                rational_entry(2, [(10, 0), (0, 1), (0, 1)]),
                ascii_entry(3, "E"),
                rational_entry(4, LON),
            ],
            None,
            None,
            "gps_invalid",
            id="n-over-zero",
        ),
        pytest.param(
            [rational_entry(2, LAT), ascii_entry(3, "E"), rational_entry(4, LON)],
            None,
            None,
            "gps_no_ref",
            id="missing-latitude-ref",
        ),
        pytest.param(
            [
                ascii_entry(1, "N"),
                rational_entry(2, [(95, 1), (0, 1), (0, 1)]),
                ascii_entry(3, "E"),
                rational_entry(4, LON),
            ],
            None,
            None,
            "gps_impossible",
            id="latitude-beyond-90",
        ),
        pytest.param(
            [
                ascii_entry(1, "N"),
                rational_entry(2, LAT),
                ascii_entry(3, "E"),
                rational_entry(4, [(181, 1), (0, 1), (0, 1)]),
            ],
            None,
            None,
            "gps_impossible",
            id="longitude-beyond-180",
        ),
        pytest.param(
            [
                ascii_entry(1, "N"),
                rational_entry(2, [(0, 1), (0, 1), (0, 1)]),
                ascii_entry(3, "E"),
                rational_entry(4, [(0, 1), (0, 1), (0, 1)]),
            ],
            None,
            None,
            "gps_zero",
            id="null-island",
        ),
    ],
)
def test_gps_shapes(
    tmp_path: Path,
    gps: list,
    lat: float | None,
    lon: float | None,
    flag: str | None,  # type: ignore[type-arg]
) -> None:
    meta = read_metadata(_crafted(tmp_path, gps))
    assert meta.error is None
    if lat is None:
        assert meta.gps_lat is None and meta.gps_lon is None
    else:
        assert meta.gps_lat == pytest.approx(lat, abs=1e-9)
        assert meta.gps_lon == pytest.approx(lon, abs=1e-9)
    assert (flag in meta.flags) if flag else meta.flags == []
    # the rest of the block still reads
    assert (meta.make, meta.model, meta.orientation) == ("OPPO", "A57", 6)
    assert meta.taken_at == "2025-01-15T07:30:00+08:00"


def test_altitude_below_sea_level(tmp_path: Path) -> None:
    gps = [
        ascii_entry(1, "S"),
        rational_entry(2, LAT),
        ascii_entry(3, "E"),
        rational_entry(4, LON),
        (5, 1, 1, b"\x01"),  # GPSAltitudeRef: BYTE 1 = below sea level
        rational_entry(6, [(125, 10)]),
    ]
    assert read_metadata(_crafted(tmp_path, gps)).gps_alt == -12.5


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF"])
def test_other_containers(tmp_path: Path, fmt: str) -> None:
    block = exif_block(
        [ascii_entry(0x010F, "samsung"), short_entry(0x0112, 8)],
        [ascii_entry(0x9003, "2024:12:01 16:45:10")],
        [ascii_entry(1, "S"), rational_entry(2, LAT), ascii_entry(3, "E"), rational_entry(4, LON)],
    )
    image = Image.linear_gradient("L").resize((40, 30)).convert("RGB")
    target = tmp_path / "no-extension"
    buffer = io.BytesIO()
    image.save(buffer, fmt, exif=block[6:] if fmt == "TIFF" else block)
    target.write_bytes(buffer.getvalue())
    meta = read_metadata(target)
    assert meta.error is None
    assert (meta.width, meta.height) == (40, 30)
    assert meta.make == "samsung"
    assert meta.orientation == 8
    assert meta.taken_at == "2024-12-01T16:45:10"
    assert meta.gps_lat == pytest.approx(KUPANG_LAT, abs=1e-9)
    assert meta.gps_lon == pytest.approx(KUPANG_LON, abs=1e-9)


@pytest.mark.skipif(not EXIF_CORPUS.is_dir(), reason="the shared EXIF corpus is not here")
def test_heic_from_an_iphone() -> None:
    meta = read_metadata(EXIF_CORPUS / "mde/heic/Issue_263_dotnet.heic")
    assert meta.error is None
    assert (meta.make, meta.model) == ("Apple", "iPhone XR")
    assert meta.orientation == 6
    assert (meta.width, meta.height) == (4032, 3024)  # the coded grid, as exiftool says
    assert meta.gps_lat == pytest.approx(38.6995388888889, abs=1e-9)
    assert meta.gps_lon == pytest.approx(-9.20774722222222, abs=1e-9)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", "not_an_image"),
        (b"PK\x03\x04" + b"\0" * 60, "not_an_image"),
    ],
)
def test_bad_files_say_why(tmp_path: Path, content: bytes, reason: str) -> None:
    target = tmp_path / "photo.jpg"  # the name lies; the content decides
    target.write_bytes(content)
    meta = read_metadata(target)
    assert meta.error == reason
    assert meta.gps_lat is None


def test_missing_file_says_why(tmp_path: Path) -> None:
    assert (read_metadata(tmp_path / "gone.jpg").error or "").startswith("unreadable")


def test_truncated_jpeg_still_gives_its_metadata(tmp_path: Path) -> None:
    block = exif_block(
        [ascii_entry(0x010F, "OPPO")],
        [],
        [ascii_entry(1, "S"), rational_entry(2, LAT), ascii_entry(3, "E"), rational_entry(4, LON)],
    )
    whole = jpeg_with_exif(tmp_path / "whole.jpg", block, size=(800, 600))
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) * 2 // 3])
    meta = read_metadata(cut)
    assert meta.error is None  # the header and EXIF are intact; the pixels are images.py's job
    assert meta.gps_lat == pytest.approx(KUPANG_LAT, abs=1e-9)
