"""The publishers' catalog has the same keys in Indonesian and English."""

from __future__ import annotations

import tomllib

from core.i18n import LOCALES_DIR


def _keys(table: dict[str, object], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        keys |= _keys(value, name) if isinstance(value, dict) else {name}
    return keys


def test_publishers_catalog_has_the_same_keys_in_both_languages() -> None:
    loaded = {
        lang: _keys(tomllib.loads((LOCALES_DIR / f"publishers.{lang}.toml").read_text("utf-8")))
        for lang in ("id", "en")
    }
    assert loaded["id"] == loaded["en"]
    assert "credit.named" in loaded["id"]
