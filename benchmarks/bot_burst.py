"""A burst of contributors at once against `pesisir run`: how long each waits for the bot.

Each person sends a text, a 1–2 MB photo and a location, then presses Next, a consent and Send,
waiting for the bot's answer after each step (the text's answer includes the bot's 1 s quiet
time for bursts). Printed: answer latency p50 / p95 / max over all steps, and whether every
story arrived. The baseline, measured in the same run, is the same burst with
PESISIR_BOT_CONCURRENT_UPDATES=1 (one update at a time, as before).

`pesisir run --no-dispatch` runs as a real process against the fake Bot API of this process, on
SQLite (a temporary file) or PostgreSQL (PESISIR_BENCH_DATABASE_URL, default the local
`bench_bot` database, which it EMPTIES).

    PYTHONPATH=. python benchmarks/bot_burst.py [--people 100] [--sqlite-only] [--no-baseline]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from benchmarks.corpus import reset
from core.db import make_engine
from core.i18n import t
from core.models import Media, Submission
from faketelegram import FakeBotAPI, FakeUser

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_bot"
OESAPA = (-10.1483, 123.6341)


def photos(count: int) -> list[bytes]:
    """`count` distinct JPEGs of 1–2 MB (noise compresses badly, as phone photos do)."""
    rng = random.Random(5)
    made = []
    for number in range(count):
        noise = Image.frombytes("RGB", (1600, 1200), rng.randbytes(1600 * 1200 * 3))
        buffer = io.BytesIO()
        noise.save(buffer, "JPEG", quality=70 + number % 10)
        made.append(buffer.getvalue())
    return made


async def person_story(person: FakeUser, photo: bytes, latencies: list[float]) -> bool:
    """One contributor's whole story, timing each answer; True when it was sent."""
    steps = [
        lambda: person.send_text("Semalam air laut masuk rumah di Oesapa, sampai lutut."),
        lambda: person.send_photo(photo),
        lambda: person.send_location(*OESAPA),
        lambda: person.press(t("id", "bot.saved.next")),
        lambda: person.press(t("id", "bot.consent.anonymous")),
        lambda: person.press(t("id", "bot.summary.send")),
    ]
    try:
        for step in steps:  # each step gets exactly one answer
            started = time.monotonic()
            step()
            await person.next_reply(timeout=600)
            latencies.append(time.monotonic() - started)
        return True
    except (TimeoutError, LookupError):
        return False


async def burst(url: str, people: int, concurrency: int, data_dir: Path) -> dict[str, float]:
    """One burst against a fresh database; the latency figures."""
    reset(url)
    env = {
        **os.environ,
        "PESISIR_DATABASE_URL": url,
        "PESISIR_DATA_DIR": str(data_dir),
        "PESISIR_LOG_LEVEL": "WARNING",
        "PESISIR_BOT_CONCURRENT_UPDATES": str(concurrency),
        "PYTHONPATH": str(ROOT),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    images = photos(min(people, 20))
    async with FakeBotAPI() as fake:
        env |= {
            "PESISIR_TELEGRAM_TOKEN": fake.token,
            "PESISIR_TELEGRAM_BASE_URL": fake.base_url,
            "PESISIR_TELEGRAM_BASE_FILE_URL": fake.base_file_url,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli", "run", "--no-dispatch", env=env, cwd=data_dir,
            stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            while not fake.calls_of("getUpdates"):
                await asyncio.sleep(0.1)
            users = [fake.user(900_000 + n, f"Warga{n}", "id") for n in range(people)]
            latencies: list[float] = []
            started = time.monotonic()
            done = await asyncio.gather(
                *(
                    person_story(user, images[n % len(images)], latencies)
                    for n, user in enumerate(users)
                )
            )
            wall = time.monotonic() - started
        finally:
            process.terminate()
            await process.wait()
    engine = make_engine(url)
    with engine.connect() as connection:
        stories = connection.execute(
            select(func.count()).select_from(Submission).where(Submission.state != "draft")
        ).scalar_one()
        stored = connection.execute(select(func.count()).select_from(Media)).scalar_one()
    engine.dispose()
    ordered = sorted(latencies)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[int(0.95 * (len(ordered) - 1))],
        "max": ordered[-1],
        "wall": wall,
        "complete": sum(done),
        "stories": stories,
        "photos": stored,
    }


def show(name: str, figures: dict[str, float], people: int) -> None:
    """One line of results."""
    print(
        f"  {name:<24} answer p50 {figures['p50']:6.2f} s  p95 {figures['p95']:6.2f} s  "
        f"max {figures['max']:6.2f} s  wall {figures['wall']:6.1f} s  "
        f"{figures['complete']}/{people} complete, {figures['stories']} stories, "
        f"{figures['photos']} photos stored"
    )


async def main() -> None:
    """Run the bursts and print them with their ratio to the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--concurrency", type=int, default=256, help="PESISIR_BOT_CONCURRENT_UPDATES"
    )
    args = parser.parse_args()
    backends = [("SQLite", None)]
    if not args.sqlite_only:
        backends.append(("PostgreSQL", os.environ.get("PESISIR_BENCH_DATABASE_URL", DEFAULT_PG)))
    print(f"{args.people} contributors at once, 6 answers each, on {os.cpu_count()} cores")
    for name, pg_url in backends:
        print(name)
        with tempfile.TemporaryDirectory() as folder:
            # A fresh database per burst: the fake Telegram numbers updates from 1 each time.
            now = await burst(
                pg_url or f"sqlite:///{Path(folder) / 'now.db'}", args.people, args.concurrency,
                Path(folder) / "data",
            )  # fmt: skip
            show(f"concurrent ({args.concurrency})", now, args.people)
            if not args.no_baseline:
                before = await burst(
                    pg_url or f"sqlite:///{Path(folder) / 'before.db'}", args.people, 1,
                    Path(folder) / "data-baseline",
                )  # fmt: skip
                show("one at a time (baseline)", before, args.people)
                print(
                    f"  p95 {before['p95'] / now['p95']:.1f}× shorter, "
                    f"p50 {before['p50'] / now['p50']:.1f}× shorter"
                )


if __name__ == "__main__":
    asyncio.run(main())
