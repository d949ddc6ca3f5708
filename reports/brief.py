"""Policy briefs as PDF: `render_brief(engine, BriefRequest(...)) -> bytes`.

The numbers come from `reports.brief_data.build_brief` (counted in SQL); the page is an HTML/CSS
template (`reports/templates/brief.html`, Jinja2, autoescaped: stories are citizens' text)
rendered by WeasyPrint with the shipped Noto Sans (`reports/fonts`, SIL OFL), so Indonesian
renders the same on every machine; the charts are matplotlib SVG (`reports.charts`). WeasyPrint
and matplotlib are imported here only, when a brief is made.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from sqlalchemy.engine import Engine

from core import taxonomy
from core.clock import format_local, utcnow
from core.errors import InvalidInput
from core.i18n import LANGUAGES, t
from core.open_data import BriefQuote
from pipeline import gazetteer
from reports.brief_data import AREA_ROWS, Brief, build_brief
from reports.selection import Selection

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: A quote longer than this is cut at a word boundary with "…".
QUOTE_CHARS = 300


@dataclass(frozen=True)
class BriefRequest:
    """A brief of a period (both dates needed), optionally of one place or theme, in a
    language; `contact` is the coalition's contact line (PESISIR_BRIEF_CONTACT)."""

    selection: Selection
    lang: str = "id"
    contact: str = "Suara Pesisir"

    def __post_init__(self) -> None:
        if self.selection.start is None or self.selection.end is None:
            raise InvalidInput("a brief needs a period: give --from and --to (local dates)")
        if self.lang not in LANGUAGES:
            raise InvalidInput(f"unknown language {self.lang!r}; use id or en")


def render_brief(
    engine: Engine,
    request: BriefRequest,
    *,
    data_dir: Path | None = None,
    now: datetime | None = None,
) -> bytes:
    """The brief as PDF bytes. Photos of quoted stories are read from `data_dir` (their
    metadata-free thumbnails); without it the quotes have no photos."""
    brief = build_brief(engine, request.selection, data_dir=data_dir)
    html = brief_html(brief, request, now=now or utcnow(), data_dir=data_dir)
    from weasyprint import HTML  # heavy: only when a brief is made

    pdf: bytes = HTML(string=html, base_url=str(TEMPLATES) + "/").write_pdf()
    return pdf


def number(value: int, lang: str) -> str:
    """1.234 in Indonesian, 1,234 in English."""
    text = f"{value:,}"
    return text.replace(",", ".") if lang == "id" else text


def _day(day: date, lang: str, *, month: bool = True, year: bool = True) -> str:
    parts = [str(day.day)]
    if month:
        parts.append(t(lang, f"reports.month.{day.month}"))
    if year:
        parts.append(str(day.year))
    return " ".join(parts)


def period_text(start: date, end: date, lang: str) -> str:
    """`1–30 November 2026`, `15 Oktober – 14 November 2026`,
    `1 Desember 2025 – 31 Januari 2026`."""
    if start == end:
        return _day(start, lang)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{_day(end, lang)}"
    same_year = start.year == end.year
    return f"{_day(start, lang, year=not same_year)} – {_day(end, lang)}"


