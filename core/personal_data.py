"""Personal data in a text: phone numbers, NIK, e-mail addresses (and links), found with their
spans and masked. The one owner of what counts as personal data, for the pipeline's flags, the
public text of a story, the moderators' highlights and the checks before anything is published.

Policy (README, Privacy): phone numbers, NIK and e-mail addresses never reach a post, an export
or a brief; a link in the contributor's text is masked too by default, but a moderator may put
one into the public text on purpose (a petition, a news article).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.i18n import t

#: Kinds that are someone's personal data: never published, whoever wrote them.
PERSONAL_KINDS = frozenset({"phone", "nik", "email"})
#: Kinds masked in a contributor's text by default (links too: they may identify a person).
MASKED_KINDS = PERSONAL_KINDS | {"link"}

# Province codes in Indonesian NIK/Kemendagri numbering (Aceh 11 ... Papua Barat Daya 96).
PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53}
    | {61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96}
)

_NIK = re.compile(r"(?<![\d+])(\d{16})(?!\d)")
# Mobile: +62 / 62 / 0, then 8xx, then 7-9 more digits, in groups split by spaces, dots or dashes.
_MOBILE = re.compile(r"(?<![\w+])(?:\+62|62|0)[\s.-]?\(?8\d{1,2}\)?(?:[\s.-]?\d){6,9}(?![\d])")
# Landline with area code, e.g. (0380) 821234 or 0380-821234 (Kupang is 0380).
_LANDLINE = re.compile(r"(?<![\w+])(?:\(0\d{2,3}\)\s?|0\d{2,3}[\s-])\d{5,8}(?!\d)")
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+"
    r"|(?<![@\w.])(?:[a-z0-9-]+\.)+(?:com|id|net|org|ly|me|io|co|info|xyz|link|site|online)"
    r"(?:/[^\s<>\"']*)?",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)]}'\""


@dataclass(frozen=True, slots=True)
class Found:
    """Something found in a text, with its character span (end exclusive)."""

    kind: str  # phone | nik | email | link (the pipeline adds `spam`, spanning the text)
    start: int
    end: int
    text: str


def plausible_nik(digits: str) -> bool:
    """Whether 16 digits look like a NIK: province code, regency, birth date, serial."""
    if len(digits) != 16 or not digits.isdigit():
        return False
    province, regency, district = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    day, month = int(digits[6:8]), int(digits[8:10])
    serial = int(digits[12:16])
    if province not in PROVINCE_CODES or regency == 0 or district == 0 or serial == 0:
        return False
    if day > 40:  # women: day + 40
        day -= 40
    return 1 <= day <= 31 and 1 <= month <= 12


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in taken)


def find(text: str) -> list[Found]:
    """Personal data and links in the text, in order of position, without overlaps."""
    flags: list[Found] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, start: int, end: int) -> None:
        while end > start and text[end - 1] in _TRAILING:
            end -= 1
        if end > start and not _overlaps((start, end), taken):
            taken.append((start, end))
            flags.append(Found(kind, start, end, text[start:end]))

    for m in _EMAIL.finditer(text):
        add("email", m.start(), m.end())
    for m in _URL.finditer(text):
        add("link", m.start(), m.end())
    for m in _NIK.finditer(text):
        if plausible_nik(m.group(1)):
            add("nik", m.start(1), m.end(1))
    for pattern in (_MOBILE, _LANDLINE):
        for m in pattern.finditer(text):
            digits = re.sub(r"\D", "", m.group())
            if 9 <= len(digits) <= 15:
                add("phone", m.start(), m.end())
    return sorted(flags, key=lambda f: f.start)


def personal(text: str) -> list[Found]:
    """The personal data (phone numbers, NIK, e-mail addresses) in a text."""
    return [found for found in find(text) if found.kind in PERSONAL_KINDS]


def mask(text: str, *, kinds: Iterable[str] = MASKED_KINDS, lang: str | None = "id") -> str:
    """The text with what `kinds` names masked: "[nomor HP]", "[NIK]", "[email]", "[tautan]"."""
    wanted = frozenset(kinds)
    out = text
    for found in sorted(find(text), key=lambda f: -f.start):
        if found.kind in wanted:
            out = out[: found.start] + t(lang, f"core.mask.{found.kind}") + out[found.end :]
    return out
