"""Perceptual hashes of pictures: 64-bit DCT hashes (ImageHash `phash`) as 16 hex digits.

Apart from `pipeline.duplicates` (which looks them up in the database) so that making
renditions imports no database code: a photo worker process starts in a fraction of the time.
"""

from __future__ import annotations

import imagehash
from PIL import Image


def perceptual_hash(image: Image.Image) -> str:
    """The 64-bit perceptual hash of an (upright) image, as 16 hex digits."""
    return str(imagehash.phash(image))


def phash_distance(first: str, second: str) -> int:
    """Bits that differ between two hex perceptual hashes."""
    return int(imagehash.hex_to_hash(first) - imagehash.hex_to_hash(second))
