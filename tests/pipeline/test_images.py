"""pipeline.images: what is refused, orientation, colour, crops, sizes, and no metadata out."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageDraw

from pipeline.decode_budget import DecodeBudget
from pipeline.images import (
    MAX_BYTES,
    MAX_FILE_BYTES,
    fast_jpeg_pixels,
    load_pixels,
    open_upright,
    process_many,
    process_photo,
)
from tests.conftest import EXIF_CORPUS
from tests.jpeg_segments import metadata_in
from tests.pipeline.exif_builder import ascii_entry, exif_block, jpeg_with_exif, rational_entry

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "exiftool-reference.json"
needs_corpus = pytest.mark.skipif(not EXIF_CORPUS.is_dir(), reason="no shared EXIF corpus")
GPS = [
    ascii_entry(1, "S"),
    rational_entry(2, [(10, 1), (10, 1), (3792, 100)]),
    ascii_entry(3, "E"),
    rational_entry(4, [(123, 1), (36, 1), (252, 10)]),
]


def assert_clean(path: Path) -> None:
    """No EXIF, GPS, XMP, comment or embedded thumbnail; ICC absent (output is sRGB)."""
    assert metadata_in(path.read_bytes()) == [], path
    with Image.open(path) as image:
        assert image.format == "JPEG"
        assert len(image.getexif()) == 0
        assert not {"exif", "xmp", "icc_profile", "comment", "photoshop"} & set(image.info)


def check_renditions(renditions: dict[str, dict[str, object]]) -> None:
    assert set(renditions) == {"web", "feed", "square", "thumb"}
    for info in renditions.values():
        path = Path(str(info["path"]))
        assert path.stat().st_size == info["bytes"] <= MAX_BYTES
        with Image.open(path) as image:
            assert image.size == (info["width"], info["height"])
        assert_clean(path)
    assert (renditions["feed"]["width"], renditions["feed"]["height"]) == (1080, 1350)
    assert (renditions["square"]["width"], renditions["square"]["height"]) == (1080, 1080)
    assert max(int(str(renditions["web"]["width"])), int(str(renditions["web"]["height"]))) <= 2048
    assert (
        max(int(str(renditions["thumb"]["width"])), int(str(renditions["thumb"]["height"]))) == 320
    )


def test_photo_with_gps_leaves_no_trace_of_it(tmp_path: Path) -> None:
    block = exif_block([ascii_entry(0x010F, "OPPO")], [], GPS)
    original = jpeg_with_exif(tmp_path / "in.jpg", block, size=(3000, 2250))
    result = process_photo(original, tmp_path / "out")
    assert result.error is None
    assert result.metadata is not None and result.metadata.gps_lat is not None  # private copy
    check_renditions(result.renditions)
    assert result.renditions["web"]["width"] == 2048  # 3000 px cannot halve to ≥1800: resized
    assert result.phash is not None and len(result.phash) == 16


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n",
            "not_an_image",
        ),
        (b"hello, this is not a photo\n", "not_an_image"),
    ],
)
def test_refuses_what_is_not_a_photo(tmp_path: Path, content: bytes, reason: str) -> None:
    target = tmp_path / "IMG_0001.JPG"  # the name lies
    target.write_bytes(content)
    result = process_photo(target, tmp_path / "out")
    assert result.error == reason
    assert result.renditions == {}
    assert not (tmp_path / "out").exists()


def test_refuses_a_zip_named_like_a_photo(tmp_path: Path) -> None:
    target = tmp_path / "photo.jpg"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("a.txt", "not a photo")
    assert process_photo(target, tmp_path / "out").error == "not_an_image"


def test_refuses_a_truncated_jpeg(tmp_path: Path) -> None:
    whole = jpeg_with_exif(tmp_path / "whole.jpg", exif_block([], [], GPS), size=(1200, 900))
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert process_photo(cut, tmp_path / "out").error == "truncated"


def _png_declaring(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _jpeg_declaring(tmp_path: Path, width: int, height: int) -> bytes:
    data = bytearray((jpeg_with_exif(tmp_path / "small.jpg", exif_block([], [], []))).read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda tmp: _png_declaring(100_000, 100_000), id="png-10-gigapixels"),
        pytest.param(lambda tmp: _png_declaring(20_000, 20_000), id="png-400-megapixels"),
        # Under the 250 MP a JPEG may declare, but a PNG is decoded whole (about 450 MB).
        pytest.param(lambda tmp: _png_declaring(12_500, 12_000), id="png-150-megapixels"),
        pytest.param(lambda tmp: _jpeg_declaring(tmp, 65_000, 65_000), id="jpeg-4-gigapixels"),
    ],
)
def test_refuses_decompression_bombs_before_decoding(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    bomb = tmp_path / "bomb"
    bomb.write_bytes(make(tmp_path))
    assert bomb.stat().st_size < 10_000  # tiny file, enormous claim
    result = process_photo(bomb, tmp_path / "out")
    assert result.error == "decompression_bomb"


def test_accepts_a_200_megapixel_photo_at_reduced_size(tmp_path: Path) -> None:
    original = tmp_path / "200mp.jpg"
    big = Image.linear_gradient("L").resize((16384, 12288), Image.Resampling.NEAREST)
    big.save(original, "JPEG", quality=50)
    big.close()
    decoded = open_upright(original)
    assert decoded.size == (2048, 1536)  # decoded at 1/8 scale, never at full size
    decoded.close()
    result = process_photo(original, tmp_path / "out")
    assert result.error is None
    assert result.metadata is not None and result.metadata.width == 16384
    check_renditions(result.renditions)


def test_noisy_photo_is_squeezed_under_the_byte_limit(tmp_path: Path) -> None:
    original = tmp_path / "noise.png"
    Image.merge("RGB", [Image.effect_noise((1600, 1600), 120) for _ in range(3)]).save(original)
    result = process_photo(original, tmp_path / "out")
    assert result.error is None
    check_renditions(result.renditions)


def test_crop_keeps_the_subject_not_the_centre(tmp_path: Path) -> None:
    """A boat at the left edge of a calm, flat sea: the square crop must keep the boat."""
    scene = Image.new("RGB", (2400, 1200), (70, 130, 180))
    detail = Image.merge("RGB", [Image.effect_noise((400, 1200), 90) for _ in range(3)])
    scene.paste(detail, (0, 0))
    ImageDraw.Draw(scene).rectangle((50, 500, 350, 700), fill=(230, 40, 40))
    original = tmp_path / "boat.png"
    scene.save(original)
    result = process_photo(original, tmp_path / "out")
    with Image.open(result.renditions["square"]["path"]) as square:
        # the red boat (x 50..350 of a 1200 px window) is in the square's left quarter
        r, g, b = square.convert("RGB").getpixel((90, 540))
    assert r > 180 and g < 100 and b < 100


def test_flat_image_gets_a_centred_crop(tmp_path: Path) -> None:
    scene = Image.linear_gradient("L").rotate(90).resize((2000, 1000)).convert("RGB")
    original = tmp_path / "flat.png"
    scene.save(original)
    result = process_photo(original, tmp_path / "out")
    with Image.open(result.renditions["square"]["path"]) as square:
        left = square.convert("L").getpixel((0, 540))
        right = square.convert("L").getpixel((1079, 540))
    # the window covered the middle half of the gradient, not one end of it
    assert isinstance(left, int) and isinstance(right, int)
    assert min(left, right) > 40 and max(left, right) < 215


def _displayed_landscape(entry: dict[str, object]) -> bool:
    width, height = int(str(entry["width"])), int(str(entry["height"]))
    rotation = entry.get("rotation")
    if entry["type"] in ("HEIC", "HEIF", "AVIF") and rotation is not None:
        turned = rotation in (90, 270)  # the container's irot; EXIF is not applied again
    else:
        turned = (entry["orientation"] or 1) >= 5
    return (height > width) if turned else (width > height)


@needs_corpus
def test_every_turned_corpus_photo_comes_out_upright() -> None:
    reference = json.loads(REFERENCE.read_text())
    turned = {
        name: entry
        for name, entry in reference.items()
        if entry["width"]
        and entry["height"]
        and entry["width"] != entry["height"]
        and ((entry["orientation"] or 1) > 1 or entry.get("rotation"))
        and entry["type"] in ("JPEG", "HEIC", "HEIF", "TIFF")
    }
    assert len(turned) >= 25
    wrong = []
    for name, entry in turned.items():
        image = open_upright(EXIF_CORPUS / name)
        if (image.width > image.height) != _displayed_landscape(entry):
            wrong.append((name, entry["orientation"], entry.get("rotation"), image.size))
        image.close()
    assert wrong == []


@needs_corpus
@pytest.mark.parametrize(
    ("name", "size"),
    [
        # iPhone: irot 270 in the container and EXIF orientation 6; turned once, not twice
        ("mde/heic/Issue_263_dotnet.heic", (1536, 2048)),
        # Samsung Galaxy S24 FE: EXIF orientation 6 and no irot: EXIF is all there is
        ("mde/heic/Issue_437_dotnet.heic", (946, 2048)),
        # a phone JPEG with GPS, orientation 6
        ("exif-py/jpg/orientation/portrait_6.jpg", None),
    ],
)
def test_heic_and_turned_photos_end_to_end(
    tmp_path: Path, name: str, size: tuple[int, int] | None
) -> None:
    source = EXIF_CORPUS / name
    if not source.exists():
        pytest.skip(f"{name} is not in this corpus")
    result = process_photo(source, tmp_path / "out")
    assert result.error is None
    check_renditions(result.renditions)
    web = result.renditions["web"]
    if size is not None:
        assert (web["width"], web["height"]) == size
    else:
        assert int(str(web["height"])) > int(str(web["width"]))


@needs_corpus
def test_wide_gamut_profile_is_converted_to_srgb(tmp_path: Path) -> None:
    with Image.open(EXIF_CORPUS / "mde/heic/Issue_263_dotnet.heic") as heic:
        profile = heic.info.get("icc_profile")
    assert profile and b"P3" in profile
    description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile)))
    assert "srgb" not in description.lower()
    colour = (40, 160, 60)  # a coastal green, inside both gamuts
    tagged, plain = tmp_path / "p3.png", tmp_path / "plain.png"
    Image.new("RGB", (64, 64), colour).save(tagged, icc_profile=profile)
    Image.new("RGB", (64, 64), colour).save(plain)
    converted = open_upright(tagged).getpixel((10, 10))
    untouched = open_upright(plain).getpixel((10, 10))
    assert untouched == colour
    assert converted != colour  # the same numbers mean a more saturated green in P3
    assert (
        isinstance(converted, tuple) and converted[1] > converted[0] and converted[1] > converted[2]
    )


def test_process_many_keeps_order_and_separate_folders(tmp_path: Path) -> None:
    a = tmp_path / "a" / "x.jpg"
    b = tmp_path / "b" / "x.jpg"
    for path in (a, b):
        path.parent.mkdir()
        jpeg_with_exif(path, exif_block([], [], GPS), size=(900, 600))
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    results = process_many([a, empty, b], tmp_path / "out", workers=2)
    assert [r.file for r in results] == [str(a), str(empty), str(b)]
    assert [r.error for r in results] == [None, "empty", None]
    folders = {Path(str(r.renditions["web"]["path"])).parent.name for r in results if r.renditions}
    assert folders == {"x", "x-2"}


def test_process_many_on_worker_processes_renders_every_file_once(tmp_path: Path) -> None:
    """Several worker processes, files of one name in different folders, a turned photo, a
    refused file: every result in the order given, each photo's renditions in its own folder
    made from that photo, none missing, none twice."""
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40), (40, 200, 200)]
    paths = []
    for number, colour in enumerate(colours):
        path = tmp_path / f"in{number % 2}" / f"IMG_{number // 2}.jpg"
        path.parent.mkdir(exist_ok=True)
        Image.new("RGB", (1600, 1200), colour).save(path, "JPEG", quality=90)
        paths.append(path)
    turned = _large_asymmetric_jpeg(tmp_path / "turned.jpg", 6, gps=True)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    paths[2:2] = [turned, empty]
    # libvips has now worked in this process: its workers must start fresh, not be forked
    assert process_photo(paths[0], tmp_path / "before").error is None
    results = process_many(paths, tmp_path / "out", workers=3)
    assert [result.file for result in results] == [str(path) for path in paths]
    assert [result.error for result in results].count(None) == 6
    assert results[3].error == "empty"
    made = [result for result in results if result.error is None]
    folders = [Path(str(result.renditions["web"]["path"])).parent for result in made]
    assert len(set(folders)) == 6
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f.name for f in folders)
    for folder in folders:
        assert sorted(p.name for p in folder.iterdir()) == [
            f"{n}.jpg" for n in sorted(RENDITION_NAMES)
        ]
    for result in made:
        check_renditions(result.renditions)
    assert (made[2].renditions["web"]["width"], made[2].renditions["web"]["height"]) == (1080, 1800)
    originals = [path for path in paths if path not in (turned, empty)]
    for path, result in zip(originals, [made[0], made[1], *made[3:]], strict=True):
        with Image.open(path) as original, Image.open(result.renditions["thumb"]["path"]) as thumb:
            expected = original.convert("RGB").getpixel((0, 0))
            got = thumb.convert("RGB").getpixel((10, 10))
        assert isinstance(expected, tuple) and isinstance(got, tuple)
        assert max(abs(x - y) for x, y in zip(expected, got, strict=True)) < 12


@needs_corpus
@pytest.mark.parametrize("shape", ["landscape", "portrait"])
def test_all_eight_orientations_look_like_the_upright_original(shape: str) -> None:
    """The same picture stored eight ways (mirrored, turned) must come out identical."""
    folder = EXIF_CORPUS / "exif-py/jpg/orientation"
    if not (folder / f"{shape}_1.jpg").exists():
        pytest.skip("orientation samples are not in this corpus")

    def small(n: int) -> np.ndarray:  # type: ignore[type-arg]
        image = open_upright(folder / f"{shape}_{n}.jpg").convert("L").resize((64, 64))
        return np.asarray(image, dtype=np.float64)

    upright = small(1)
    for n in range(2, 9):
        diff = float(np.abs(upright - small(n)).mean())
        assert diff < 12, f"{shape}_{n} is not turned like {shape}_1 (mean difference {diff:.1f})"
    # and the check can tell: the upright picture mirrored is far from itself
    assert float(np.abs(upright - upright[:, ::-1]).mean()) > 12


@pytest.mark.parametrize(
    ("mode", "fmt", "extra"),
    [
        ("CMYK", "JPEG", {}),
        ("L", "JPEG", {}),
        ("I;16", "PNG", {}),
        ("RGBA", "PNG", {}),
        ("P", "PNG", {"transparency": 0}),
        ("RGB", "WEBP", {}),
        ("1", "TIFF", {}),
    ],
)
def test_every_colour_mode_becomes_a_clean_rgb_jpeg(
    tmp_path: Path, mode: str, fmt: str, extra: dict[str, int]
) -> None:
    base = Image.linear_gradient("L").resize((600, 400))
    image = base.convert(mode) if mode != "I;16" else base.point(lambda v: v * 256).convert("I;16")
    source = tmp_path / "odd"
    image.save(source, fmt, **extra)
    result = process_photo(source, tmp_path / "out")
    assert result.error is None, result.error
    check_renditions(result.renditions)
    with Image.open(result.renditions["web"]["path"]) as web:
        assert web.mode == "RGB"


def test_iphone_style_mpo_jpeg_with_a_second_frame(tmp_path: Path) -> None:
    """iPhones write MPO (a JPEG followed by more pictures); the first frame is the photo."""
    photo = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    source = tmp_path / "IMG_0420.JPG"
    photo.save(source, "MPO", save_all=True, append_images=[photo.resize((640, 480))])
    with Image.open(source) as check:
        assert check.format == "MPO"
    decoded = open_upright(source)
    assert decoded.size == (2000, 1500)  # the reduced-scale decode works for MPO too
    decoded.close()
    result = process_photo(source, tmp_path / "out")
    assert result.error is None
    check_renditions(result.renditions)


def _large_asymmetric_jpeg(
    path: Path, orientation: int, *, gps: bool = False, **save: object
) -> Path:
    """A 3600×2160 JPEG (big enough for the scaled decode) whose every turn looks different."""
    image = Image.new("RGB", (3600, 2160), (30, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1400, 500), fill=(230, 200, 40))  # a wide block top left
    draw.rectangle((3300, 1200, 3599, 2159), fill=(200, 30, 30))  # a tall one bottom right
    exif = Image.Exif()
    exif[0x0112] = orientation
    if gps:
        where = exif.get_ifd(0x8825)
        where[1], where[2], where[3], where[4] = "S", (10.0, 10.0, 37.92), "E", (123.0, 36.0, 25.2)
    image.save(path, "JPEG", quality=90, exif=exif, **save)
    return path


@pytest.mark.parametrize("orientation", range(1, 9))
def test_turned_jpegs_take_the_scaled_decode_with_pillows_pixels(
    tmp_path: Path, orientation: int
) -> None:
    """Upright or turned (phones store most photos turned, orientation 6 or 8), a large JPEG
    is decoded at reduced scale straight into an array, then turned: exactly Pillow's pixels."""
    source = _large_asymmetric_jpeg(tmp_path / "turned.jpg", orientation)
    pixels = fast_jpeg_pixels(source)
    assert pixels is not None  # not left to the careful path
    assert pixels.shape == ((1800, 1080, 3) if orientation >= 5 else (1080, 1800, 3))
    assert np.array_equal(pixels, np.asarray(open_upright(source)))
    assert np.array_equal(load_pixels(source), pixels)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_turned_phone_photo_comes_out_upright_and_clean(tmp_path: Path, orientation: int) -> None:
    source = _large_asymmetric_jpeg(tmp_path / "IMG_0007.jpg", orientation, gps=True)
    assert fast_jpeg_pixels(source) is not None
    result = process_photo(source, tmp_path / "out")
    assert result.error is None
    assert result.metadata is not None and result.metadata.gps_lat is not None  # private copy
    check_renditions(result.renditions)  # sizes, and no EXIF, GPS or other metadata
    sizes = {name: (r["width"], r["height"]) for name, r in result.renditions.items()}
    turned = orientation in (6, 8)
    assert sizes["web"] == ((1080, 1800) if turned else (1800, 1080))
    assert sizes["thumb"] == ((192, 320) if turned else (320, 192))
    # the yellow block, top left of the stored picture, lands where the turn puts it
    corner = {3: (1750, 1050), 6: (1050, 50), 8: (50, 1750)}[orientation]
    with Image.open(result.renditions["web"]["path"]) as web:
        r, g, b = web.convert("RGB").getpixel(corner)
    assert r > 180 and g > 150 and b < 100


