"""Open exports of stories: CSV, GeoJSON (RFC 7946) and XLSX, optionally with HXL hashtags.

`write_export(engine, request, stream)` writes one export to a binary stream, reading the
stories a page at a time (`core.open_data.open_stories`, keyset pagination), so a million
stories take bounded memory; the CLI and the web dashboard both call it. Only public fields go
out (`core.open_data.OpenStory`): the public place with its centroid, never the exact point;
the text only of approved stories whose consent allows publishing; a name only where chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.errors import InvalidInput
from core.open_data import OpenStory, count_stories, open_stories
from publishers.calendar import post_links
from reports import formats
from reports.columns import row_values
from reports.selection import Selection, conditions

#: Stories read per query.
PAGE = 2000
#: XLSX holds 1,048,576 rows a sheet: the header, the HXL row, the stories.
XLSX_MAX_STORIES = 1_048_576 - 2


class ExportFormat(StrEnum):
    """A file format of an export."""

    CSV = "csv"
    GEOJSON = "geojson"
    XLSX = "xlsx"


#: The HTTP content type of each format (for the web dashboard's downloads).
MEDIA_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.GEOJSON: "application/geo+json",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class ExportRequest:
    """What to export and how; the selection comes from `reports.selection.select_stories`."""

    format: ExportFormat
    selection: Selection = field(default_factory=Selection)
    hxl: bool = False

    def __post_init__(self) -> None:
        if self.hxl and self.format == ExportFormat.GEOJSON:
            raise InvalidInput(
                "HXL hashtags go into a header row: use --hxl with csv or xlsx, not geojson"
            )

    @property
    def media_type(self) -> str:
        """The content type of the file."""
        return MEDIA_TYPES[self.format]

    def filename(self) -> str:
        """A file name for a download: `suara-pesisir-2026-11-01-2026-11-30.hxl.csv`."""
        period = "-".join(str(day) for day in (self.selection.start, self.selection.end) if day)
        stem = "suara-pesisir" + (f"-{period}" if period else "")
        return f"{stem}{'.hxl' if self.hxl else ''}.{self.format.value}"


def stories(engine: Engine, selection: Selection, *, page: int = PAGE) -> Iterator[OpenStory]:
    """Every selected story, by id, read `page` at a time (each page in its own short
    transaction), with the links of its sent posts."""
    where = conditions(selection, engine.dialect.name)
    after = 0
    while True:
        with Session(engine) as session:
            batch = open_stories(session, where, after_id=after, limit=page)
            links = post_links(session, [story.id for story in batch])
        if not batch:
            return
        for story in batch:
            found = links.get(story.id)
            yield replace(story, post_links=tuple(found)) if found else story
        after = batch[-1].id


def count(engine: Engine, selection: Selection) -> int:
    """How many stories an export of `selection` holds."""
    with Session(engine) as session:
        return count_stories(session, conditions(selection, engine.dialect.name))


def write_export(
    engine: Engine,
    request: ExportRequest,
    stream: IO[bytes],
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the export to a binary stream; the number of stories written.

    `progress(n)` is called after every `n` stories. XLSX is built in a temporary file (a zip
    is complete only when closed) and then copied to `stream`.
    """
    zone = ZoneInfo(request.selection.timezone)
    if request.format == ExportFormat.XLSX and count(engine, request.selection) > XLSX_MAX_STORIES:
        raise InvalidInput(
            f"more than {XLSX_MAX_STORIES:,} stories do not fit in one XLSX sheet; "
            "export them as csv, or choose a shorter period with --from and --to"
        )
    rows = _counted(stories(engine, request.selection), progress)
    values = ((story, row_values(story, zone)) for story in rows)
    writer: Any = {
        ExportFormat.CSV: formats.write_csv,
        ExportFormat.GEOJSON: formats.write_geojson,
        ExportFormat.XLSX: formats.write_xlsx,
    }[request.format]
    written: int = writer(values, stream, hxl=request.hxl)
    return written


def _counted(
    items: Iterator[OpenStory], progress: Callable[[int], None] | None, every: int = 1000
) -> Iterator[OpenStory]:
    """The items, telling `progress` every `every` of them (and the rest at the end)."""
    pending = 0
    for item in items:
        yield item
        pending += 1
        if progress is not None and pending == every:
            progress(pending)
            pending = 0
    if progress is not None and pending:
        progress(pending)
