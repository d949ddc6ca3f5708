"""`pesisir demo`: the whole flow offline — a fake Telegram on loopback, the real bot, two people,
the pipeline, a moderator, the campaign team and the outbox channel.

The demo is a list of steps (`STEPS`), async functions sharing one `DemoContext`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from bot.app import BotApp
from cli.demo_moderation import DEMO_GROUP_ID, moderators_decide
from cli.demo_publishing import campaign_team_publishes, what_the_pipeline_found
from cli.harness import running_bot, settings_for
from core.clock import utcnow
from core.config import Settings, load_settings
from core.db import describe_url, make_engine, migrate, session_scope
from core.i18n import t
from core.logging_setup import configure_logging
from core.models import Media, Submission
from faketelegram import FakeBotAPI, FakeUser, button_texts
from faketelegram.images import OESAPA, jpeg
from moderation import access

logger = logging.getLogger(__name__)

MARKER = ".pesisir-demo"


@dataclass
class DemoContext:
    """What the steps share: the fake Telegram, the running bot, the data, and what happened."""

    fake: FakeBotAPI
    settings: Settings
    engine: Engine
    application: BotApp
    people: dict[str, FakeUser] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # person → story reference
    echo: Callable[[str], None] = typer.echo

    async def user_does(self, person: FakeUser, action: str) -> list[dict[str, Any]]:
        """Print what `person` did, wait for the bot, print its answers."""
        self.echo(f"  {person.first_name} → {action}")
        replies = await person.settle(timeout=20)
        for reply in replies:
            text = str(reply.get("text") or "").strip()
            lines = text.splitlines() or [""]
            self.echo(f"  bot  → {lines[0]}")
            for line in lines[1:]:
                self.echo(f"         {line}")
            labels = button_texts(reply)
            if labels:
                self.echo("         [" + "] [".join(labels) + "]")
        return replies

    async def press(self, person: FakeUser, key: str, **params: Any) -> list[dict[str, Any]]:
        """`person` presses the button labelled with catalog message `key`."""
        label = t(person.language_code, key, **params)
        person.press(label)
        return await self.user_does(person, f"presses [{label}]")

    async def wait_for_review(self, ref: str, timeout: float = 15.0) -> str:
        """Wait until the pipeline has taken the story; its state."""
        deadline = time.monotonic() + timeout
        while True:
            with session_scope(self.engine) as session:
                story = session.exec(select(Submission).where(Submission.ref == ref)).one()
            if story.state != "received" or time.monotonic() > deadline:
                return story.state
            await asyncio.sleep(0.1)


Step = Callable[[DemoContext], Awaitable[None]]


async def mama_yuli_in_kupang_malay(ctx: DemoContext) -> None:
    """Photos first (an album of three), then the story, a shared location, anonymous."""
    yuli = ctx.fake.user(610_001, "Yuli", "id")
    ctx.people["Yuli"] = yuli
    yuli.command("start")
    await ctx.user_does(yuli, "/start")
    photos = [
        jpeg(color=(60 + 40 * i, 110, 150), label=f"Oesapa, air pasang {i + 1}") for i in range(3)
    ]
    yuli.send_album(photos)
    yuli.send_text(
        "Tadi malam air laut naik masuk rumah lai, sampe lutut. Beta pung dapur su rusak, "
        "anak-anak tidor di tetangga pung rumah. Ini su ke tiga kali bulan ini. Kalau mau "
        "tanya, telpon beta di 0812 3765 4410."
    )
    await ctx.user_does(yuli, "3 photos as an album, then the story in Kupang Malay")
    await ctx.press(yuli, "bot.saved.next")
    yuli.send_location(*OESAPA)
    await ctx.user_does(yuli, "shares her location (Oesapa)")
    await ctx.press(yuli, "bot.consent.anonymous")
    await ctx.press(yuli, "bot.summary.send")
    ctx.refs["Yuli"] = _newest_ref(ctx.engine)


async def maria_in_english_with_a_file(ctx: DemoContext) -> None:
    """A photo sent as a file (its GPS EXIF kept), a typed place, published with her name."""
    maria = ctx.fake.user(610_002, "Maria", "en")
    ctx.people["Maria"] = maria
    maria.send_document(
        jpeg(gps=OESAPA, label="seawall, Oesapa Barat"),
        file_name="IMG_20261120_061500.jpg",
        mime_type="image/jpeg",
    )
    maria.send_text(
        "The seawall at Oesapa Barat cracked after the spring tide. Fishermen now pull their "
        "boats much higher up the beach."
    )
    await ctx.user_does(maria, "a photo sent as a file (with GPS), then the story in English")
    await ctx.press(maria, "bot.saved.next")
    maria.send_text("Oesapa Barat, Kupang")
    await ctx.user_does(maria, "types the place: Oesapa Barat, Kupang")
    await ctx.press(maria, "bot.consent.named")
    await ctx.press(maria, "bot.name.use", name="Maria")
    await ctx.press(maria, "bot.summary.send")
    ctx.refs["Maria"] = _newest_ref(ctx.engine)


async def status_after_the_pipeline(ctx: DemoContext) -> None:
    """Wait for the pipeline, then Yuli asks /status."""
    for ref in ctx.refs.values():
        await ctx.wait_for_review(ref)
    yuli = ctx.people["Yuli"]
    yuli.command("status")
    await ctx.user_does(yuli, "/status")


STEPS: list[tuple[str, Step]] = [
    ("Yuli tells a story in Kupang Malay", mama_yuli_in_kupang_malay),
    ("Maria tells a story in English", maria_in_english_with_a_file),
    ("After the pipeline", status_after_the_pipeline),
    ("What the pipeline found", what_the_pipeline_found),
    ("Moderators decide", moderators_decide),
    ("The campaign team publishes", campaign_team_publishes),
]


def _newest_ref(engine: Engine) -> str:
    with session_scope(engine) as session:
        story = session.exec(select(Submission).order_by(col(Submission.id).desc())).first()
        assert story is not None
        return story.ref


def _report(ctx: DemoContext) -> None:
    echo = ctx.echo
    echo("\n== What happened")
    with session_scope(ctx.engine) as session:
        for person, ref in ctx.refs.items():
            story = session.exec(select(Submission).where(Submission.ref == ref)).one()
            media = session.exec(
                select(func.count()).select_from(Media).where(Media.submission_id == story.id)
            ).one()
            plain = t("en", f"core.state.{story.state}")
            echo(
                f"  {ref}  {person:<6} state: {story.state} ({plain}),"
                f" consent: {story.consent}, media: {media}"
            )
    echo("\n== Where the data is")
    echo(f"  data directory: {ctx.settings.data_dir.resolve()}")
    echo(f"  database:       {describe_url(ctx.settings.effective_database_url)}")
    originals = ctx.settings.data_dir.resolve() / "private" / "originals"
    count = sum(1 for p in originals.rglob("*") if p.is_file()) if originals.exists() else 0
    files = "file" if count == 1 else "files"
    echo(f"  originals:      {originals} ({count} {files}, named by SHA-256; private)")
    outbox = ctx.settings.effective_outbox_dir.resolve()
    posts = sum(1 for _ in outbox.rglob("post.json")) if outbox.exists() else 0
    written = "post" if posts == 1 else "posts"
    echo(f"  outbox channel: {outbox} ({posts} {written}, photos without metadata)")
    echo("  try:            pesisir queue list · pesisir audit REF · pesisir posts list")
    today = utcnow().astimezone(ZoneInfo(ctx.settings.timezone)).date()
    echo(f"                  pesisir brief --from {today:%Y-%m-01} --to {today} --out brief.pdf")
    echo("                  pesisir export --format csv --hxl > stories.hxl.csv")
    echo(f"                  (with PESISIR_DATA_DIR={ctx.settings.data_dir})")
    _dashboard(ctx)


def _dashboard(ctx: DemoContext) -> None:
    """How to open the web dashboard on the demo's stories: serve it, then a login link."""
    with session_scope(ctx.engine) as session:
        person = access.person_named(session, "Tim demo", "admin", actor="cli:demo")
        token = access.issue_link(session, person.id, issued_by="cli:demo")
    key = secrets.token_urlsafe(24)
    ctx.echo("\n== The web dashboard")
    ctx.echo("  serve it (in another terminal, from this folder):")
    ctx.echo(f"    PESISIR_DATA_DIR={ctx.settings.data_dir} PESISIR_SECRET_KEY={key} pesisir web")
    ctx.echo("  then open this one-time login link within 10 minutes (later: pesisir web link")
    ctx.echo("  --name 'Tim demo' --role admin, with the same PESISIR_DATA_DIR):")
    ctx.echo(f"  {access.login_url(ctx.settings, token)}")


