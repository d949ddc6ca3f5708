"""Photo metadata: capture time, GPS, orientation and camera, read the way exiftool reads them.

exifread is asked first; Pillow's EXIF reader fills what exifread misses (WebP, some PNG and
HEIC layouts). HEIC/HEIF opens through pillow-heif. Nothing here raises for a bad file: the
result's `error` says why it could not be read.
"""

from __future__ import annotations

import logging
import math
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import exifread
import pillow_heif
from PIL import Image, UnidentifiedImageError

logger = logging.getLogger(__name__)

pillow_heif.register_heif_opener()

MAX_PIXELS = 250_000_000  # a 200 MP phone photo is 16320×12240; beyond this is a bomb
# Pillow's own bomb check would refuse a 200 MP photo (its default is ~179 MP); ours is the
# declared size checked from the header before anything is decoded (pipeline.images).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# exifread logs every odd file at WARNING through the root logger; we report errors ourselves.
logging.getLogger("exifread").setLevel(logging.ERROR)

# EXIF tag numbers (Pillow's reader) and the exifread names of the same tags.
_IFD_EXIF = 0x8769
_IFD_GPS = 0x8825
_PILLOW_IFD0 = {"make": 0x010F, "model": 0x0110, "software": 0x0131, "orientation": 0x0112}
_PILLOW_EXIF = {"dto": 0x9003, "dto_offset": 0x9011, "dtd": 0x9004, "dtd_offset": 0x9012}
_PILLOW_GPS = {"lat_ref": 1, "lat": 2, "lon_ref": 3, "lon": 4, "alt_ref": 5, "alt": 6}
_EXIFREAD = {
    "make": "Image Make",
    "model": "Image Model",
    "software": "Image Software",
    "orientation": "Image Orientation",
    "dto": "EXIF DateTimeOriginal",
    "dto_offset": "EXIF OffsetTimeOriginal",
    "dtd": "EXIF DateTimeDigitized",
    "dtd_offset": "EXIF OffsetTimeDigitized",
    "lat_ref": "GPS GPSLatitudeRef",
    "lat": "GPS GPSLatitude",
    "lon_ref": "GPS GPSLongitudeRef",
    "lon": "GPS GPSLongitude",
    "alt_ref": "GPS GPSAltitudeRef",
    "alt": "GPS GPSAltitude",
}
_HEIF_SCAN_BYTES = 1 << 22  # the meta box sits well inside the first 4 MiB
_DATE = re.compile(r"^\s*(\d{4}):(\d\d):(\d\d)[ T](\d\d):(\d\d):(\d\d)")
_OFFSET = re.compile(r"^[+-]\d\d:\d\d$")
# exiftool pulls numbers out of any garbage the same way (Image::ExifTool::GPS::ToDegrees).
_NUMBER = re.compile(r"[+-]?(?=\d|\.\d)\d*(?:\.\d*)?(?:[Ee][+-]\d+)?")


@dataclass(frozen=True)
class PhotoMetadata:
    """What a photo file says about itself; coordinates are private (moderators only)."""

    file: str
    width: int | None = None
    height: int | None = None
    orientation: int | None = None  # EXIF 1..8 as written; None when absent
    gps_lat: float | None = None  # signed decimal degrees; None when absent or impossible
    gps_lon: float | None = None
    gps_alt: float | None = None  # metres, negative below sea level
    taken_at: str | None = None  # ISO-8601, with offset when the camera wrote one
    make: str | None = None
    model: str | None = None
    software: str | None = None
    error: str | None = None  # why the file could not be read
    flags: list[str] = field(default_factory=list)  # gps_zero, gps_impossible, ...

    def as_json(self) -> dict[str, Any]:
        """The public shape printed by `pesisir exif --json`."""
        return {
            "file": self.file,
            "width": self.width,
            "height": self.height,
            "orientation": self.orientation,
            "gps_lat": self.gps_lat,
            "gps_lon": self.gps_lon,
            "taken_at": self.taken_at,
            "make": self.make,
            "model": self.model,
            "error": self.error,
        }


