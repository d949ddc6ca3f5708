"""`pesisir web link`, `pesisir web` without a secret, and `pesisir run` serving the dashboard
beside the bot when PESISIR_WEB_PORT is set."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import requests
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from cli.main import app
from core.config import Settings
from faketelegram import FakeBotAPI
from moderation import access
from tests.cli.test_run import _free_port, _interrupt, _process_env, _wait_until

runner = CliRunner()
SECRET = "test-secret-key-0123456789"


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "PESISIR_DATABASE_URL": settings.effective_database_url,
        "PESISIR_DATA_DIR": str(settings.data_dir),
        "PESISIR_LOG_LEVEL": "WARNING",
        **extra,
    }


def test_web_link_prints_a_working_url_on_its_last_line(settings: Settings, engine: Engine) -> None:
    env = _env(settings, PESISIR_PUBLIC_BASE_URL="https://pesisir.example.org")
    result = runner.invoke(app, ["web", "link", "--name", "Ana", "--role", "admin"], env=env)
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[-1]
    assert url.startswith("https://pesisir.example.org/login/")
    with Session(engine) as session:
        who = access.check_link(session, url.rsplit("/", 1)[1])
        assert (who.name, who.role.value) == ("Ana", "admin")
    wrong = runner.invoke(app, ["web", "link", "--name", "Ana", "--role", "boss"], env=env)
    assert wrong.exit_code == 1 and "unknown role 'boss'" in wrong.output


def test_web_without_a_secret_names_the_setting(settings: Settings) -> None:
    result = runner.invoke(app, ["web", "--port", "1"], env=_env(settings))
    assert result.exit_code == 2
    assert "PESISIR_SECRET_KEY" in result.output and "Traceback" not in result.output


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


async def test_run_serves_the_dashboard_beside_the_bot(
    fake: FakeBotAPI, settings: Settings, tmp_path: Path
) -> None:
    port = _free_port()
    env = _process_env(
        fake,
        settings,
        PESISIR_WEB_PORT=str(port),
        PESISIR_SECRET_KEY=SECRET,
        PESISIR_MAP_TILES_URL="",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        "run",
        "--no-dispatch",
        env=env,
        cwd=tmp_path,
        stderr=asyncio.subprocess.DEVNULL,
    )

    def answers() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        assert await _wait_until(answers, timeout=60)
        user = fake.user(9003, "Ina", "id")
        user.command("start")
        assert "Suara Pesisir" in str((await user.next_reply(timeout=30)).get("text"))
    finally:
        await _interrupt(process)
    assert process.returncode == 0
