"""The one-way import contract: cli → bot|web → reports → pipeline → moderation → publishers →
core."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["cli", "bot", "web", "reports", "pipeline", "moderation", "publishers", "core"]
# Packages each package may import (besides itself). bot and web are siblings.
ALLOWED: dict[str, set[str]] = {
    "cli": {"bot", "web", "reports", "pipeline", "moderation", "publishers", "core"},
    "bot": {"reports", "pipeline", "moderation", "publishers", "core"},
    "web": {"reports", "pipeline", "moderation", "publishers", "core"},
    "reports": {"pipeline", "moderation", "publishers", "core"},
    "pipeline": {"moderation", "publishers", "core"},
    "moderation": {"publishers", "core"},
    "publishers": {"core"},
    "core": set(),
}


def _imported_top_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(LAYERS)


def test_packages_import_only_downwards() -> None:
    """No module imports a package above it or beside it."""
    violations = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")) if (ROOT / package).exists() else []:
            for imported in _imported_top_packages(path) - allowed - {package}:
                violations.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert violations == []


def test_channels_do_not_import_each_other() -> None:
    """Each channel module stands alone behind the Publisher protocol."""
    channels = ROOT / "publishers" / "channels"
    names = {p.stem for p in channels.glob("*.py") if p.stem != "__init__"}
    violations = []
    for path in channels.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                sibling = (
                    parts[2] if parts[:2] == ["publishers", "channels"] and len(parts) > 2 else None
                )
                if sibling and sibling != path.stem and sibling in names:
                    violations.append(f"{path.name} imports {node.module}")
    assert violations == []


def test_import_linter_contracts_hold() -> None:
    """import-linter (configured in pyproject.toml) agrees."""
    result = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


PRODUCT = ["core", "bot", "web", "reports", "pipeline", "moderation", "publishers", "cli"]


def _product_modules() -> list[Path]:
    return [
        path
        for package in [*PRODUCT, "faketelegram"]
        if (ROOT / package).exists()
        for path in sorted((ROOT / package).rglob("*.py"))
    ]


def test_no_module_is_over_600_lines() -> None:
    """Small modules with names that say what they hold."""
    long = {
        str(path.relative_to(ROOT)): lines
        for path in _product_modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert long == {}


def test_only_the_deliveries_package_updates_the_deliveries_table() -> None:
    """import-linter keeps the table's module to two importers; this keeps writes to one."""
    writers = []
    for path in _product_modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "update"
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in {"Delivery", "DELIVERIES"}
            ):
                writers.append(str(path.relative_to(ROOT)))
    assert writers and {w.rsplit("/", 1)[0] for w in writers} == {"publishers/deliveries"}


def test_themes_are_named_only_in_the_taxonomy_file() -> None:
    """One owner for the themes: no module spells out the list of slugs again."""
    from core import taxonomy

    slugs = taxonomy.slugs()
    repeats = []
    for path in _product_modules():
        text = path.read_text(encoding="utf-8")
        named = [slug for slug in slugs if f'"{slug}"' in text]
        if len(named) > 2:  # an example or two in a docstring is fine; a list is a copy
            repeats.append(f"{path.relative_to(ROOT)}: {named}")
    assert repeats == []