@pytest.mark.parametrize("orientation", range(1, 9))
def test_scaled_jpeg_decode_turns_like_the_careful_path(tmp_path: Path, orientation: int) -> None:
    """Every orientation's renditions match the careful path's picture."""
    source = _large_asymmetric_jpeg(tmp_path / "turned.jpg", orientation)
    result = process_photo(source, tmp_path / "out")
    assert result.error is None
    expected = np.asarray(open_upright(source), dtype=np.int16)
    with Image.open(result.renditions["web"]["path"]) as web:
        assert web.size == (expected.shape[1], expected.shape[0])
        difference = np.abs(np.asarray(web.convert("RGB"), dtype=np.int16) - expected)
    assert difference.mean() < 2  # re-encoding only; a wrong turn differs by tens


@needs_corpus
def test_large_jpeg_with_a_wide_gamut_profile_is_converted(tmp_path: Path) -> None:
    with Image.open(EXIF_CORPUS / "mde/heic/Issue_263_dotnet.heic") as heic:
        profile = heic.info.get("icc_profile")
    source = _large_asymmetric_jpeg(tmp_path / "p3.jpg", 1, icc_profile=profile)
    result = process_photo(source, tmp_path / "out")
    assert result.error is None
    converted = open_upright(source).getpixel((900, 800))  # the careful path, checked above
    assert isinstance(converted, tuple) and converted != (30, 90, 160)
    with Image.open(result.renditions["web"]["path"]) as web:
        assert "icc_profile" not in web.info
        sea = web.convert("RGB").getpixel((900, 800))
    assert isinstance(sea, tuple)
    assert max(abs(x - y) for x, y in zip(sea, converted, strict=True)) <= 3


