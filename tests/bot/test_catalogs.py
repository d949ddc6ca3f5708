"""The bot's message catalogs: both languages have the same keys and the same parameters."""

from __future__ import annotations

import string

from core.i18n import catalog


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_bot_catalogs_match() -> None:
    indonesian = {k: v for k, v in catalog("id").items() if k.startswith("bot.")}
    english = {k: v for k, v in catalog("en").items() if k.startswith("bot.")}
    assert indonesian.keys() == english.keys()
    for key, template in indonesian.items():
        assert _fields(template) == _fields(english[key]), key


def test_every_key_the_bot_uses_exists() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "bot"
    source = "\n".join(p.read_text() for p in root.glob("*.py"))
    used = set(re.findall(r'"(bot\.[a-z_]+(?:\.[a-z_]+)*)"', source))
    assert len(used) > 50
    missing = sorted(key for key in used if key not in catalog("id") or key not in catalog("en"))
    assert missing == []
