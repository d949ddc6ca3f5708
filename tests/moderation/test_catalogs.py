"""The moderation and notification catalogs: same keys and parameters in both languages."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from core.i18n import catalog
from moderation.decisions import RejectReason

ROOT = Path(__file__).resolve().parents[2]


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("domain", ["moderation.", "notify."])
def test_both_languages_match(domain: str) -> None:
    indonesian = {k: v for k, v in catalog("id").items() if k.startswith(domain)}
    english = {k: v for k, v in catalog("en").items() if k.startswith(domain)}
    assert indonesian and indonesian.keys() == english.keys()
    for key, template in indonesian.items():
        assert _fields(template) == _fields(english[key]), key


def test_every_reason_theme_and_used_key_exists() -> None:
    messages = catalog("id")
    for code in RejectReason:
        assert f"moderation.reason.{code.value}" in messages
        assert f"notify.reason.{code.value}" in messages
    sources = [
        ROOT / "bot" / "cards.py",
        ROOT / "bot" / "moderation_cards.py",
        ROOT / "bot" / "moderation_handlers.py",
        ROOT / "bot" / "moderation_jobs.py",
        ROOT / "cli" / "moderation.py",
    ]
    used = set()
    for path in sources:
        used |= set(re.findall(r'"(moderation\.[a-z_]+\.[a-z_]+)"', path.read_text()))
    assert len(used) > 15
    assert sorted(key for key in used if key not in messages) == []
