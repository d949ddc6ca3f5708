"""`build_application()`: the Telegram bot, wired from settings, plus polling/webhook runners.

Handlers come from *registrars*: functions `register(application, services)` listed in
`REGISTRARS` (the contributor conversation, the moderators' group, the sweeper). Periodic work
runs on the application's JobQueue (APScheduler): the registrars' own jobs, the publishing
housekeeping every bot process does, and any `jobs` the caller adds (`pesisir run` adds
dispatch).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import traceback
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from telegram import BotCommand, BotCommandScopeAllPrivateChats, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot import contributors, conversation, inbound, moderators, sweeper, web_login
from bot.flood_limits import FirstComeLimiter
from bot.services import SERVICES_KEY, BotServices, services
from core.config import Settings
from core.errors import ConfigError
from core.i18n import LANGUAGES, t
from core.periodic import JOB_KWARGS, PeriodicJob
from core.storage import MediaStore
from pipeline.runner import PipelineRunner
from publishers.worker import housekeeping_jobs

logger = logging.getLogger(__name__)

# Opt in to python-telegram-bot 23's timedelta durations now: without it, every 429 (RetryAfter)
# emits a deprecation warning. Our code never reads the durations.
os.environ.setdefault("PTB_TIMEDELTA", "true")

BotApp = Application[Any, Any, Any, Any, Any, Any]
Registrar = Callable[[BotApp, BotServices], None]

#: Everything that adds handlers, in order. Each registrar chooses its handler groups and filters
#: so that they do not overlap: the contributor conversation answers private chats and callback
#: data starting with "c:"; the moderators' group handlers answer `settings.moderator_chat_id` and
#: callback data starting with "m:".
REGISTRARS: list[Registrar] = [
    contributors.register,
    moderators.register,
    sweeper.register,
    web_login.register,
]

#: What a token from @BotFather looks like: the bot id, a colon, 30 or more URL-safe characters.
TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")

#: The commands shown in Telegram's menu for private chats (catalog keys `bot.commands.<name>`).
PRIVATE_COMMANDS = ("start", "kirim", "status", "hapus", "batal", "bahasa", "bantuan")


def build_application(
    settings: Settings,
    engine: Engine,
    *,
    registrars: list[Registrar] | None = None,
    jobs: Sequence[PeriodicJob] = (),
) -> BotApp:
    """The bot for these settings: rate limited, redacted errors, handlers from registrars,
    periodic work on its JobQueue."""
    if settings.telegram_token is None:
        raise ConfigError("PESISIR_TELEGRAM_TOKEN is not set (see README, 'Telegram bot: setup')")
    if not TOKEN_SHAPE.fullmatch(settings.telegram_token.get_secret_value()):
        # Catches placeholders copied from .env.example; the value itself is never echoed.
        raise ConfigError("PESISIR_TELEGRAM_TOKEN does not look like a token from @BotFather")
    shared = BotServices(
        settings=settings,
        engine=engine,
        store=MediaStore(settings.data_dir),
        pipeline=PipelineRunner(engine, settings),
    )
    application: BotApp = (
        Application.builder()
        .token(settings.telegram_token.get_secret_value())
        # Each update is stored before Telegram is told it arrived, and replayed after a crash.
        .update_queue(inbound.DurableUpdateQueue(engine))
        .concurrent_updates(inbound.DurableUpdateProcessor(shared, settings.bot_concurrent_updates))
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .rate_limiter(FirstComeLimiter(max_retries=3))
        # Downloads of photos sent as files (up to 20 MB) need more than the 5 s default.
        .read_timeout(30)
        .write_timeout(30)
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    application.bot_data[SERVICES_KEY] = shared
    for register in REGISTRARS if registrars is None else registrars:
        register(application, shared)
    # Last: a press no handler claimed (an old bot's button, forged data) is still answered,
    # or its spinner turns until Telegram gives up.
    application.add_handler(CallbackQueryHandler(_on_unknown_button))
    forget = PeriodicJob("forget_handled_updates", 3600.0, partial(inbound.forget_old, engine))
    schedule(application, [*housekeeping_jobs(engine, settings), forget, *jobs])
    application.add_error_handler(_on_error)
    return application


def schedule(application: BotApp, jobs: Sequence[PeriodicJob]) -> None:
    """Run blocking periodic jobs on the bot's JobQueue, each in a thread, one run at a time."""
    queue = application.job_queue
    assert queue is not None, "python-telegram-bot[job-queue] is a dependency"
    for job in jobs:

        async def run(_context: ContextTypes.DEFAULT_TYPE, job: PeriodicJob = job) -> None:
            try:
                await asyncio.to_thread(job.run)
            except Exception:  # the next run tries again
                logger.exception("periodic job %s failed", job.name)

        if job.first_seconds is not None:
            # A one-off first run: a repeating job's first run is counted from when it was
            # added, and one due before the scheduler started would be skipped.
            queue.run_once(run, when=job.first_seconds, name=job.name, job_kwargs=JOB_KWARGS)
        queue.run_repeating(
            run, interval=job.seconds, first=job.seconds, name=job.name, job_kwargs=JOB_KWARGS
        )


