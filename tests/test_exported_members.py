"""Each package's public face (its `__init__`) lists exactly what it exports, and it imports."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["bot", "reports", "pipeline", "moderation", "publishers"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_what_the_package_exports(name: str) -> None:
    package = importlib.import_module(name)
    exported = set(package.__all__)
    public = {
        member
        for member in vars(package)
        if not member.startswith("_") and not isinstance(vars(package)[member], type(package))
    }
    assert exported == public
