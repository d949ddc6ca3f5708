"""Read a JPEG's segments, to prove a file carries no metadata (searching the bytes for "GPS"
is not proof: compressed image data may hold any three bytes)."""

from __future__ import annotations

import struct

_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn have no length
_EOI, _SOS = 0xD9, 0xDA


def segments(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """(marker, payload) of every segment up to the end-of-image marker, and where it ends."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    found: list[tuple[int, bytes]] = []
    position = 2
    while position < len(data):
        assert data[position] == 0xFF, f"bad marker at {position}"
        marker = data[position + 1]
        position += 2
        if marker == _EOI:
            return found, position
        if marker in _STANDALONE or marker == 0xFF:
            continue
        (length,) = struct.unpack(">H", data[position : position + 2])
        found.append((marker, data[position + 2 : position + length]))
        position += length
        if marker == _SOS:  # entropy-coded data: skip to the next real marker
            while position + 1 < len(data):
                if data[position] == 0xFF and data[position + 1] not in _STANDALONE | {0x00}:
                    break
                position += 1
    raise AssertionError("no end-of-image marker")


def metadata_in(data: bytes) -> list[str]:
    """Names of what the file carries beyond the picture: APP1 (EXIF/XMP), APP2 (ICC, MPF), ...,
    comments, and anything after the end-of-image marker (a second picture, a thumbnail)."""
    found = []
    parts, end = segments(data)
    for marker, payload in parts:
        if 0xE1 <= marker <= 0xEF:
            found.append(f"APP{marker - 0xE0}:{payload[:12]!r}")
        elif marker == 0xE0 and not payload.startswith(b"JFIF\x00"):
            found.append(f"APP0:{payload[:12]!r}")
        elif marker == 0xFE:
            found.append("COM")
    if data[end:].strip(b"\x00"):
        found.append("data after end of image")
    return found
