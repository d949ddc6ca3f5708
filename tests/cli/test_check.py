"""`pesisir check` through the real Typer app, against loopback fakes of Telegram and each
channel's platform: what it says, what it hides, and its exit code."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from cli.main import app
from core.config import Settings
from core.db import migrate
from faketelegram import FakeBotAPI, serving
from publishers.channels.bluesky import forget_sessions
from publishers.channels.mastodon import forget_limits
from publishers.channels_config import add_channel, pause_channel
from tests.fakes.bluesky_pds import FakeBluesky
from tests.fakes.mastodon_api import FakeMastodon
from tests.fakes.wordpress_api import FakeWordPress
from tests.fakes.x_api import FakeX

GROUP_ID = -1001234567890
MODERATOR_ID = "424242"
Env = dict[str, str]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No `.env` from the checkout, no cached sessions or limits from another test's fake."""
    monkeypatch.chdir(tmp_path)
    forget_sessions()
    forget_limits()
    yield
    forget_sessions()
    forget_limits()


@pytest.fixture
def env(settings: Settings) -> Env:
    """The settings of a migrated database and data directory, without Telegram."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return {
        "PESISIR_DATA_DIR": str(settings.data_dir),
        "PESISIR_DATABASE_URL": settings.effective_database_url,
        "PESISIR_LOG_LEVEL": "WARNING",
    }


def run_check(env: Env, *args: str) -> tuple[int, str]:
    """`pesisir check ARGS` with these settings: exit code and standard output."""
    result = CliRunner().invoke(app, ["check", *args], env=env)
    return result.exit_code, result.stdout


def as_json(env: Env) -> tuple[int, dict[str, dict[str, Any]]]:
    """`pesisir check --json`, by check name."""
    code, out = run_check(env, "--json")
    return code, {item["check"]: item for item in json.loads(out)}


def add_channels(engine: Engine, *channels: tuple[str, str]) -> None:
    with Session(engine) as session:
        for name, kind in channels:
            add_channel(session, name=name, kind=kind)
        session.commit()


@pytest.fixture
async def telegram() -> AsyncIterator[FakeBotAPI]:
    """A fake Bot API with the moderators' group (the bot an admin) and a public channel."""
    async with FakeBotAPI() as server:
        server.group(GROUP_ID, "Moderator Suara Pesisir", bot="administrator")
        server.channel(username="suarapesisir")
        yield server


def telegram_env(env: Env, fake: FakeBotAPI) -> Env:
    return {
        **env,
        "PESISIR_TELEGRAM_TOKEN": fake.token,
        "PESISIR_TELEGRAM_BASE_URL": fake.base_url,
        "PESISIR_TELEGRAM_BASE_FILE_URL": fake.base_file_url,
        "PESISIR_MODERATOR_CHAT_ID": str(GROUP_ID),
        "PESISIR_MODERATOR_IDS": MODERATOR_ID,
        "PESISIR_TELEGRAM_CHANNEL_CHAT_ID": "@suarapesisir",
    }


async def check_async(env: Env, *args: str) -> tuple[int, str]:
    """Run the command in a thread: the fake Bot API serves from this test's event loop."""
    return await asyncio.to_thread(run_check, env, *args)


# -- the whole setup ---------------------------------------------------------------------------


