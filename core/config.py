"""Settings from `PESISIR_*` environment variables or a `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Language = Literal["id", "en"]


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

    # Time
    timezone: str = "Asia/Makassar"

    # Publishing channels (secrets never go to the database)
    outbox_dir: Path | None = None
    telegram_channel_chat_id: str | None = None
    mastodon_base_url: str | None = None
    mastodon_token: SecretStr | None = None
    bluesky_service: str = "https://bsky.social"
    bluesky_identifier: str | None = None
    bluesky_app_password: SecretStr | None = None
    wordpress_url: str | None = None
    wordpress_user: str | None = None
    wordpress_app_password: SecretStr | None = None
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
