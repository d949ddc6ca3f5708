"""Build EXIF blocks byte by byte, to write the odd GPS shapes real devices produce."""

from __future__ import annotations

import io
import struct
from pathlib import Path

from PIL import Image

ASCII, SHORT, LONG, RATIONAL, SRATIONAL = 2, 3, 4, 5, 10
Entry = tuple[int, int, int, bytes]  # tag, type, count, payload


def ascii_entry(tag: int, text: str) -> Entry:
    raw = text.encode() + b"\0"
    return (tag, ASCII, len(raw), raw)


def short_entry(tag: int, value: int) -> Entry:
    return (tag, SHORT, 1, struct.pack("<H", value))


def rational_entry(tag: int, pairs: list[tuple[int, int]], *, signed: bool = False) -> Entry:
    fmt = "<ii" if signed else "<II"
    payload = b"".join(struct.pack(fmt, num, den) for num, den in pairs)
    return (tag, SRATIONAL if signed else RATIONAL, len(pairs), payload)


def _ifd(entries: list[Entry], start: int) -> bytes:
    data_start = start + 2 + 12 * len(entries) + 4
    head, data = struct.pack("<H", len(entries)), b""
    for tag, kind, count, payload in sorted(entries):
        if len(payload) <= 4:
            head += struct.pack("<HHI", tag, kind, count) + payload.ljust(4, b"\0")
        else:
            head += struct.pack("<HHII", tag, kind, count, data_start + len(data))
            data += payload + (b"\0" if len(payload) % 2 else b"")
    return head + struct.pack("<I", 0) + data


def exif_block(ifd0: list[Entry], exif: list[Entry], gps: list[Entry]) -> bytes:
    """A little-endian TIFF/EXIF block (with the "Exif\\0\\0" prefix JPEG APP1 wants)."""
    pointers = []
    if exif:
        pointers.append(0x8769)
    if gps:
        pointers.append(0x8825)
    entries = ifd0 + [(tag, LONG, 1, b"\0\0\0\0") for tag in pointers]
    first = _ifd(entries, 8)
    offset = 8 + len(first)
    subs, patched = b"", list(ifd0)
    for tag, sub in ((0x8769, exif), (0x8825, gps)):
        if sub:
            patched.append((tag, LONG, 1, struct.pack("<I", offset + len(subs))))
            subs += _ifd(list(sub), offset + len(subs))
    body = b"II*\0" + struct.pack("<I", 8) + _ifd(patched, 8) + subs
    return b"Exif\0\0" + body


def jpeg_with_exif(path: Path, block: bytes, size: tuple[int, int] = (64, 48)) -> Path:
    """A small real JPEG carrying `block` as its EXIF."""
    image = Image.effect_noise(size, 40).convert("RGB")  # noise: scan data worth cutting
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=block)
    path.write_bytes(buffer.getvalue())
    return path