async def test_a_good_setup_passes_every_check_and_shows_no_secret(
    env: Env, engine: Engine, telegram: FakeBotAPI
) -> None:
    with FakeMastodon() as mastodon, FakeBluesky() as bluesky, FakeWordPress() as wordpress:
        assert isinstance(mastodon, FakeMastodon)
        assert isinstance(bluesky, FakeBluesky)
        assert isinstance(wordpress, FakeWordPress)
        add_channels(
            engine,
            ("outbox", "outbox"),
            ("telegram", "telegram_channel"),
            ("mastodon", "mastodon"),
            ("bluesky", "bluesky"),
            ("wordpress", "wordpress"),
        )
        full = {
            **telegram_env(env, telegram),
            "PESISIR_MASTODON_BASE_URL": mastodon.url,
            "PESISIR_MASTODON_TOKEN": mastodon.token,
            "PESISIR_BLUESKY_SERVICE": bluesky.url,
            "PESISIR_BLUESKY_IDENTIFIER": bluesky.handle_name,
            "PESISIR_BLUESKY_APP_PASSWORD": bluesky.password,
            "PESISIR_WORDPRESS_URL": wordpress.url,
            "PESISIR_WORDPRESS_USER": wordpress.user,
            "PESISIR_WORDPRESS_APP_PASSWORD": wordpress.app_password,
            "PESISIR_WEBHOOK_SECRET": "webhook-secret-value",
        }
        code, out = await check_async(full)
        json_code, found = await asyncio.to_thread(as_json, full)
        # Nothing was posted anywhere.
        assert not mastodon.statuses and not bluesky.records and not wordpress.posts
    assert code == 0, out
    assert json_code == 0
    assert list(found) == [
        "settings",
        "data directory",
        "database",
        "telegram bot",
        "moderators' group",
        "speech transcription",
        "channel bluesky",
        "channel mastodon",
        "channel outbox",
        "channel telegram",
        "channel wordpress",
    ]
    assert {name: item["ok"] for name, item in found.items()} == dict.fromkeys(found, True)
    assert out.count("✓") == len(found) and "✗" not in out
    assert "@SuaraPesisirBot" in found["telegram bot"]["detail"]
    assert "privacy mode on" in found["telegram bot"]["detail"]
    assert "administrator" in found["moderators' group"]["detail"]
    assert "@suarapesisir" in found["channel telegram"]["detail"]
    assert "@suarapesisir on 127.0.0.1" in found["channel mastodon"]["detail"]
    assert "500 characters, 4 images" in found["channel mastodon"]["detail"]
    assert "the server's" in found["channel mastodon"]["detail"]
    assert "@suarapesisir.test" in found["channel bluesky"]["detail"]
    assert "kampanye (editor)" in found["channel wordpress"]["detail"]
    # The dev extra installs faster-whisper and the PyPI model: on by default.
    assert found["speech transcription"]["detail"].startswith("Whisper base (PyPI packages)")
    assert "ready for pesisir run" in out
    secrets = [
        telegram.token,
        telegram.token.split(":")[1],
        str(telegram.bot_id),
        MODERATOR_ID,
        str(GROUP_ID),
        mastodon.token,
        bluesky.password,
        wordpress.app_password,
        "webhook-secret-value",
    ]
    for text in (out, json.dumps(found)):
        assert [s for s in secrets if s in text] == []


def test_json_shape(env: Env) -> None:
    code, out = run_check(env, "--json")
    items = json.loads(out)
    assert isinstance(items, list) and items
    for item in items:
        assert set(item) == {"check", "ok", "detail", "hint"}
        assert item["ok"] in (True, False, None)
        assert isinstance(item["detail"], str)
        assert item["hint"] is None or isinstance(item["hint"], str)
    by_name = {item["check"]: item for item in items}
    # Without a token the bot is skipped, not failed; without channels, channels are skipped.
    assert by_name["telegram bot"]["ok"] is None
    assert "@BotFather" in by_name["telegram bot"]["hint"]
    assert by_name["channels"]["ok"] is None
    assert code == 0


def test_a_bad_value_is_a_failed_check_not_a_traceback(env: Env) -> None:
    code, out = run_check({**env, "PESISIR_MAX_PHOTOS": "sepuluh"})
    assert code == 1
    assert out.startswith("✗ settings")
    assert "PESISIR_MAX_PHOTOS" in out and "integer" in out
    assert "sepuluh" not in out and "Traceback" not in out


