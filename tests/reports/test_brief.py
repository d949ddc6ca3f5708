"""A policy brief of the demo's stories plus a generated month: the numbers in the PDF's text are
the database's, no private field appears, both languages render; PNGs of the pages are saved."""

from __future__ import annotations

import ctypes
import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from cli.demo import run_demo
from cli.demo_moderation import DEMO_GROUP_ID
from core import taxonomy
from core.clock import utcnow
from core.config import Settings
from core.models import Submission
from core.stories import find_story
from moderation import Action, apply
from pipeline import gazetteer
from reports import select_stories
from reports.brief import BriefRequest, render_brief
from reports.brief_data import build_brief, month_starts
from tests.reports.seed import (
    INTERNAL_NAME,
    NAMED,
    PRIVATE_STRINGS,
    ZONE,
    Seeder,
    local,
    seed_month,
    seed_private,
)

APPROVED = {"approved", "scheduled", "published"}
RECEIVED_NOT = {"draft", "withdrawn", "erased", "quarantined"}


@dataclass
class World:
    engine: Engine
    data_dir: Path
    start: date
    end: date
    refs: dict[str, str]


def pdf_text(pdf: bytes) -> str:
    """Every page's text, whitespace made single spaces."""
    document = pdfium.PdfDocument(pdf)
    pages = [document[i].get_textpage().get_text_bounded() for i in range(len(document))]
    return re.sub(r"\s+", " ", " ".join(pages))


def font_names(pdf: bytes) -> set[str]:
    """The fonts the PDF's text is drawn in (without the subset prefix)."""
    document = pdfium.PdfDocument(pdf)
    names = set()
    buffer, flags = ctypes.create_string_buffer(256), ctypes.c_int()
    for index in range(len(document)):
        page = document[index].get_textpage()
        for char in range(pdfium_raw.FPDFText_CountChars(page.raw)):
            pdfium_raw.FPDFText_GetFontInfo(page.raw, char, buffer, 256, ctypes.byref(flags))
            names.add(buffer.value.decode().split("+")[-1])
    return names


def save_pages(pdf: bytes, folder: Path, name: str) -> list[Path]:
    document = pdfium.PdfDocument(pdf)
    paths = []
    for index in range(len(document)):
        path = folder / f"{name}-p{index + 1}.png"
        document[index].render(scale=110 / 72).to_pil().save(path)
        paths.append(path)
    return paths


@pytest.fixture
async def world(database_url: str, engine: Engine, tmp_path: Path) -> World:
    """The demo's two stories (Yuli's published, Maria's rejected), the private stories and a
    generated month around them, and a quieter month before."""
    data_dir = tmp_path / "demo"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data_dir,
        database_url=database_url,
        moderator_chat_id=DEMO_GROUP_ID,
        moderation_poll_seconds=0.05,
    )
    await run_demo(settings)
    today = utcnow().astimezone(ZONE).date()
    start = today.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    seeder = Seeder(engine, data_dir)
    refs = seed_private(seeder, start + timedelta(days=2)).refs
    seed_month(seeder, start.year, start.month, stories=150)
    before = month_starts(start, 2)[0]
    seed_month(seeder, before.year, before.month, stories=40, seed=11)
    with Session(engine) as session:
        for key in ("internal", "named"):
            story = find_story(session, refs[key])
            assert story.id is not None
            apply(session, story.id, Action.PIN, actor="cli:test", expected_version=story.version)
        session.commit()
    return World(engine, data_dir, start, end, refs)


def _number(value: int, lang: str = "id") -> str:
    return f"{value:,}".replace(",", "." if lang == "id" else ",")


def _kecamatan(place_id: str | None) -> tuple[str, str] | None:
    place = gazetteer.by_id().get(place_id or "")
    if place is None:
        return None
    chain = [place, *gazetteer.ancestors(place)]
    kecamatan = next((p for p in chain if p.kind == "kecamatan"), None)
    regency = next((p for p in chain if p.kind in {"kabupaten", "kota"}), None)
    if kecamatan is None or regency is None:
        return None
    return kecamatan.name, regency.name.replace("Kabupaten ", "Kab. ")


def expected(world: World) -> tuple[int, int, Counter[str], Counter[tuple[str, str]]]:
    """Received, approved, per theme and per kecamatan: worked out here, row by row."""
    with Session(world.engine) as session:
        rows = session.exec(select(Submission)).all()
    in_period = [
        r
        for r in rows
        if r.submitted_at is not None
        and world.start <= r.submitted_at.astimezone(ZONE).date() <= world.end
    ]
    approved = [r for r in in_period if r.state in APPROVED]
    themes: Counter[str] = Counter(t["slug"] for r in approved for t in r.themes)
    areas: Counter[tuple[str, str]] = Counter(
        area for r in approved if (area := _kecamatan(r.place_id)) is not None
    )
    received = len([r for r in in_period if r.state not in RECEIVED_NOT])
    return received, len(approved), themes, areas


