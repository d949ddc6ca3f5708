"""`pesisir demo` and `pesisir run` from the outside."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli.demo import _prepare, run_demo
from cli.main import app
from core.config import Settings
from core.models import Media, Submission
from core.storage import MediaStore
from moderation import access


async def test_demo_plays_both_contributors(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "demo")  # type: ignore[call-arg]
    ctx = await run_demo(settings)
    assert set(ctx.refs) == {"Yuli", "Maria"}
    with Session(ctx.engine) as session:
        stories = {s.ref: s for s in session.exec(select(Submission))}
        assert {stories[ref].state for ref in ctx.refs.values()} == {"pending_review"}
        yuli, maria = stories[ctx.refs["Yuli"]], stories[ctx.refs["Maria"]]
        assert yuli.chat_lat is not None and yuli.consent == "anonymous"
        assert maria.place_text == "Oesapa Barat, Kupang" and maria.consent == "named"
        [document] = session.exec(select(Media).where(Media.submission_id == maria.id)).all()
    original = MediaStore(settings.data_dir).absolute(document.path or "").read_bytes()
    assert b"Exif" in original[:200] and b"Galaxy" in original  # the file kept its EXIF


async def test_demo_ends_with_a_login_link_to_its_stories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "demo")  # type: ignore[call-arg]
    ctx = await run_demo(settings, steps=[])
    printed = capsys.readouterr().out.strip().splitlines()
    url = printed[-1].strip()
    assert url.startswith("http://127.0.0.1:8000/login/") and "pesisir web" in "\n".join(printed)
    with Session(ctx.engine) as session:
        who = access.check_link(session, url.rsplit("/", 1)[1])
    assert (who.name, who.role.value) == ("Tim demo", "admin")


def test_demo_refuses_a_foreign_directory(tmp_path: Path) -> None:
    (tmp_path / "thesis.docx").write_text("precious")
    with pytest.raises(typer.BadParameter):
        _prepare(tmp_path, keep=False)
    assert (tmp_path / "thesis.docx").exists()


def test_run_without_a_token_explains(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PESISIR_TELEGRAM_TOKEN", raising=False)
    monkeypatch.setenv("PESISIR_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2
    assert "BotFather" in result.output


def test_the_whole_flow_at_debug_logs_nothing_private(tmp_path: Path) -> None:
    """The demo as a real process with PESISIR_LOG_LEVEL=DEBUG, as someone chasing a problem
    would run it: its log (standard error; the narration is standard output) holds no token,
    Telegram id, name, phone number, coordinate or camera metadata."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PESISIR_")}
    finished = subprocess.run(
        [sys.executable, "-m", "cli", "demo", "--data-dir", "demo", "--log-level", "DEBUG"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    log = finished.stderr
    assert finished.returncode == 0, log[-2000:]
    assert " DEBUG " in log and "0812" in finished.stdout  # it ran at DEBUG; the phone was sent
    private = [
        "AAFakeTokenForSuaraPesisirDemo",  # the demo bot's token
        "610001",
        "610002",
        "620001",
        "1001000000001",  # Telegram ids of Yuli, Maria, Ana and the group
        "0812",
        "3765",
        "4410",  # the phone number Yuli wrote
        "10.148",
        "123.634",
        "10,148",
        "123,634",  # Oesapa, from the chat and the photo GPS
        "GPS",
        "Galaxy",
        "Samsung",  # camera metadata of Maria's photo
    ]
    assert [word for word in private if word in log] == []
    assert re.findall(r"\b(?:Yuli|Maria|Ana)\b", log) == []
