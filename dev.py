#!/usr/bin/env python3
"""Bootstrap and run: `python3 dev.py demo`, `python3 dev.py test`, `python3 dev.py <pesisir args>`.

Creates `.venv` with the project and its dev extras on first use (and again whenever
pyproject.toml changes), so a fresh machine needs only Python 3.11+ and the package index.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".pesisir-installed"

# The whole check, in order: style, types, the import contract, then the tests.
CHECKS: list[list[str]] = [
    [str(PYTHON), "-m", "ruff", "check", "."],
    [str(PYTHON), "-m", "ruff", "format", "--check", "."],
    [str(PYTHON), "-m", "mypy"],
    [str(BIN / "lint-imports")],
    [str(PYTHON), "-m", "pytest", "-q"],
]


def ensure_environment() -> None:
    """Create the virtual environment and install the project when needed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be run by an older python3
        sys.exit(f"Suara Pesisir needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not PYTHON.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing suara-pesisir with its dev extras into .venv ...", flush=True)
    subprocess.run(
        [
            str(PYTHON),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-e",
            f"{ROOT}[dev]",
        ],
        check=True,
    )
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    """Run the demo, the test suite, or any `pesisir` command inside `.venv`."""
    ensure_environment()
    os.chdir(ROOT)
    if argv[:1] == ["test"]:
        for check in CHECKS:
            command = check + argv[1:] if check[-2:] == ["pytest", "-q"] else check
            print(
                "$",
                " ".join(
                    Path(command[0]).name if i == 0 else part for i, part in enumerate(command)
                ),
                flush=True,
            )
            result = subprocess.run(command, check=False)
            if result.returncode != 0:
                return result.returncode
        return 0
    return subprocess.run([str(BIN / "pesisir"), *argv], check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
