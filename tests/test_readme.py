"""The README keeps up with the code: its quickstart and every command are there."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.main import get_command

from cli.main import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _command_names(group: typer.Typer) -> list[str]:
    command = get_command(group)
    names = []
    for name, sub in command.commands.items():  # type: ignore[attr-defined]
        children = getattr(sub, "commands", None)
        names += [f"{name} {child}" for child in children] if children else [name]
    return names


def test_quickstart_is_two_commands_first() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("```", 2)[1]
    lines = [line for line in quickstart.splitlines()[1:] if line.strip()]
    assert [line.split("#")[0].strip() for line in lines] == [
        "python3 dev.py demo",
        "python3 dev.py test",
    ]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 dev.py test" in ci


def test_every_command_is_in_the_reference() -> None:
    table = README.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    missing = []
    for name in _command_names(app):
        group, _, child = name.partition(" ")
        mentioned = f"pesisir {name}" in table or (
            child and f"pesisir {group} " in table and child in table
        )
        if not mentioned:
            missing.append(name)
    assert missing == []