@pytest.mark.slow
async def test_the_brief_holds_the_databases_numbers_and_nothing_private(
    world: World, artifacts_dir: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    received, approved, themes, areas = expected(world)
    assert approved > 60 and len(areas) > 8  # a real month: enough to fill the tables
    selection = select_stories(start=world.start, end=world.end)
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = render_brief(world.engine, BriefRequest(selection), data_dir=world.data_dir)
    assert [r for r in caplog.records if r.name.startswith("weasyprint")] == []
    # The shipped font, the charts' text included; never a system font.
    assert font_names(pdf) == {"Noto-Sans", "Noto-Sans-Bold", "Noto-Sans-Italic"}
    pages = save_pages(pdf, artifacts_dir, f"brief-{backend}-id")
    assert len(pages) == 2  # two A4 pages, for five minutes of reading
    text = pdf_text(pdf)

    # The period's totals, in the summary and the key numbers.
    assert f"mengirim {_number(received)} cerita" in text
    assert f"didasarkan pada {_number(approved)} cerita" in text
    assert f"{_number(received)} cerita masuk" in text
    assert f"{_number(approved)} lolos moderasi" in text
    # Every theme with its count (the chart's labels are text).
    for slug, count in themes.items():
        assert f"{taxonomy.label(slug, 'id')} · {count}" in text, slug
    # The eight busiest kecamatan, each with its regency and count; the rest summed.
    ranked = sorted(areas.items(), key=lambda item: (-item[1], item[0][0]))
    for (kecamatan, regency), count in ranked[:8]:
        assert re.search(rf"{kecamatan} {regency} {count}\b", text), kecamatan
    rest = sum(count for _, count in ranked[8:])
    assert f"{len(ranked) - 8} kecamatan lain {rest}" in text
    # Pinned quotes first: a named one with the chosen name, an internal one anonymously.
    assert NAMED in text and "Nelayan tidak bisa melaut karena angin kencang" in text
    assert "Sumur kami asin sejak tahun lalu" in text and "untuk ringkasan kebijakan saja" in text
    assert "Yuli" not in text  # the demo's anonymous contributor
    for private in PRIVATE_STRINGS:
        assert private not in text, private
    assert INTERNAL_NAME not in text


@pytest.mark.slow
async def test_the_brief_in_english_and_for_one_place(
    world: World, artifacts_dir: Path, database_url: str
) -> None:
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    selection = select_stories(start=world.start, end=world.end)
    pdf = render_brief(world.engine, BriefRequest(selection, lang="en", contact="Koalisi X"))
    save_pages(pdf, artifacts_dir, f"brief-{backend}-en")
    text = pdf_text(pdf)
    received, approved, themes, _ = expected(world)
    assert f"{_number(received, 'en')} stories received" in text
    assert f"based on the {_number(approved, 'en')} stories among them" in text
    assert "Methods and limits" in text and "Contact: Koalisi X" in text
    slug, count = themes.most_common(1)[0]
    assert f"{taxonomy.label(slug, 'en')} · {count}" in text

    city = select_stories(start=world.start, end=world.end, place="kota-kupang")
    brief = build_brief(world.engine, city)
    assert {row.regency for row in brief.areas} == {"Kota Kupang"}
    text = pdf_text(render_brief(world.engine, BriefRequest(city)))
    assert "hanya Kota Kupang" in text and "Kab. Kupang" not in text


async def test_the_trend_counts_each_month(world: World) -> None:
    brief = build_brief(world.engine, select_stories(start=world.start, end=world.end))
    with Session(world.engine) as session:
        rows = session.exec(select(Submission)).all()
    months: Counter[date] = Counter()
    approved: Counter[date] = Counter()
    for row in rows:
        if row.submitted_at is None or row.state in RECEIVED_NOT:
            continue
        month = row.submitted_at.astimezone(ZONE).date().replace(day=1)
        months[month] += 1
        approved[month] += row.state in APPROVED
    assert len(brief.trend) == 12 and brief.trend[-1].month == world.start
    for entry in brief.trend:
        assert (entry.received, entry.approved) == (months[entry.month], approved[entry.month])
    assert brief.trend[-2].received > 0  # the quieter month before


async def test_without_pins_each_main_theme_gets_its_strongest_story(
    engine: Engine, tmp_path: Path
) -> None:
    seeder = Seeder(engine, tmp_path)
    day = date(2026, 11, 10)
    weak = seeder.add(at=local(day, 8), themes=("kesehatan", "abrasi"), text="Anak sakit.")
    strong = seeder.add(
        at=local(day, 9), themes=("abrasi", "banjir-rob"), text="Abrasi makan rumah kami."
    )
    rob = seeder.add(at=local(day, 10), themes=("banjir-rob",), text="Rob sampai lutut.")
    seeder.add(at=local(day, 11), themes=("abrasi",), state="rejected", text="Ditolak.")
    brief = build_brief(engine, select_stories(start=day, end=day))
    assert brief.pinned_quotes == 0
    # abrasi (2 stories): the stronger tag wins; banjir-rob: the one left; kesehatan: its only one.
    assert [quote.ref for quote in brief.quotes] == [strong, rob, weak]
