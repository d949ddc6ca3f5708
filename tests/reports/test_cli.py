"""`pesisir brief` and `pesisir export` from the outside: files, standard output, kind refusals."""

from __future__ import annotations

import csv
import io
import os
import pty
import subprocess
import sys
from datetime import date
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from cli.main import app
from core.config import Settings
from core.errors import ConfigError
from tests.reports.seed import Seeder, local

runner = CliRunner()
DAY = date(2026, 11, 14)


def _env(settings: Settings) -> dict[str, str]:
    return {
        "PESISIR_DATABASE_URL": settings.effective_database_url,
        "PESISIR_DATA_DIR": str(settings.data_dir),
        "PESISIR_LOG_LEVEL": "WARNING",
        "PESISIR_BRIEF_CONTACT": "Koalisi Pesisir Kupang · kontak@example.org",
    }


def _read_terminal(leader: int, follower: int) -> bytes:
    """Everything written to a pseudo-terminal, once the program using it has ended."""
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # Linux: the other end is closed and everything was read
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return shown


@pytest.fixture
def refs(engine: Engine, settings: Settings) -> list[str]:
    seeder = Seeder(engine, settings.data_dir)
    return [
        seeder.add(at=local(DAY, 9)),
        seeder.add(at=local(DAY, 10), themes=("abrasi",), place_id="pantai-lasiana"),
        seeder.add(at=local(date(2026, 10, 2)), themes=("abrasi",)),
    ]


def test_export_to_standard_output_and_to_a_file(
    settings: Settings, refs: list[str], tmp_path: Path
) -> None:
    result = runner.invoke(
        app, ["export", "--from", "2026-11-01", "--to", "2026-11-30"], env=_env(settings)
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["ref"] for row in rows] == refs[:2]
    assert "2 stories exported (csv) to standard output." in result.stderr

    out = tmp_path / "abrasi.xlsx"
    args = ["export", "--format", "xlsx", "--hxl", "--theme", "abrasi", "--out", str(out)]
    result = runner.invoke(app, args, env=_env(settings))
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:2] == b"PK" and not out.with_name("abrasi.xlsx.part").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "1 Nov"], "--from '1 Nov' is not a date; write it like 2026-11-01"),
        (["--place", "Atlantis"], "no place called 'Atlantis'"),
        (["--state", "draft"], "never in a brief or an export"),
        (["--format", "geojson", "--hxl"], "use --hxl with csv or xlsx"),
        (["--theme", "rob"], "unknown theme 'rob'"),
    ],
)
def test_export_refuses_kindly(
    settings: Settings, refs: list[str], args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["export", *args], env=_env(settings))
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.output


def test_a_wrong_setting_reaches_pesisir_s_own_handler(settings: Settings) -> None:
    env = _env(settings) | {"PESISIR_TIMEZONE": "Kupang/Somewhere"}
    result = runner.invoke(app, ["export"], env=env)
    # `pesisir` (cli.main.main) prints it as one line, exit 2 (tests/cli/test_bad_settings.py).
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception).startswith("PESISIR_TIMEZONE: is not a time zone name")


def test_xlsx_is_not_poured_into_a_terminal(settings: Settings, refs: list[str]) -> None:
    """Run for real with a pseudo-terminal as standard output."""
    leader, follower = pty.openpty()
    env = {**os.environ, **_env(settings)}
    process = subprocess.run(
        [str(Path(sys.executable).parent / "pesisir"), "export", "--format", "xlsx"],
        stdout=follower,
        stderr=subprocess.PIPE,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
        timeout=60,
    )
    shown = _read_terminal(leader, follower)
    assert process.returncode == 1 and shown == b""
    assert b"add --out stories.xlsx" in process.stderr


def test_brief_writes_a_pdf(settings: Settings, refs: list[str], tmp_path: Path) -> None:
    out = tmp_path / "brief.pdf"
    args = ["brief", "--from", "2026-11-01", "--to", "2026-11-30", "--lang", "en"]
    result = runner.invoke(app, [*args, "--out", str(out)], env=_env(settings))
    assert result.exit_code == 0, result.output
    document = pdfium.PdfDocument(out.read_bytes())
    text = " ".join(document[i].get_textpage().get_text_bounded() for i in range(len(document)))
    assert "Contact: Koalisi Pesisir Kupang · kontak@example.org" in " ".join(text.split())
    assert f"Brief written to {out}" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-01"], "a brief needs a period: give --from and --to"),
        (["--from", "2026-11-30", "--to", "2026-11-01"], "ends (2026-11-01) before it starts"),
        (["--from", "2026-11-01", "--to", "2026-11-30", "--lang", "fr"], "use id or en"),
    ],
)
def test_brief_refuses_kindly(
    settings: Settings, args: list[str], message: str, tmp_path: Path
) -> None:
    out = tmp_path / "brief.pdf"
    result = runner.invoke(app, ["brief", *args, "--out", str(out)], env=_env(settings))
    assert result.exit_code == 1 and message in result.stderr
    assert not out.exists()


def test_a_terminal_sees_a_progress_bar_and_the_file_stays_clean(
    settings: Settings, refs: list[str], tmp_path: Path
) -> None:
    leader, follower = pty.openpty()
    out = tmp_path / "stories.csv"
    with out.open("wb") as stdout:
        process = subprocess.run(
            [str(Path(sys.executable).parent / "pesisir"), "export"],
            stdout=stdout,
            stderr=follower,
            env={**os.environ, **_env(settings), "COLUMNS": "100"},
            check=False,
            timeout=60,
        )
    shown = _read_terminal(leader, follower)
    assert process.returncode == 0
    assert b"100%" in shown and b"3 stories exported" in shown  # the bar, then the summary
    assert out.read_text(encoding="utf-8").splitlines()[0].startswith("ref,submitted_at")
