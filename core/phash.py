"""Perceptual hashes split into bands, so near-duplicate photos are found through an index.

Two 64-bit hashes within 6 differing bits agree exactly on at least one of 7 bands (pigeonhole:
6 differing bits touch at most 6 of them), so "nearly the same photo" becomes "the same value in
one of 7 indexed columns", then an exact count of differing bits on those few candidates
(multi-index hashing). The bands are stored beside the hash on `media` and set only here.
"""

from __future__ import annotations

from typing import Any

#: Bits of each band, 7 bands covering the 64 bits.
BAND_BITS = (10, 9, 9, 9, 9, 9, 9)
BAND_COLUMNS = tuple(f"phash_band{number}" for number in range(len(BAND_BITS)))


def bands(phash: str) -> tuple[int, ...]:
    """The band values of a 16-hex-digit perceptual hash."""
    value, found, shift = int(phash, 16), [], 64
    for bits in BAND_BITS:
        shift -= bits
        found.append((value >> shift) & ((1 << bits) - 1))
    return tuple(found)


def set_phash(media: Any, phash: str | None) -> None:
    """Set a media row's perceptual hash and its bands (None clears both)."""
    media.phash = phash
    values = bands(phash) if phash else (None,) * len(BAND_COLUMNS)
    for column, value in zip(BAND_COLUMNS, values, strict=True):
        setattr(media, column, value)
