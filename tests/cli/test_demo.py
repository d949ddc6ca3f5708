"""`pesisir demo` and `pesisir run` from the outside."""

from __future__ import annotations

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
