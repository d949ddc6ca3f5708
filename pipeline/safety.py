"""Safety flags with spans: phone numbers, NIK, e-mail, links; spam scoring; PII redaction."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from core.i18n import t

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
class Flag:
    """Something found in a text, with its character span (end exclusive)."""

    kind: str  # phone | nik | email | link | spam
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


def find_flags(text: str) -> list[Flag]:
    """PII and links in the text, in order of position, without overlaps."""
    flags: list[Flag] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, start: int, end: int) -> None:
        while end > start and text[end - 1] in _TRAILING:
            end -= 1
        if end > start and not _overlaps((start, end), taken):
            taken.append((start, end))
            flags.append(Flag(kind, start, end, text[start:end]))

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


@dataclass(frozen=True, slots=True)
class _SpamRule:
    kind: str
    pattern: re.Pattern[str]
    weight: float


@cache
def _spam_rules() -> tuple[float, tuple[_SpamRule, ...]]:
    raw = resources.files("pipeline").joinpath("data/safety.toml").read_text(encoding="utf-8")
    data = tomllib.loads(raw)
    rules = tuple(
        _SpamRule(r["kind"], re.compile(r["pattern"], re.IGNORECASE), float(r["weight"]))
        for r in data["rules"]
    )
    return float(data["threshold"]), rules


def spam_reasons(text: str) -> list[str]:
    """The kinds of spam rules the text matches (selling, loan, chain, giveaway, crypto, ...)."""
    _, rules = _spam_rules()
    return list(dict.fromkeys(rule.kind for rule in rules if rule.pattern.search(text)))


def spam_score(text: str) -> float:
    """0.0 (a story) to 1.0 (certainly spam): matched rule weights added, capped at 1."""
    _, rules = _spam_rules()
    total = sum((rule.weight for rule in rules if rule.pattern.search(text)), 0.0)
    return round(min(1.0, total), 2)


def is_spam(text: str) -> bool:
    """Whether the story should go to `quarantined` instead of the review queue."""
    threshold, _ = _spam_rules()
    return spam_score(text) >= threshold


REDACTED_KINDS = ("phone", "nik", "email", "link")


def redact(text: str, flags: list[Flag] | None = None, *, lang: str = "id") -> str:
    """The text with phone numbers, NIK, e-mail addresses and links masked ("[nomor HP]")."""
    found = find_flags(text) if flags is None else flags
    out = text
    for flag in sorted(found, key=lambda f: -f.start):
        if flag.kind in REDACTED_KINDS:
            out = out[: flag.start] + t(lang, f"tagging.redact.{flag.kind}") + out[flag.end :]
    return out
