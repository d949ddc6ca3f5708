"""The file formats of an export, each written row by row from `reports.export`'s values.

- CSV: UTF-8, comma, `.` decimals, a header row (and the HXL hashtag row with `--hxl`). A text
  cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so a
  spreadsheet opening the file never runs a story's text as a formula (OWASP, CSV injection).
- GeoJSON: one RFC 7946 FeatureCollection, a Point at the public place's centroid (lon, lat) or
  a null geometry for a story without a mapped place; written feature by feature. Themes and
  post links are JSON arrays there.
- XLSX: XlsxWriter in constant-memory mode, strings never read as formulas, links or numbers.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from typing import IO, Any

from core.open_data import OpenStory
from reports.columns import COLUMNS, Value

Rows = Iterable[tuple[OpenStory, Sequence[Value]]]

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """A text cell that a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _csv_cell(value: str | int | float | None) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_text(value)
    return value


def write_csv(rows: Rows, stream: IO[bytes], *, hxl: bool = False) -> int:
    """CSV (RFC 4180), with the HXL hashtag row under the header when `hxl`; rows written."""
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=False)
    try:
        writer = csv.writer(text)
        writer.writerow([name for name, _ in COLUMNS])
        if hxl:
            writer.writerow([tag for _, tag in COLUMNS])
        written = 0
        for _, values in rows:
            writer.writerow([_csv_cell(value) for value in values])
            written += 1
        text.flush()
        return written
    finally:
        text.detach()


def write_geojson(rows: Rows, stream: IO[bytes], *, hxl: bool = False) -> int:
    """A FeatureCollection, feature by feature; rows written (`hxl` does not apply)."""
    names = [name for name, _ in COLUMNS]
    lat, lon = names.index("lat"), names.index("lon")
    kept = [index for index in range(len(names)) if index not in (lat, lon)]
    stream.write(b'{"type":"FeatureCollection","features":[')
    written = 0
    for story, values in rows:
        point = values[lat], values[lon]
        geometry = (
            {"type": "Point", "coordinates": [point[1], point[0]]}
            if point[0] is not None and point[1] is not None
            else None
        )
        feature = {
            "type": "Feature",
            "id": story.ref,
            "geometry": geometry,
            "properties": {names[index]: values[index] for index in kept}
            | {"themes": list(story.themes), "post_links": list(story.post_links)},
        }
        if written:
            stream.write(b",\n")
        stream.write(
            json.dumps(feature, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode(
                "utf-8"
            )
        )
        written += 1
    stream.write(b"]}\n")
    return written


def write_xlsx(rows: Rows, stream: IO[bytes], *, hxl: bool = False) -> int:
    """One sheet, header (and HXL row), then a row per story; rows written."""
    import xlsxwriter  # only exports in XLSX need it

    with tempfile.TemporaryDirectory(prefix="pesisir-xlsx-") as folder:
        path = f"{folder}/export.xlsx"
        book: Any = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,  # rows are flushed to disk as they are written
                "tmpdir": folder,
                # Citizens' text must stay text: never a formula, a link or a number.
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        sheet = book.add_worksheet("stories")
        bold = book.add_format({"bold": True})
        header = [name for name, _ in COLUMNS]
        sheet.write_row(0, 0, header, bold)
        first = 1
        if hxl:
            sheet.write_row(1, 0, [tag for _, tag in COLUMNS], bold)
            first = 2
        sheet.freeze_panes(first, 1)
        widths = {"ref": 10, "submitted_at": 25, "published_at": 25, "text": 60}
        for index, name in enumerate(header):
            sheet.set_column(index, index, widths.get(name, 14))
        written = 0
        for _, values in rows:
            row = first + written
            for column, value in enumerate(values):
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(row, column, value)
                else:
                    sheet.write_number(row, column, value)
            written += 1
        book.close()
        with open(path, "rb") as built:
            shutil.copyfileobj(built, stream, length=1024 * 1024)
    return written