def test_refuses_a_large_truncated_jpeg(tmp_path: Path) -> None:
    whole = _large_asymmetric_jpeg(tmp_path / "whole.jpg", 1)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert process_photo(cut, tmp_path / "out").error == "truncated"


def test_scaled_jpeg_decode_gives_pillows_pixels_exactly(tmp_path: Path) -> None:
    source = _large_asymmetric_jpeg(tmp_path / "upright.jpg", 1)
    pixels = load_pixels(source)
    assert pixels.shape == (1080, 1800, 3)  # half scale, as Pillow's draft
    assert np.array_equal(pixels, np.asarray(open_upright(source)))


def test_a_rendition_is_replaced_whole_never_rewritten_under_a_reader(tmp_path: Path) -> None:
    """Renditions are shared by content and read by publishers: running again must not
    truncate a file someone is reading (it is replaced by a complete new one)."""
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    Image.new("RGB", (900, 600), (200, 40, 40)).save(first)
    Image.effect_noise((900, 600), 80).convert("RGB").save(second)
    out = tmp_path / "shared"
    web = Path(str(process_photo(first, out).renditions["web"]["path"]))
    before = web.read_bytes()
    with web.open("rb") as reader:
        process_photo(second, out)
        assert reader.read() == before  # the reader still has the whole first file
    assert web.read_bytes() != before
    assert web.stat().st_mode & 0o444 == 0o444  # readable by whoever serves public files
    assert sorted(p.name for p in out.iterdir()) == [f"{n}.jpg" for n in sorted(RENDITION_NAMES)]


