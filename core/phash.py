"""Near-duplicate photos through an index: a perceptual hash in four quarters.

A 64-bit hash is kept as 16 hex digits; each quarter (4 digits, 16 bits) has an expression index
`substr(phash, start, 4)` beside the hash and the story (migration 0009), so no extra column
holds it. Two hashes within 6 differing bits differ in at most one bit of at least one quarter
(pigeonhole: two or more in every quarter would make 8), so the candidates are the photos whose
quarter equals one of 17 values (the quarter itself and its 16 one-bit neighbours) in one of
four indexes: 68 index probes that read a few thousand rows of a million stories, never the
table. The exact count of differing bits then decides (multi-index hashing).
"""

from __future__ import annotations

#: Hex digits of the hash in each indexed quarter, and how many quarters there are.
QUARTER_DIGITS = 4
QUARTERS = 4
#: Bits in which a quarter of a near-duplicate may still differ (see the module docstring).
QUARTER_RADIUS = 1


def quarter_sql(number: int, column: str = "media.phash") -> str:
    """The SQL of one quarter, written exactly as its index is (SQLite matches it by text)."""
    return f"substr({column}, {number * QUARTER_DIGITS + 1}, {QUARTER_DIGITS})"


def quarter_probes(phash: str) -> list[tuple[int, list[str]]]:
    """For each quarter of a hash: the values a near-duplicate's same quarter may have."""
    probes = []
    for number in range(QUARTERS):
        start = number * QUARTER_DIGITS
        value = int(phash[start : start + QUARTER_DIGITS], 16)
        flipped = [value ^ (1 << bit) for bit in range(QUARTER_DIGITS * 4)]
        probes.append((number, [f"{v:0{QUARTER_DIGITS}x}" for v in (value, *flipped)]))
    return probes
