"""Wrong settings, a missing database, a refused token: one kind line naming the fix and a
non-zero exit, never a traceback or a secret; commands that only read never create a database.

Most run `pesisir` in-process through its real entry point (`cli.main.main`); the refused token
runs the installed command as a real process, since tracebacks that bypass logging live there.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cli.main import main
from core.logging_setup import configure_logging
from faketelegram import FakeBotAPI, serving

ROOT = Path(__file__).resolve().parents[2]
WRONG_TOKEN = "987654321:AAwrongWrongWrongWrongWrongWrong12345"


@pytest.fixture(autouse=True)
def _no_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A folder without `.env`, and no PESISIR_* from the machine running the tests."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("PESISIR_"):
            monkeypatch.delenv(name)


def pesisir(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """Run `pesisir ARGS` through its entry point: exit code and everything it printed."""
    monkeypatch.setattr(sys, "argv", ["pesisir", *args])
    with pytest.raises(SystemExit) as finished:
        main()
    captured = capsys.readouterr()
    code = finished.value.code
    return (code if isinstance(code, int) else 0 if code is None else 1), captured.out + (
        captured.err
    )


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("PESISIR_TIMEZONE", "Kupang", "IANA name such as Asia/Makassar"),
        ("PESISIR_DATABASE_URL", "pesisir.db", "sqlite:///"),
        ("PESISIR_DATABASE_URL", "mysql://root@localhost/pesisir", "postgresql+psycopg://"),
        ("PESISIR_MASTODON_BASE_URL", "mastodon.social", "https://"),
        ("PESISIR_LOG_LEVEL", "LOUD", "DEBUG, INFO"),
        ("PESISIR_REVIEW_REMINDER_TIME", "8 pagi", "HH:MM"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    named: str,
) -> None:
    monkeypatch.setenv(variable, value)
    code, out = pesisir(monkeypatch, capsys, "posts", "list")
    assert code == 2
    assert out.count("\n") == 1 and out.startswith(f"pesisir: {variable}: ") and named in out
    assert "Traceback" not in out


def test_indonesian_zone_names_and_postgres_urls_are_understood(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core.config import load_settings

    settings = load_settings(timezone="WITA", database_url="postgres://u@db.example/pesisir")
    assert settings.timezone == "Asia/Makassar"
    assert settings.database_url == "postgresql+psycopg://u@db.example/pesisir"


def test_a_data_dir_that_is_a_file_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "data").write_text("not a folder")
    monkeypatch.setenv("PESISIR_DATA_DIR", str(tmp_path / "data"))
    code, out = pesisir(monkeypatch, capsys, "queue", "list")
    assert code == 2 and out == "pesisir: PESISIR_DATA_DIR: is a file, not a folder; " + (
        "point it at a folder\n"
    )


def test_an_unreachable_postgresql_is_one_line_and_check_does_not_crash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PESISIR_DATABASE_URL", "postgresql://pesisir@127.0.0.1:1/pesisir")
    code, out = pesisir(monkeypatch, capsys, "queue", "list")
    assert code == 2 and out.count("\n") == 1
    assert "postgresql+psycopg://pesisir@127.0.0.1:1/pesisir does not answer" in out
    assert "check PESISIR_DATABASE_URL" in out and "Traceback" not in out
    code, out = pesisir(monkeypatch, capsys, "check")
    assert code == 1 and "✗ database" in out and "Traceback" not in out


@pytest.mark.parametrize(
    "command",
    [
        ["queue", "list"],
        ["approve", "SP-ABCD", "--version", "1"],
        ["posts", "list"],
        ["audit", "SP-ABCD"],
        ["campaign", "list"],
        ["ingest"],
    ],
)
def test_commands_that_read_or_decide_never_create_a_database(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    command: list[str],
) -> None:
    monkeypatch.setenv("PESISIR_DATA_DIR", str(tmp_path / "typo"))
    code, out = pesisir(monkeypatch, capsys, *command)
    database = tmp_path / "typo" / "pesisir.db"
    assert code == 2
    assert out == (
        f"pesisir: no database at {database}: create or upgrade it with: pesisir init "
        "(or set PESISIR_DATA_DIR / PESISIR_DATABASE_URL to where your data is)\n"
    )
    assert not (tmp_path / "typo").exists()


def test_check_says_the_database_is_missing_without_making_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("PESISIR_DATA_DIR", str(tmp_path / "typo"))
    code, out = pesisir(monkeypatch, capsys, "check")
    assert code == 1 and f"no database at {tmp_path / 'typo' / 'pesisir.db'}" in out
    assert not (tmp_path / "typo" / "pesisir.db").exists()


def test_init_creates_the_database_and_says_where(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("PESISIR_DATA_DIR", str(tmp_path / "data"))
    database = tmp_path / "data" / "pesisir.db"
    code, out = pesisir(monkeypatch, capsys, "init")
    assert code == 0 and f"Creating the database at {database}" in out and database.exists()
    code, out = pesisir(monkeypatch, capsys, "queue", "list")
    assert code == 0 and out == "No stories.\n"


def test_a_refused_token_is_one_line_without_the_token_in_a_real_process(
    tmp_path: Path,
) -> None:
    fake = FakeBotAPI()  # knows only its own token: any other gets Telegram's 401
    with serving(fake):
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PESISIR_")},
            "PESISIR_TELEGRAM_TOKEN": WRONG_TOKEN,
            "PESISIR_TELEGRAM_BASE_URL": fake.base_url,
            "PESISIR_TELEGRAM_BASE_FILE_URL": fake.base_file_url,
            "PESISIR_DATA_DIR": str(tmp_path / "data"),
            "PESISIR_LOG_LEVEL": "DEBUG",
        }
        finished = subprocess.run(
            [sys.executable, "-m", "cli", "run"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    output = finished.stdout + finished.stderr
    assert finished.returncode == 2
    assert (
        output.strip()
        .splitlines()[-1]
        .startswith(
            "pesisir: Telegram refused PESISIR_TELEGRAM_TOKEN: copy the token again from @BotFather"
        )
    )
    assert "Traceback" not in output
    assert WRONG_TOKEN.split(":")[1] not in output and WRONG_TOKEN not in output


def test_every_log_line_is_redacted_exceptions_and_threads_included(
    capsys: pytest.CaptureFixture[str],
) -> None:
    password = "s3cret-app-password"  # not shaped like a token: known as a secret setting
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, sys.excepthook, threading.excepthook)
    try:
        configure_logging("DEBUG", secrets=[password])
        try:
            raise RuntimeError(f"The token `{WRONG_TOKEN}` was rejected; password {password}")
        except RuntimeError:
            logging.getLogger("telegram.ext").exception("network loop failed")
        worker = threading.Thread(
            target=lambda: (_ for _ in ()).throw(ValueError(f"bot{WRONG_TOKEN}/getMe"))
        )
        worker.start()
        worker.join()
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        sys.excepthook, threading.excepthook = saved[2], saved[3]
    err = capsys.readouterr().err
    assert "network loop failed" in err and "uncaught ValueError" in err
    assert err.count("<redacted>") >= 3
    assert WRONG_TOKEN.split(":")[1] not in err and password not in err


def test_a_webhook_without_a_secret_does_not_start_and_check_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("PESISIR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PESISIR_TELEGRAM_TOKEN", WRONG_TOKEN)
    monkeypatch.setenv("PESISIR_TELEGRAM_BASE_URL", "http://127.0.0.1:9/bot")  # nobody there
    monkeypatch.setenv("PESISIR_WEBHOOK_URL", "https://pesisir.example.org/telegram")
    code, out = pesisir(monkeypatch, capsys, "run")
    assert code == 2 and out.count("\n") == 1
    assert out.startswith("pesisir: PESISIR_WEBHOOK_URL is set but PESISIR_WEBHOOK_SECRET is not")
    assert not (tmp_path / "data").exists()  # refused before anything was made
    code, out = pesisir(monkeypatch, capsys, "check")
    assert code == 1 and "✗ webhook" in out and "→ set PESISIR_WEBHOOK_SECRET" in out
    monkeypatch.setenv("PESISIR_WEBHOOK_SECRET", "a-Long_random-secret")
    code, out = pesisir(monkeypatch, capsys, "check")
    assert "✓ webhook" in out