def _listing(items: list[str], lang: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {t(lang, 'reports.brief.and')} {items[-1]}"


def stories(count: int, lang: str) -> str:
    """`1 story`, `12 stories`, `1.477 cerita`."""
    key = "story_one" if count == 1 else "story_many"
    return t(lang, f"reports.brief.{key}", count=number(count, lang))


def _lead(brief: Brief, lang: str, period: str) -> str:
    if brief.approved == 0:
        return t(lang, "reports.brief.lead_none", period=period)
    text = t(
        lang,
        "reports.brief.lead",
        period=period,
        received=stories(brief.received, lang),
        approved=stories(brief.approved, lang),
    )
    themes = [
        t(lang, "reports.brief.stories_count", label=taxonomy.label(slug, lang).lower(),
          count=stories(count, lang))
        for slug, count in brief.themes[:3]
    ]  # fmt: skip
    if themes:
        text += " " + t(lang, "reports.brief.lead_themes", themes=_listing(themes, lang))
    areas = [
        t(lang, "reports.brief.kecamatan_count", name=row.kecamatan, count=stories(row.count, lang))
        for row in brief.areas[:2]
    ]
    if areas:
        text += " " + t(lang, "reports.brief.lead_areas", areas=_listing(areas, lang))
    return text


def _cut(text: str, limit: int = QUOTE_CHARS) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"


def _photo_uri(path: Path | None, data_dir: Path | None) -> str | None:
    """A quoted story's thumbnail as a data URI, when it is a file inside the data directory."""
    if path is None or data_dir is None:
        return None
    resolved = path.resolve()
    if not resolved.is_file() or not resolved.is_relative_to(data_dir.resolve()):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(resolved.read_bytes()).decode("ascii")


def _quote(quote: BriefQuote, lang: str, data_dir: Path | None) -> dict[str, Any]:
    place = quote.place_name or t(lang, "reports.brief.quote_no_place")
    if quote.credit_name:
        credit = t(lang, "reports.brief.quote_named", name=quote.credit_name, place=place)
    elif quote.consent == "internal":
        credit = t(lang, "reports.brief.quote_internal", place=place)
    else:
        credit = t(lang, "reports.brief.quote_anonymous", place=place)
    return {
        "text": _cut(quote.text),
        "credit": credit,
        "themes": " · ".join(taxonomy.label(slug, lang) for slug in quote.themes[:3]),
        "photo": _photo_uri(quote.photo, data_dir),
    }


def _filters(selection: Selection, lang: str) -> list[str]:
    found = []
    if selection.place_id is not None:
        name = gazetteer.by_id()[selection.place_id].name
        found.append(t(lang, "reports.brief.only_place", place=name))
    if selection.theme is not None:
        found.append(
            t(lang, "reports.brief.only_theme", theme=taxonomy.label(selection.theme, lang))
        )
    return found


def _methods(lang: str, timezone: str, now: datetime) -> list[Markup]:
    """The methods and limits box: our own catalog text, with <b> on purpose."""
    keys = ("methods_source", "methods_not_survey", "methods_places", "methods_themes")
    items = [Markup(t(lang, f"reports.brief.{key}")) for key in keys]  # noqa: S704
    made = format_local(now, timezone)
    period = t(lang, "reports.brief.methods_period", zone=escape(timezone), made=escape(made))
    return [*items, Markup(period)]  # noqa: S704 - the values are escaped


def brief_html(
    brief: Brief, request: BriefRequest, *, now: datetime, data_dir: Path | None = None
) -> str:
    """The brief as HTML (charts drawn here), ready for WeasyPrint."""
    from reports import charts  # matplotlib: only when a brief is made

    lang, selection = request.lang, brief.selection
    assert selection.start is not None and selection.end is not None

    def m(key: str, **params: Any) -> str:
        return t(lang, f"reports.brief.{key}", **params)

    period = period_text(selection.start, selection.end, lang)
    subtitle = " · ".join([m("subtitle", period=period), *_filters(selection, lang)])
    labels = [
        t(lang, f"reports.month_short.{row.month.month}")
        + (f" {row.month.year % 100:02d}" if row.month.month in (1, 12) or index == 0 else "")
        for index, row in enumerate(brief.trend)
    ]
    kecamatan_rest = brief.areas[AREA_ROWS:]
    other_rows = []
    if kecamatan_rest:
        other_rows.append(
            (m("areas_more", count=len(kecamatan_rest)), sum(row.count for row in kecamatan_rest))
        )
    if brief.unplaced:
        other_rows.append((m("areas_other"), brief.unplaced))
    pinned, total = brief.pinned_quotes, len(brief.quotes)
    how = (
        "quotes_mixed"
        if 0 < pinned < total
        else "quotes_pinned"
        if pinned
        else "quotes_representative"
    )
    first, last = brief.trend[0].month, brief.trend[-1].month
    context = {
        "lang": lang,
        "title": m("title"),
        "subtitle": subtitle,
        "running": m("running"),
        "period": period,
        "contact": m("contact", contact=request.contact),
        "page_word": m("page"),
        "of_word": m("of"),
        "lead": _lead(brief, lang, period),
        "keys": [
            (number(brief.received, lang), m("key_received")),
            (number(brief.approved, lang), m("key_approved")),
            (number(brief.places, lang), m("key_places")),
            (number(len(brief.areas), lang), m("key_kecamatan")),
        ],
        "map_title": m("map_title"),
        "map": charts.map_svg(brief.points, m("map_legend")),
        "map_caption": m("map_caption"),
        "map_empty": m("map_empty"),
        "themes_title": m("themes_title"),
        "themes_chart": charts.themes_svg(
            [(taxonomy.label(slug, lang), count) for slug, count in brief.themes],
            m("themes_axis"),
        ),
        "themes_caption": m("themes_caption"),
        "areas_title": m("areas_title"),
        "head": {key: m(f"areas_{key}") for key in ("kecamatan", "regency", "count", "villages")},
        "areas": [
            {
                "kecamatan": row.kecamatan,
                "regency": row.regency.replace("Kabupaten ", "Kab. "),
                "count": number(row.count, lang),
                "villages": ", ".join(f"{name} ({number(n, lang)})" for name, n in row.villages),
            }
            for row in brief.areas[:AREA_ROWS]
        ],
        "other_rows": [(label, number(count, lang)) for label, count in other_rows],
        "trend_title": m("trend_title"),
        "trend": charts.trend_svg(
            labels,
            [row.received for row in brief.trend],
            [row.approved for row in brief.trend],
            [m("trend_received"), m("trend_approved"), m("trend_axis")],
        ),
        "trend_caption": m(
            "trend_caption",
            first=f"{t(lang, f'reports.month.{first.month}')} {first.year}",
            last=f"{t(lang, f'reports.month.{last.month}')} {last.year}",
        ),
        "quotes_title": m("quotes_title"),
        "quotes_intro": m("quotes_intro", how=m(how)),
        "quotes": [_quote(quote, lang, data_dir) for quote in brief.quotes],
        "methods_title": m("methods_title"),
        "methods": _methods(lang, selection.timezone, now),
    }
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"])
    )
    return environment.get_template("brief.html").render(**context)
