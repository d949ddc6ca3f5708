"""Each package's public face (its `__init__`) lists exactly what it exports, and it imports
(at once, or on first use)."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = ["bot", "reports", "pipeline", "moderation", "publishers"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_what_the_package_exports(name: str) -> None:
    package = importlib.import_module(name)
    exported = set(package.__all__)
    # dir() and getattr(), not vars(): a face may import its names on first use (PEP 562)
    public = {
        member
        for member in dir(package)
        if not member.startswith("_") and not isinstance(getattr(package, member), types.ModuleType)
    }
    assert exported == public
