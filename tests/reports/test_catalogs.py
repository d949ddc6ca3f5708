"""The briefs' catalog: the same keys and parameters in Indonesian and English."""

from __future__ import annotations

import string

from core.i18n import catalog


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_languages_match() -> None:
    indonesian = {k: v for k, v in catalog("id").items() if k.startswith("reports.")}
    english = {k: v for k, v in catalog("en").items() if k.startswith("reports.")}
    assert indonesian and indonesian.keys() == english.keys()
    for key, template in indonesian.items():
        assert _fields(template) == _fields(english[key]), key