def test_a_database_not_migrated_says_pesisir_init(tmp_path: Path) -> None:
    env = {
        "PESISIR_DATA_DIR": str(tmp_path / "fresh"),
        "PESISIR_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
        "PESISIR_LOG_LEVEL": "WARNING",
    }
    (tmp_path / "empty.db").touch()  # a file without tables
    code, found = as_json(env)
    assert code == 1
    assert found["database"]["ok"] is False
    assert "no Suara Pesisir tables" in found["database"]["detail"]
    assert "pesisir init" in found["database"]["hint"]
    assert found["channels"]["ok"] is None
    migrate(env["PESISIR_DATABASE_URL"])
    code, found = as_json(env)
    assert (code, found["database"]["ok"]) == (0, True)


def test_a_missing_sqlite_file_is_not_created_by_the_check(tmp_path: Path) -> None:
    database = tmp_path / "data" / "pesisir.db"
    env = {"PESISIR_DATA_DIR": str(tmp_path / "data"), "PESISIR_LOG_LEVEL": "WARNING"}
    code, found = as_json(env)
    assert code == 1 and "pesisir init" in found["database"]["hint"]
    assert not database.exists()


# -- Telegram ----------------------------------------------------------------------------------


async def test_a_refused_token_fails_with_a_botfather_hint(env: Env, telegram: FakeBotAPI) -> None:
    wrong = "987654321:AAWrongTokenWrongTokenWrongToken-0123"
    bad = {**telegram_env(env, telegram), "PESISIR_TELEGRAM_TOKEN": wrong}
    code, out = await check_async(bad)
    assert code == 1
    assert "✗ telegram bot" in out and "refused" in out
    assert "@BotFather" in out and "PESISIR_TELEGRAM_TOKEN" in out
    assert wrong not in out and wrong.split(":")[1] not in out
    code, out = await check_async({**bad, "PESISIR_TELEGRAM_TOKEN": "paste-your-token-here"})
    assert code == 1 and "does not look like a token" in out


@pytest.mark.parametrize(
    ("status", "said"), [("left", "not a member"), ("kicked", "kicked")], ids=["left", "kicked"]
)
async def test_bot_not_in_the_moderators_group_fails(
    env: Env, telegram: FakeBotAPI, status: str, said: str
) -> None:
    telegram.group(GROUP_ID, bot=status)
    code, found = await asyncio.to_thread(as_json, telegram_env(env, telegram))
    assert code == 1
    group = found["moderators' group"]
    assert group["ok"] is False and said in group["detail"]
    assert "@SuaraPesisirBot" in group["hint"] and "PESISIR_MODERATOR_CHAT_ID" in group["hint"]


async def test_bot_a_plain_member_of_the_group_passes_with_a_warning(
    env: Env, telegram: FakeBotAPI
) -> None:
    telegram.group(GROUP_ID, bot="member")
    code, out = await check_async(telegram_env(env, telegram))
    assert code == 0, out
    line = next(line for line in out.splitlines() if "moderators' group" in line)
    assert line.startswith("✓") and "warning" in line and "not an administrator" in line
    assert "Delete messages" in out


# -- each channel kind, with good and refused credentials --------------------------------------


def channel_check(
    env: Env, engine: Engine, kind: str, extra: Env, *, alone: bool = True
) -> dict[str, Any]:
    """Add a channel of `kind` and check; `alone`: the exit code follows this channel only."""
    add_channels(engine, (kind, kind))
    code, found = as_json({**env, **extra})
    item = found[f"channel {kind}"]
    if alone:
        assert (code == 0) == (item["ok"] is True)
    return item


def test_outbox_writable_or_not(env: Env, engine: Engine, tmp_path: Path) -> None:
    good = channel_check(env, engine, "outbox", {"PESISIR_OUTBOX_DIR": str(tmp_path / "out")})
    assert good["ok"] is True and "out" in good["detail"]
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, found = as_json({**env, "PESISIR_OUTBOX_DIR": str(blocker / "out")})
    bad = found["channel outbox"]
    assert code == 1 and bad["ok"] is False
    assert "cannot write" in bad["detail"] and "PESISIR_OUTBOX_DIR" in bad["hint"]