def read_metadata(path: Path) -> PhotoMetadata:
    """Read one file's metadata; never raises for a bad file (see `error`)."""
    name = str(path)
    try:
        if path.stat().st_size == 0:
            return PhotoMetadata(file=name, error="empty")
    except OSError as exc:
        return PhotoMetadata(file=name, error=f"unreadable: {exc.strerror or exc}")
    raw = _read_exifread(path)
    try:
        with Image.open(path) as image:
            width, height = image.size
            if image.format == "HEIF":
                width, height = _heif_coded_size(path, width, height)
            elif image.format == "TIFF":
                # Pillow reports a TIFF's size already turned by its orientation; the coded
                # size is what EXIF orientation (and exiftool) refer to.
                tags = getattr(image, "tag_v2", {})
                width, height = int(tags.get(256, width)), int(tags.get(257, height))
            _fill_from_pillow(raw, image)
        return _interpret(name, width, height, raw)
    except UnidentifiedImageError:
        return PhotoMetadata(file=name, error="not_an_image")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return PhotoMetadata(file=name, error="decompression_bomb")
    except Exception as exc:  # noqa: BLE001 - one bad file must never stop the others
        logger.info("cannot read %s: %s", name, exc)
        return PhotoMetadata(file=name, error=f"unreadable: {exc}")


def _read_exifread(path: Path) -> dict[str, Any]:
    """exifread's values by our field names (empty when exifread finds nothing or fails)."""
    try:
        with path.open("rb") as handle:
            tags = exifread.process_file(handle, details=False, extract_thumbnail=False)
    except Exception as exc:  # noqa: BLE001 - exifread raises many kinds on odd files
        logger.debug("exifread failed on %s: %s", path, exc)
        return {}
    raw: dict[str, Any] = {}
    for key, tag_name in _EXIFREAD.items():
        tag = tags.get(tag_name)
        if tag is None:
            continue
        values = tag.values
        if isinstance(values, str | bytes):
            raw[key] = values
        elif isinstance(values, list) and values:
            raw[key] = [_ratio(v) for v in values] if key in ("lat", "lon", "alt") else values[0]
    return raw


def _ratio(value: Any) -> float:
    """A rational as a float; inf/nan for a zero denominator (exiftool's 'inf'/'undef')."""
    num = getattr(value, "num", None)
    den = getattr(value, "den", None)
    if num is None or den is None:
        return float(value)
    if den == 0:
        return math.nan if num == 0 else math.copysign(math.inf, num)
    return float(num) / float(den)


def _fill_from_pillow(raw: dict[str, Any], image: Image.Image) -> None:
    """Fill the fields exifread did not find from Pillow's EXIF reader."""
    wanted = set(_EXIFREAD) - set(raw)
    if not wanted:
        return
    try:
        exif = image.getexif()  # loads a PNG's late eXIf chunk into info as a side effect
        if isinstance(image.info.get("exif"), bytes):
            # Only the EXIF block: Pillow also borrows an orientation from XMP, which exiftool
            # (and this reader) report separately from EXIF.
            exif = Image.Exif()
            exif.load(image.info["exif"])
        elif image.format != "TIFF":
            exif.pop(_PILLOW_IFD0["orientation"], None)
    except Exception as exc:  # noqa: BLE001 - a broken EXIF block is no reason to refuse
        logger.debug("Pillow could not read EXIF: %s", exc)
        return
    if image.format == "HEIF" and image.info.get("original_orientation"):
        # pillow-heif resets EXIF orientation to 1 once libheif has turned the pixels upright
        exif[_PILLOW_IFD0["orientation"]] = image.info["original_orientation"]
    sources = (
        (_PILLOW_IFD0, exif),
        (_PILLOW_EXIF, _sub_ifd(exif, _IFD_EXIF)),
        (_PILLOW_GPS, _sub_ifd(exif, _IFD_GPS)),
    )
    for names, ifd in sources:
        for key, number in names.items():
            if key in wanted and number in ifd:
                value = ifd[number]
                if key in ("lat", "lon", "alt"):
                    items = value if isinstance(value, tuple | list) else (value,)
                    try:
                        value = [_ratio_pillow(v) for v in items]
                    except (TypeError, ValueError):
                        value = str(value)
                raw[key] = value


def _heif_head(path: Path) -> bytes:
    """The first bytes of a HEIF file, where its 'meta' box (item properties) lives."""
    try:
        with path.open("rb") as handle:
            return handle.read(_HEIF_SCAN_BYTES)
    except OSError:
        return b""


def _heif_coded_size(path: Path, width: int, height: int) -> tuple[int, int]:
    """The primary image's coded size (its 'ispe' box), as exiftool reports it.

    libheif applies the container's rotation (irot) before Pillow sees the pixels; EXIF
    orientation describes the coded grid, so width/height must describe it too. The largest
    'ispe' is the primary image (tiles, thumbnails and depth maps are smaller); it is used only
    when it is the decoded size, possibly turned by 90 degrees.
    """
    data = _heif_head(path)
    best = (0, 0)
    start = data.find(b"ispe")
    while start != -1 and start + 16 <= len(data):
        w, h = struct.unpack(">II", data[start + 8 : start + 16])
        if w * h > best[0] * best[1]:
            best = (w, h)
        start = data.find(b"ispe", start + 4)
    if best in ((width, height), (height, width)):
        return best
    return width, height


