"""Settings from `PESISIR_*` environment variables or a `.env` file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.errors import ConfigError

Language = Literal["id", "en"]

#: Indonesia's zone abbreviations, as people write them, and the IANA names they mean.
ZONE_ALIASES = {"WITA": "Asia/Makassar", "WIB": "Asia/Jakarta", "WIT": "Asia/Jayapura"}
#: Settings holding a web address (checked at load: a typo must not surface as a crash later).
URL_FIELDS = (
    "telegram_base_url",
    "telegram_base_file_url",
    "webhook_url",
    "mastodon_base_url",
    "bluesky_service",
    "bluesky_app_url",
    "wordpress_url",
    "meta_graph_url",
    "threads_graph_url",
    "x_api_url",
    "public_base_url",
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    """Every setting of Suara Pesisir; documented one by one in README.md."""

    model_config = SettingsConfigDict(
        env_prefix="PESISIR_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Storage
    data_dir: Path = Path("data")
    database_url: str | None = None

    # Telegram
    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"  # noqa: S104 - a webhook must listen beyond loopback
    webhook_port: int = 8443
    webhook_secret: SecretStr | None = None
    moderator_chat_id: int | None = None
    moderator_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    review_reminder_hours: int = 24
    review_reminder_time: str = "08:00"  # local time (PESISIR_TIMEZONE) of the daily summary
    moderation_poll_seconds: float = 3.0  # how often the bot looks for new cards and messages owed

    # Contributor conversation
    default_language: Language = "id"
    max_photos: int = 10
    max_text_chars: int = 4000
    rate_limit_per_minute: int = 30
    consent_version: str = "2026-11-v1"
    # The bot answers a burst of messages (an album, several texts) once, after this quiet time.
    bot_ack_delay_seconds: float = 1.0
    # Processes that make renditions and tag stories, below the bot's priority (0: a thread of
    # the bot's own process).
    pipeline_processes: int = Field(default=1, ge=0)
    # Updates handled at once (each chat's still in order); 1 handles one update at a time.
    bot_concurrent_updates: int = Field(default=256, ge=1)

    # Time
    timezone: str = "Asia/Makassar"

    # Voice notes (README, "Voice stories"): which Whisper model transcribes recordings. Unset:
    # the Whisper base of the PyPI packages when they are installed, else off; or `off`,
    # `pypi:base`, a size name (`base`, `small`, `large-v3`, ...: downloaded on first use) or the
    # folder of a CTranslate2 Whisper model.
    transcribe_model: str | None = None
    # Where the PyPI model is assembled and size names are downloaded (default: the user's cache).
    model_dir: Path | None = None

    # Publishing channels (secrets never go to the database)
    outbox_dir: Path | None = None
    telegram_channel_chat_id: str | None = None
    mastodon_base_url: str | None = None
    mastodon_token: SecretStr | None = None
    bluesky_service: str = "https://bsky.social"
    # The web app that shows this PDS's posts (the link sent to contributors): bsky.app for the
    # Bluesky network, your own for a PDS outside it.
    bluesky_app_url: str = "https://bsky.app"
    bluesky_identifier: str | None = None
    bluesky_app_password: SecretStr | None = None
    wordpress_url: str | None = None
    wordpress_user: str | None = None
    wordpress_app_password: SecretStr | None = None
    # Meta (README, "Channels: setup"): Instagram and Facebook Pages on the versioned Graph API
    # (the current version when this was written: v26.0, 2026-07-29), Threads on its own host.
    meta_graph_url: str = "https://graph.facebook.com/v26.0"
    instagram_user_id: str | None = None
    instagram_access_token: SecretStr | None = None
    facebook_page_id: str | None = None
    facebook_page_token: SecretStr | None = None
    threads_graph_url: str = "https://graph.threads.net/v1.0"
    threads_user_id: str | None = None
    threads_access_token: SecretStr | None = None
    # X (API v2, OAuth 1.0a user context): the app's API key and secret, and the access token
    # and secret of the account that posts, generated after the app got "Read and write".
    x_api_url: str = "https://api.x.com"
    x_api_key: SecretStr | None = None
    x_api_secret: SecretStr | None = None
    x_access_token: SecretStr | None = None
    x_access_token_secret: SecretStr | None = None
    dispatch_interval_seconds: float = 5.0
    # A post still unsent this long after its time is reported to the moderators' group (0: off).
    late_post_alert_minutes: float = 15.0

    # Web dashboard and public media
    # The address people and platforms reach this installation at (behind a reverse proxy: the
    # proxy's https:// address); Instagram and Threads fetch photos from it.
    public_base_url: str | None = None
    # Signs session cookies and public media URLs; a long random string (keep it secret).
    secret_key: SecretStr | None = None
    web_host: str = "127.0.0.1"
    web_port: int | None = None  # `pesisir run` serves the dashboard beside the bot on this port
    # How long a signed public media URL stays valid.
    media_url_hours: float = 72.0
    # Map tiles for the dashboard's map ({z}/{x}/{y}); empty: no tiles, the shipped outline only.
    map_tiles_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"

    # Policy briefs: the coalition's contact line at the foot of every page.
    brief_contact: str = "Suara Pesisir · Kupang, Nusa Tenggara Timur"

    log_level: str = "INFO"

    @field_validator("moderator_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Accept `1,2,3` as well as a JSON list."""
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        """SQLite or PostgreSQL through psycopg; `postgres://` and `postgresql://` are read as
        `postgresql+psycopg://` (the driver we ship)."""
        if value is None or not value.strip():
            return None
        value = value.strip()
        scheme, sep, rest = value.partition("://")
        if not sep:
            raise ValueError(
                "is not a database URL; write sqlite:////absolute/path/pesisir.db or "
                "postgresql+psycopg://user@host:5432/database"
            )
        if scheme in {"postgres", "postgresql"}:
            return f"postgresql+psycopg://{rest}"
        if scheme not in {"sqlite", "postgresql+psycopg"}:
            raise ValueError(
                f"{scheme}:// is not supported; use sqlite:///… or postgresql+psycopg://…"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        """An IANA time zone name (WITA, WIB and WIT are understood)."""
        name = ZONE_ALIASES.get(value.strip().upper(), value.strip())
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "is not a time zone name; use an IANA name such as Asia/Makassar (WITA), "
                "Asia/Jakarta (WIB) or Asia/Jayapura (WIT)"
            ) from None
        return name

    @field_validator(*URL_FIELDS)
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        """A web address with http:// or https:// and a host."""
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("is not a web address; write it in full, with https://")
        return value.strip()

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        """One of Python's level names."""
        if value.strip().upper() not in LOG_LEVELS:
            raise ValueError(f"is not a log level; use one of {', '.join(LOG_LEVELS)}")
        return value.strip().upper()

    @field_validator("review_reminder_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        """A local time HH:MM."""
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
        if match is None:
            raise ValueError("is not a time of day; write it as HH:MM, e.g. 08:00")
        return f"{int(match[1]):02d}:{match[2]}"

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        """1–256 of A-Z a-z 0-9 _ - (what Telegram accepts as secret_token)."""
        allowed = re.compile(r"[A-Za-z0-9_-]{1,256}")
        if value is not None and not allowed.fullmatch(value.get_secret_value()):
            raise ValueError("may only hold 1 to 256 of A-Z a-z 0-9 _ -")
        return value

    @field_validator("transcribe_model")
    @classmethod
    def _transcribe_model(cls, value: str | None) -> str | None:
        """`off`, `pypi:base`, a model size name, or an existing folder."""
        if value is None or not value.strip():
            return None
        value = value.strip()
        if value.lower() in ("off", "pypi:base"):
            return value.lower()
        if value.lower().startswith("pypi:"):
            raise ValueError("only pypi:base is shipped as PyPI packages; use pypi:base")
        if "/" in value or "\\" in value or value.startswith((".", "~")):
            folder = Path(value).expanduser()
            if not folder.is_dir():
                raise ValueError(
                    "is not a folder; give the folder holding the model's model.bin, "
                    "config.json, tokenizer.json and vocabulary file, or a size such as base"
                )
            return str(folder.resolve())
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", value):
            raise ValueError(
                "is not a model; use off, pypi:base, a Whisper size such as base or small, "
                "or the folder of a CTranslate2 Whisper model"
            )
        return value

    @field_validator("data_dir")
    @classmethod
    def _data_dir(cls, value: Path) -> Path:
        """A folder (made when missing by the commands that create data), not a file."""
        if value.exists() and not value.is_dir():
            raise ValueError("is a file, not a folder; point it at a folder")
        return value

    def secret_values(self) -> list[str]:
        """The values of every secret setting, for redaction wherever text leaves the process."""
        return [
            value.get_secret_value()
            for value in (getattr(self, name) for name in type(self).model_fields)
            if isinstance(value, SecretStr) and value.get_secret_value()
        ]

    @property
    def effective_database_url(self) -> str:
        """The database URL: PESISIR_DATABASE_URL, or a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'pesisir.db').resolve()}"

    @property
    def effective_outbox_dir(self) -> Path:
        """Where the outbox publisher writes posts."""
        return self.outbox_dir or self.data_dir / "outbox"


def describe_errors(error: ValidationError) -> str:
    """One line per wrong setting, naming its variable (never its value: it may be a secret)."""
    return "\n".join(
        f"PESISIR_{'_'.join(str(part) for part in problem['loc']).upper()}: "
        + problem["msg"].removeprefix("Value error, ")
        for problem in error.errors(include_url=False, include_input=False)
    )


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment and `.env`; ConfigError names each wrong variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(describe_errors(error)) from None