async def _post_init(application: BotApp) -> None:
    """Queue the updates a crash left unhandled (before polling starts), and set the command
    menu for private chats in each language."""
    queue = application.update_queue
    if isinstance(queue, inbound.DurableUpdateQueue):
        left = await asyncio.to_thread(inbound.unhandled, queue.engine, application.bot)
        if left:
            logger.info("replaying %d updates a stop left unhandled", len(left))
        await queue.replay(left)
    for lang in LANGUAGES:
        commands = [BotCommand(name, t(lang, f"bot.commands.{name}")) for name in PRIVATE_COMMANDS]
        await application.bot.set_my_commands(
            commands,
            scope=BotCommandScopeAllPrivateChats(),
            language_code=None if lang == "id" else lang,
        )


async def _post_stop(application: BotApp) -> None:
    """Send the pending "saved" answers: a message stored just before a stop is still answered."""
    await services(application).flush_acks()


async def _post_shutdown(application: BotApp) -> None:
    """Let background work (ingestion of submitted stories) finish."""
    await services(application).drain()


async def _on_unknown_button(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a button press nobody else handled."""
    query = update.callback_query
    assert query is not None
    lang = conversation.language_hint(query.from_user.language_code)
    await query.answer(t(lang, "bot.stale_button"), show_alert=True)


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the exception without its message or the update (both may hold contributor data)."""
    error = context.error
    if error is None:
        return
    frames = "".join(traceback.format_tb(error.__traceback__))
    logger.error("unhandled %s while handling an update\n%s", type(error).__name__, frames)
    if isinstance(update, Update) and update.effective_chat and update.effective_user:
        chat = update.effective_chat
        if chat.type == chat.PRIVATE:
            lang = conversation.language_hint(update.effective_user.language_code)
            try:
                await context.bot.send_message(chat.id, t(lang, "bot.error.internal"))
            except Exception:  # noqa: BLE001 - the apology is best effort
                logger.warning("could not tell the contributor about an internal error")


def webhook_problem(settings: Settings) -> str | None:
    """Why webhook mode may not start with these settings (None when it may, or is off)."""
    if settings.webhook_url and settings.webhook_secret is None:
        return (
            "PESISIR_WEBHOOK_URL is set but PESISIR_WEBHOOK_SECRET is not: anyone who can reach "
            f"port {settings.webhook_port} could send forged updates as any user. Set "
            "PESISIR_WEBHOOK_SECRET to a random string of A-Z a-z 0-9 _ - "
            '(python3 -c "import secrets; print(secrets.token_urlsafe(32))")'
        )
    return None


def webhook_options(settings: Settings) -> dict[str, Any]:
    """Arguments for `run_webhook`/`Updater.start_webhook` from the settings; ConfigError
    without a secret (Telegram sends it with each update, which is how forgeries are told)."""
    assert settings.webhook_url
    problem = webhook_problem(settings)
    if problem is not None or settings.webhook_secret is None:
        raise ConfigError(problem or "PESISIR_WEBHOOK_SECRET is not set")
    secret = settings.webhook_secret.get_secret_value()
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": urlsplit(settings.webhook_url).path.lstrip("/"),
        "webhook_url": settings.webhook_url,
        "secret_token": secret,
        "allowed_updates": Update.ALL_TYPES,
    }


def run(settings: Settings, engine: Engine, *, jobs: Sequence[PeriodicJob] = ()) -> None:
    """Run the bot until interrupted: long polling, or a webhook when PESISIR_WEBHOOK_URL is set."""
    application = build_application(settings, engine, jobs=jobs)
    if settings.webhook_url:
        logger.info(
            "starting the bot with a webhook on %s:%s",
            settings.webhook_listen,
            settings.webhook_port,
        )
        application.run_webhook(**webhook_options(settings))
    else:
        logger.info("starting the bot with long polling")
        application.run_polling(allowed_updates=Update.ALL_TYPES)
