"""Small test pictures made at run time: JPEGs with or without camera GPS (EXIF)."""

from __future__ import annotations

import io
import zlib
from fractions import Fraction

from PIL import Image, ImageDraw

#: Oesapa, Kupang (NTT): the coast where the demo's stories happen.
OESAPA = (-10.1483, 123.6341)

_GPS_IFD = 0x8825
_MAKE, _MODEL, _DATETIME_ORIGINAL, _EXIF_IFD = 0x010F, 0x0110, 0x9003, 0x8769


def _dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
    value = abs(value)
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    seconds = Fraction(round((minutes_full - minutes) * 60 * 10000), 10000)
    return Fraction(degrees), Fraction(minutes), seconds


def jpeg(
    *,
    color: tuple[int, int, int] = (40, 110, 160),
    size: tuple[int, int] = (640, 480),
    label: str = "",
    gps: tuple[float, float] | None = None,
    taken_at: str = "2026:11:20 06:15:00",
) -> bytes:
    """A JPEG picture; with `gps` it carries camera EXIF (make, time, GPS) like a phone photo."""
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, size[1] * 2 // 3, size[0], size[1]), fill=(200, 180, 120))
    # A few shapes placed by the label and colour, so different pictures look different
    # (also to a perceptual hash, which sees only coarse light and dark).
    seed = zlib.crc32(f"{label}{color}".encode())
    for shape in range(3):
        x = (seed >> (shape * 8)) % max(1, size[0] - size[0] // 4)
        y = (seed >> (shape * 5 + 3)) % max(1, size[1] * 2 // 3 - size[1] // 4)
        shade = 40 + (seed >> shape) % 180
        draw.ellipse((x, y, x + size[0] // 4, y + size[1] // 4), fill=(shade, shade, shade))
    if label:
        draw.text((12, 12), label, fill=(255, 255, 255))
    exif = Image.Exif()
    if gps is not None:
        lat, lon = gps
        exif[_MAKE], exif[_MODEL] = "Samsung", "Galaxy A05"
        exif.get_ifd(_EXIF_IFD)[_DATETIME_ORIGINAL] = taken_at
        exif.get_ifd(_GPS_IFD).update(
            {
                1: "S" if lat < 0 else "N",
                2: _dms(lat),
                3: "W" if lon < 0 else "E",
                4: _dms(lon),
            }
        )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, exif=exif.tobytes())
    return out.getvalue()
