"""`pesisir check`: is the setup in `.env` ready for `pesisir run`? One line per check."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated

import typer

from core.logging_setup import redact

if TYPE_CHECKING:  # the checks import the bot and every channel: only when they run
    from core.config import Settings
    from publishers.channel_health import Check

MARKS = {True: "✓", False: "✗", None: "–"}


def run_checks() -> list[Check]:
    """Every check, in the order a volunteer fixes things; nothing is changed or posted."""
    from cli import checks
    from cli.checks_telegram import check_telegram, check_webhook
    from publishers.channel_health import Check, check_channels

    settings, loaded = checks.load_settings()
    if settings is None:
        return [loaded]
    found = [loaded, checks.check_data_dir(settings)]
    engine, database = checks.check_database(settings)
    found.append(database)
    found += asyncio.run(check_telegram(settings))
    found += check_webhook(settings)
    found.append(checks.check_transcription(settings))
    if engine is None:
        found.append(Check("channels", None, "not checked: the database is not ready"))
    else:
        try:
            found += check_channels(engine, settings)
        finally:
            engine.dispose()
    return [_redacted(check, settings) for check in found]


def _redacted(check: Check, settings: Settings) -> Check:
    """A last guard: no secret setting's value ever reaches the output, whatever quoted it."""
    from publishers.channel_health import Check

    secrets = settings.secret_values()
    hint = redact(check.hint, secrets) if check.hint else check.hint
    return Check(check.check, check.ok, redact(check.detail, secrets), hint)


def check(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array instead.")] = False,
) -> None:
    """Check the setup (settings, database, Telegram bot and group, channels); exit 1 on a ✗."""
    found = run_checks()
    if as_json:
        typer.echo(json.dumps([c.as_dict() for c in found], ensure_ascii=False, indent=2))
    else:
        width = max(len(c.check) for c in found)
        for item in found:
            typer.echo(f"{MARKS[item.ok]} {item.check.ljust(width)}  {item.detail}")
            if item.hint:  # a fix for a ✗, what to do about a warning or a skipped feature
                typer.echo(f"  {' ' * width}  → {item.hint}")
        failed = sum(1 for c in found if c.ok is False)
        if failed:
            typer.echo(f"{failed} check(s) failed: fix them, then run pesisir check again.")
        elif any(c.ok is None for c in found):
            typer.echo("Nothing failed; – marks what is not set up yet.")
        else:
            typer.echo("Everything is ready for pesisir run.")
    if any(c.ok is False for c in found):
        raise typer.Exit(1)
