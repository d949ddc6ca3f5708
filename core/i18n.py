"""Message catalogs: `core/locales/<domain>.<lang>.toml`, Indonesian by default, English too.

Each package owns a domain file (bot, moderation, publishers, ...). Keys are dotted
(`intake.welcome`); values are `str.format` templates.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"


def _flatten(prefix: str, table: dict[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(name, value, out)
        else:
            out[name] = str(value)


@lru_cache(maxsize=len(LANGUAGES))
def catalog(lang: str) -> dict[str, str]:
    """Every message of one language, merged from all domain files."""
    messages: dict[str, str] = {}
    for path in sorted(LOCALES_DIR.glob(f"*.{lang}.toml")):
        domain = path.name.split(".")[0]
        flat: dict[str, str] = {}
        _flatten(domain, tomllib.loads(path.read_text(encoding="utf-8")), flat)
        duplicated = messages.keys() & flat.keys()
        if duplicated:
            raise ValueError(f"duplicate message keys in {path.name}: {sorted(duplicated)}")
        messages.update(flat)
    return messages


def normalize_language(lang: str | None) -> str:
    """A supported language code for `lang` (Telegram's `en-GB` → `en`), else the default."""
    if lang:
        short = lang.split("-")[0].lower()
        if short in LANGUAGES:
            return short
    return DEFAULT_LANGUAGE


def t(lang: str | None, key: str, /, **params: Any) -> str:
    """The message `key` in `lang` (falling back to Indonesian), filled with `params`."""
    code = normalize_language(lang)
    template = catalog(code).get(key) or catalog(DEFAULT_LANGUAGE).get(key)
    if template is None:
        raise KeyError(f"no message {key!r}")
    return template.format(**params) if params else template