def _prepare(data_dir: Path, keep: bool) -> None:
    if data_dir.exists() and any(data_dir.iterdir()) and not keep:
        if not (data_dir / MARKER).exists():
            raise typer.BadParameter(
                f"{data_dir} is not empty and was not made by the demo; choose another --data-dir"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).write_text("made by `pesisir demo`; safe to delete\n", encoding="utf-8")


async def run_demo(settings: Settings, steps: list[tuple[str, Step]] | None = None) -> DemoContext:
    """Start the fake Telegram and the real bot, play the steps, report; returns the context."""
    url = settings.effective_database_url
    migrate(url)
    engine = make_engine(url)
    try:
        async with FakeBotAPI() as fake:
            configured = settings_for(fake, settings, bot_ack_delay_seconds=0.3)
            if configured.moderator_chat_id is not None:
                fake.group(configured.moderator_chat_id, "Moderator Suara Pesisir")
            typer.echo(f"Fake Telegram Bot API on {fake.url} (loopback only, no token needed)")
            async with running_bot(fake, configured, engine) as application:
                ctx = DemoContext(fake, configured, engine, application)
                for title, step in steps or STEPS:
                    typer.echo(f"\n== {title}")
                    await step(ctx)
            _report(ctx)
            return ctx
    finally:
        engine.dispose()


def play(data_dir: Path, *, keep: bool, log_level: str) -> None:
    """Play two contributors against the real bot on a fake, offline Telegram."""
    _prepare(data_dir, keep)
    settings = load_settings(
        _env_file=None,
        data_dir=data_dir,
        database_url=None,
        log_level=log_level,
        moderator_chat_id=DEMO_GROUP_ID,
        moderation_poll_seconds=0.2,
    )
    configure_logging(settings.log_level)
    asyncio.run(run_demo(settings))