def test_mastodon_good_and_refused_token(env: Env, engine: Engine) -> None:
    with FakeMastodon() as fake:
        assert isinstance(fake, FakeMastodon)
        extra = {"PESISIR_MASTODON_BASE_URL": fake.url, "PESISIR_MASTODON_TOKEN": fake.token}
        good = channel_check(env, engine, "mastodon", extra)
        assert good["ok"] is True and "@suarapesisir" in good["detail"]
        fake.scopes = ("write:media", "write:statuses")  # a token without `profile` still posts
        code, found = as_json({**env, **extra})
        assert code == 0 and "profile" in found["channel mastodon"]["detail"]
        code, found = as_json({**env, **extra, "PESISIR_MASTODON_TOKEN": "revoked"})
        assert fake.calls("/api/v1/accounts/verify_credentials")
    bad = found["channel mastodon"]
    assert code == 1 and bad["ok"] is False
    assert "401" in bad["detail"] and "The access token is invalid" in bad["detail"]
    assert "write:statuses" in bad["hint"] and "PESISIR_MASTODON_TOKEN" in bad["hint"]


def test_x_good_read_only_and_refused_keys(env: Env, engine: Engine) -> None:
    with FakeX() as fake:
        assert isinstance(fake, FakeX)
        extra = fake.env()
        good = channel_check(env, engine, "x", extra)
        assert good["ok"] is True and "@suarapesisir" in good["detail"]
        assert "read-write" in good["detail"]
        fake.access_level = "read"
        code, found = as_json({**env, **extra})
        read_only = found["channel x"]
        assert code == 1 and read_only["ok"] is False
        assert "read-only" in read_only["detail"] and "Read and write" in read_only["hint"]
        fake.access_level = "read-write"
        code, found = as_json({**env, **extra, "PESISIR_X_ACCESS_TOKEN_SECRET": "wrong" * 9})
        assert not fake.posts and not fake.media  # checking posts nothing
    refused = found["channel x"]
    assert code == 1 and "401" in refused["detail"] and "PESISIR_X_" in refused["hint"]
    assert fake.access_token_secret not in json.dumps(found)


def test_bluesky_good_and_refused_app_password(env: Env, engine: Engine) -> None:
    with FakeBluesky() as fake:
        assert isinstance(fake, FakeBluesky)
        extra = {
            "PESISIR_BLUESKY_SERVICE": fake.url,
            "PESISIR_BLUESKY_IDENTIFIER": fake.handle_name,
            "PESISIR_BLUESKY_APP_PASSWORD": fake.password,
        }
        good = channel_check(env, engine, "bluesky", extra)
        assert good["ok"] is True and "@suarapesisir.test" in good["detail"]
        assert fake.sessions_created == 1
        forget_sessions()
        code, found = as_json({**extra, **env, "PESISIR_BLUESKY_APP_PASSWORD": "wxyz-wxyz-wxyz"})
    bad = found["channel bluesky"]
    assert code == 1 and bad["ok"] is False and "AuthenticationRequired" in bad["detail"]
    assert "App passwords" in bad["hint"]


def test_wordpress_good_refused_and_too_weak_a_role(env: Env, engine: Engine) -> None:
    with FakeWordPress() as fake:
        assert isinstance(fake, FakeWordPress)
        extra = {
            "PESISIR_WORDPRESS_URL": fake.url,
            "PESISIR_WORDPRESS_USER": fake.user,
            "PESISIR_WORDPRESS_APP_PASSWORD": fake.app_password,
        }
        good = channel_check(env, engine, "wordpress", extra)
        assert good["ok"] is True and "kampanye (editor)" in good["detail"]
        code, found = as_json({**env, **extra, "PESISIR_WORDPRESS_APP_PASSWORD": "nope nope"})
        refused = found["channel wordpress"]
        assert code == 1 and "incorrect_password" in refused["detail"]
        assert "Application Passwords" in refused["hint"]
        fake.role = "author"  # may upload and publish, but not create tags
        code, found = as_json({**env, **extra})
        weak = found["channel wordpress"]
        assert code == 1 and "may not create tags" in weak["detail"]
        assert "Editor" in weak["hint"]


