"""`pesisir --help` and every command's `--help` start without the heavy libraries: each
command imports what it needs when it runs (issue 15: start-up under 0.3 s)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: What a command's help must not load: each costs 0.1–1 s on a small machine. (pydantic itself
#: is not here: Typer loads it to build any command's parameters.)
HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "pydantic_settings",
    "telegram",
    "fastapi",
    "PIL",
    "numpy",
    "alembic",
)

COMMANDS = [
    [],
    ["check"],
    ["run"],
    ["ingest"],
    ["tag"],
    ["exif"],
    ["media", "process"],
    ["web"],
    ["web", "link"],
    ["brief"],
    ["export"],
    ["queue"],
    ["queue", "list"],
    ["campaign"],
    ["posts"],
]

PROBE = """
import json, sys
from typer.testing import CliRunner
from cli.main import app
result = CliRunner().invoke(app, sys.argv[1:] + ["--help"])
print(json.dumps({"exit": result.exit_code, "output": result.output,
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)}))
"""


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "pesisir")
def test_help_loads_no_heavy_library(command: list[str]) -> None:
    code = f"HEAVY = {HEAVY!r}\n{PROBE}"
    done = subprocess.run(
        [sys.executable, "-c", code, *command], capture_output=True, text=True, check=True
    )
    found = json.loads(done.stdout)
    assert found["exit"] == 0, found["output"]
    assert "Usage" in found["output"]
    assert found["loaded"] == []


def test_export_names_the_formats_when_one_is_wrong() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "export", "--format", "pdf"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "'pdf' is not one of 'csv', 'geojson', 'xlsx'" in done.stderr