RENDITION_NAMES = ("web", "feed", "square", "thumb")


def test_photos_decoded_in_parallel_share_one_pixel_budget(tmp_path: Path) -> None:
    """Ten large PNGs of a story once decoded side by side (gigabytes); with a budget of five
    megapixels, photos of three megapixels take turns, and every one is still processed."""
    paths = []
    for number in range(4):
        path = tmp_path / f"layar-{number}.png"
        Image.new("RGB", (2000, 1500), (40 * number, 90, 120)).save(path)
        paths.append(path)
    budget = DecodeBudget(5_000_000)
    results = process_many(paths, tmp_path / "out", workers=4, budget=budget)
    assert [result.error for result in results] == [None] * 4
    assert budget.peak == 3_000_000 and budget.held == 0
    roomy = DecodeBudget(100_000_000)
    process_many(paths, tmp_path / "again", workers=4, budget=roomy)
    assert roomy.peak > 3_000_000  # without the limit they do overlap


def test_a_photo_costing_more_than_the_budget_runs_alone() -> None:
    budget = DecodeBudget(10)
    with budget.hold(4):
        assert budget.held == 4
    with budget.hold(25):
        assert budget.held == 10  # capped at the budget: nothing else fits beside it
    assert budget.held == 0 and budget.peak == 10


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    huge = tmp_path / "huge.jpg"
    with huge.open("wb") as out:
        out.write(b"\xff\xd8\xff")
        out.truncate(MAX_FILE_BYTES + 1)  # sparse: no 100 MB written to disk
    assert process_photo(huge, tmp_path / "out").error == "too_big"