def test_telegram_channel_good_and_refused(env: Env, engine: Engine) -> None:
    with serving(FakeBotAPI()) as fake:
        channel = fake.channel(-1001987654321, username="suarapesisir")
        extra = {
            "PESISIR_TELEGRAM_TOKEN": fake.token,
            "PESISIR_TELEGRAM_BASE_URL": fake.base_url,
            "PESISIR_TELEGRAM_CHANNEL_CHAT_ID": "@suarapesisir",
        }

        def checked() -> dict[str, Any]:
            return as_json({**env, **extra})[1]["channel telegram_channel"]

        good = channel_check(env, engine, "telegram_channel", extra, alone=False)
        assert good["ok"] is True and "@SuaraPesisirBot may post to @suarapesisir" in good["detail"]
        channel.bot_can_delete = False
        no_delete = checked()
        assert no_delete["ok"] is True and "Delete messages" in no_delete["detail"]
        channel.bot_can_post = False
        no_post = checked()
        assert no_post["ok"] is False and "without 'Post messages'" in no_post["detail"]
        assert "Administrators" in no_post["hint"]
        channel.bot_status = "left"
        not_admin = checked()
        assert not_admin["ok"] is False and "not a member of the channel" in not_admin["detail"]
        extra["PESISIR_TELEGRAM_CHANNEL_CHAT_ID"] = "@another"
        elsewhere = checked()
        assert elsewhere["ok"] is False and "chat not found" in elsewhere["detail"]
        assert "PESISIR_TELEGRAM_CHANNEL_CHAT_ID" in elsewhere["hint"]
        sent = [method for method, _params in fake.calls if method.startswith("send")]
    assert sent == []
    assert fake.token not in json.dumps([good, no_post, not_admin, elsewhere])


def test_a_channel_without_its_settings_fails_with_the_variables_to_set(
    env: Env, engine: Engine
) -> None:
    item = channel_check(env, engine, "mastodon", {})
    assert item["ok"] is False and "PESISIR_MASTODON_TOKEN" in item["detail"]
    assert "PESISIR_MASTODON_BASE_URL" in item["hint"]


def test_a_paused_channel_fails_with_the_resume_hint(env: Env, engine: Engine) -> None:
    add_channels(engine, ("outbox", "outbox"))
    with Session(engine) as session:
        pause_channel(session, "outbox", "Mastodon 401: token revoked")
        session.commit()
    code, found = as_json(env)
    item = found["channel outbox"]
    assert code == 1 and item["ok"] is False
    assert "paused (Mastodon 401: token revoked)" in item["detail"]
    assert item["hint"] == "pesisir channel resume outbox"
    code, out = run_check(env)
    assert "✗ channel outbox" in out and "→ pesisir channel resume outbox" in out


@pytest.mark.parametrize(
    ("value", "ok", "words"),
    [
        ("off", None, "off: PESISIR_TRANSCRIBE_MODEL is off"),
        ("small", True, "Whisper small, downloaded from Hugging Face into"),
        ("tiny-ish", False, "tiny-ish is not a Whisper size"),
    ],
)
def test_the_speech_model_line(env: Env, value: str, ok: bool | None, words: str) -> None:
    """What transcribes voice notes, said without loading or downloading anything."""
    code, out = run_check({**env, "PESISIR_TRANSCRIBE_MODEL": value}, "--json")
    line = {item["check"]: item for item in json.loads(out)}["speech transcription"]
    assert line["ok"] is ok and words in line["detail"], line
    assert code == (1 if ok is False else 0)


def test_a_model_folder_without_its_files_fails(env: Env, tmp_path: Path) -> None:
    folder = tmp_path / "whisper"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"\x06\x00\x00\x00")
    code, out = run_check({**env, "PESISIR_TRANSCRIBE_MODEL": str(folder)})
    assert code == 1
    assert f"✗ speech transcription  {folder} has no config.json, tokenizer.json" in out
