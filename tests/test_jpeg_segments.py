"""The test helper that proves "no metadata" finds metadata when it is there."""

from __future__ import annotations

import io

from PIL import Image

from tests.jpeg_segments import metadata_in


def _jpeg(**save: object) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 120, 200)).save(buffer, "JPEG", **save)
    return buffer.getvalue()


def test_finds_exif_icc_comments_and_trailing_pictures() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Camera"
    assert metadata_in(_jpeg(exif=exif.tobytes()))[0].startswith("APP1:b'Exif")
    assert metadata_in(_jpeg(icc_profile=b"\x00" * 128))[0].startswith("APP2:")
    assert metadata_in(_jpeg(comment=b"dibuat di Oesapa")) == ["COM"]
    assert metadata_in(_jpeg() + _jpeg()) == ["data after end of image"]
    assert metadata_in(_jpeg()) == []
