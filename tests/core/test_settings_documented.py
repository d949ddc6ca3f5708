"""Every setting is documented in the README's settings table and read from PESISIR_*."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from core.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_has_a_row_in_the_readme_table() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("## Settings") :]
    rows = set(re.findall(r"^\| `(PESISIR_[A-Z0-9_]+)`", table, flags=re.MULTILINE))
    wanted = {f"PESISIR_{name.upper()}" for name in Settings.model_fields}
    assert sorted(wanted - rows) == []


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PESISIR_MODERATOR_IDS", "11, 22")
    monkeypatch.setenv("PESISIR_TELEGRAM_TOKEN", "123:secret-token-value")
    monkeypatch.setenv("PESISIR_TELEGRAM_BASE_URL", "http://127.0.0.1:8081/bot")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.moderator_ids == [11, 22]
    assert isinstance(settings.telegram_token, SecretStr)
    assert "secret-token-value" not in repr(settings)
    assert settings.telegram_base_url == "http://127.0.0.1:8081/bot"