def heif_container_turns(path: Path) -> bool:
    """True when a HEIF file rotates or mirrors its image itself (irot/imir boxes).

    Then libheif has already turned the pixels and the EXIF orientation must not be applied
    again (iPhones write both). Some Android phones write only the EXIF orientation.
    """
    head = _heif_head(path)
    return b"irot" in head or b"imir" in head


def _sub_ifd(exif: Image.Exif, tag: int) -> dict[int, Any]:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:  # noqa: BLE001 - a broken pointer means the IFD is simply absent
        return {}


def _ratio_pillow(value: Any) -> float:
    """Pillow's IFDRational (nan for any zero denominator) or a plain number, as float."""
    numerator = getattr(value, "numerator", None)
    denominator = getattr(value, "denominator", None)
    if numerator is not None and denominator == 0:
        return math.nan if numerator == 0 else math.copysign(math.inf, numerator)
    return float(value)


def _interpret(name: str, width: int, height: int, raw: dict[str, Any]) -> PhotoMetadata:
    flags: list[str] = []
    lat = _coordinate(raw, "lat", "S", 90.0, flags)
    lon = _coordinate(raw, "lon", "W", 180.0, flags)
    if lat is None or lon is None:
        lat = lon = None
    elif lat == 0.0 and lon == 0.0:
        flags.append("gps_zero")  # "Null Island": a receiver without a fix, not a place
        lat = lon = None
    taken = _iso(raw.get("dto"), raw.get("dto_offset")) or _iso(
        raw.get("dtd"), raw.get("dtd_offset")
    )
    return PhotoMetadata(
        file=name,
        width=width,
        height=height,
        orientation=_orientation(raw.get("orientation")),
        gps_lat=lat,
        gps_lon=lon,
        gps_alt=_altitude(raw) if lat is not None else None,
        taken_at=taken,
        make=_text(raw.get("make")) or None,
        model=_text(raw.get("model")) or None,
        software=_text(raw.get("software")) or None,
        flags=flags,
    )


def _coordinate(
    raw: dict[str, Any], key: str, negative_ref: str, limit: float, flags: list[str]
) -> float | None:
    """Degrees as exiftool computes them: d + (m + s/60)/60, made positive, signed by the ref."""
    values = raw.get(key)
    if values is None:
        return None
    if isinstance(values, str | bytes):
        text = values.decode("latin-1") if isinstance(values, bytes) else values
        if re.search(r"\b(inf|undef|nan)\b", text, re.IGNORECASE):
            values = [math.nan]
        else:
            values = [float(n) for n in _NUMBER.findall(text)]
    try:
        numbers = [float(v) for v in values[:3]]
    except (TypeError, ValueError):
        numbers = []
    if not numbers or any(not math.isfinite(n) for n in numbers):
        _flag(flags, "gps_invalid")  # zero denominators: exiftool reads no position either
        return None
    if key + "_ref" not in raw:
        _flag(flags, "gps_no_ref")  # which hemisphere is unknown: better no place than a wrong one
        return None
    degrees, minutes, seconds = [*numbers, 0.0, 0.0][:3]
    value = abs(degrees + (minutes + seconds / 60) / 60)
    if _text(raw[key + "_ref"], upper=True).startswith(negative_ref):
        value = -value
    if value > limit or value < -limit:
        _flag(flags, "gps_impossible")
        return None
    return value


def _altitude(raw: dict[str, Any]) -> float | None:
    values = raw.get("alt")
    if not isinstance(values, list) or not values or not math.isfinite(values[0]):
        return None
    below = raw.get("alt_ref") in (1, b"\x01", "1")
    return -abs(values[0]) if below else float(values[0])


def _orientation(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= 8 else None


def _iso(date: Any, offset: Any) -> str | None:
    """EXIF "YYYY:MM:DD HH:MM:SS" (and an OffsetTime tag) as ISO-8601; None for blanks/zeros."""
    match = _DATE.match(_text(date))
    if not match or match.group(1) == "0000" or match.group(2) == "00":
        return None
    y, mo, d, h, mi, s = match.groups()
    iso = f"{y}-{mo}-{d}T{h}:{mi}:{s}"
    zone = _text(offset)
    if _OFFSET.match(zone):
        iso += zone
    return iso


def _text(value: Any, *, upper: bool = False) -> str:
    """A tag value as clean text ('' when absent)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value).strip().strip("\x00").strip()
    return text.upper() if upper else text


def _flag(flags: list[str], flag: str) -> None:
    if flag not in flags:
        flags.append(flag)
