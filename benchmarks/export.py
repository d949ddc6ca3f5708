"""Export benchmark: seconds and peak memory of `pesisir export` for 100,000 and 1,000,000
stories, CSV / GeoJSON / XLSX, on SQLite (a temporary file) and PostgreSQL
(PESISIR_BENCH_DATABASE_URL, default the local `bench_reports` database, which it EMPTIES).

Baseline measured in the same run, on the same data, with the same output (checked by SHA-256):
a naive export that loads every selected story, its photo counts and its post links into memory
first (three whole-table queries), then writes. Each measurement runs in a fresh process; its
peak memory is that process's maximum resident set (VmHWM), imports included.

    PYTHONPATH=. python benchmarks/export.py [--rows 100000 1000000] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from benchmarks.corpus import build, reset
from core.db import make_engine
from core.models import Submission
from core.open_data import open_story, open_story_query, public_photo_counts
from publishers.calendar import post_links
from reports import ExportFormat, ExportRequest, select_stories, write_export
from reports import formats as writers
from reports.columns import row_values
from reports.selection import conditions

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_reports"
WRITERS = {
    ExportFormat.CSV: writers.write_csv,
    ExportFormat.GEOJSON: writers.write_geojson,
    ExportFormat.XLSX: writers.write_xlsx,
}


def naive_export(url: str, request: ExportRequest, stream: IO[bytes]) -> int:
    """Everything into memory first, then the same writer: what streaming is measured against."""
    engine = make_engine(url)
    where = conditions(request.selection, engine.dialect.name)
    ids = select(col(Submission.id)).where(*where)
    with Session(engine) as session:
        rows = session.execute(open_story_query(where)).all()
        photos = public_photo_counts(session, ids)
        links = post_links(session, ids)
    stories = [
        replace(open_story(row, photo_count=photos.get(row.id, 0)), post_links=tuple(found))
        if (found := links.get(row.id))
        else open_story(row, photo_count=photos.get(row.id, 0))
        for row in rows
    ]
    zone = ZoneInfo(request.selection.timezone)
    values = [(story, row_values(story, zone)) for story in stories]
    written: int = WRITERS[request.format](values, stream, hxl=request.hxl)
    engine.dispose()
    return written


def child(url: str, fmt: str, mode: str, out: str) -> None:
    """One measurement, in this fresh process: prints JSON."""
    request = ExportRequest(ExportFormat(fmt), select_stories(states=["all"]))
    started = time.perf_counter()
    with open(out, "wb") as stream:
        if mode == "imports":  # nothing: the memory every process starts with
            written = 0
        elif mode == "stream":
            engine = make_engine(url)
            written = write_export(engine, request, stream)
            engine.dispose()
        else:
            written = naive_export(url, request, stream)
    seconds = time.perf_counter() - started
    print(json.dumps({"rows": written, "seconds": seconds, "peak_mib": peak_mib()}))


def peak_mib() -> float:
    """This process's peak resident memory. Linux's VmHWM starts afresh at exec; `ru_maxrss`
    would also count the parent's memory at the fork (the benchmark that built the corpus)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(url: str, fmt: ExportFormat, mode: str, folder: Path) -> dict[str, Any]:
    out = folder / f"{mode}.{fmt.value}"
    command = [sys.executable, __file__, "--child", url, fmt.value, mode, str(out)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if fmt == ExportFormat.XLSX:  # a zip holds timestamps: compare the sheet, not the bytes
        import zipfile

        with zipfile.ZipFile(out) as book:
            data = book.read("xl/worksheets/sheet1.xml")
    else:
        data = out.read_bytes()
    result["sha256"] = hashlib.sha256(data).hexdigest()
    result["mib"] = out.stat().st_size / 2**20
    out.unlink()
    return result


def run(name: str, url: str, rows: int, formats: list[ExportFormat]) -> list[str]:
    reset(url)
    engine = make_engine(url)
    started = time.perf_counter()
    built = build(engine, stories=rows, posts=rows // 50)
    engine.dispose()
    print(f"\n{name}: {built.stories:,} stories, {built.media:,} photos, {built.posts:,} posts "
          f"built in {time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    lines = []
    with tempfile.TemporaryDirectory(prefix="pesisir-bench-") as folder:
        floor = measure(url, ExportFormat.CSV, "imports", Path(folder))["peak_mib"]
        print(f"a process that only imports the project peaks at {floor:.0f} MiB", flush=True)
        for fmt in formats:
            streamed = measure(url, fmt, "stream", Path(folder))
            naive = measure(url, fmt, "naive", Path(folder))
            assert streamed["sha256"] == naive["sha256"], f"{fmt}: outputs differ"
            assert streamed["rows"] == naive["rows"]
            line = (
                f"| {name} | {rows:,} | {fmt.value} | {streamed['seconds']:.1f} s | "
                f"{streamed['peak_mib']:.0f} MiB | {naive['seconds']:.1f} s | "
                f"{naive['peak_mib']:.0f} MiB | "
                f"{naive['peak_mib'] / streamed['peak_mib']:.1f}x | {streamed['mib']:.0f} MiB |"
            )
            print(line, flush=True)
            lines.append(line)
    return lines


def main() -> None:
    """Build each corpus, measure each format both ways, print a Markdown table."""
    if sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--formats", nargs="+", default=[f.value for f in ExportFormat])
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    formats = [ExportFormat(name) for name in args.formats]
    backends = []
    with tempfile.TemporaryDirectory(prefix="pesisir-bench-db-") as folder:
        backends.append(("SQLite", f"sqlite:///{folder}/bench-{{rows}}.db"))
        if not args.sqlite_only:
            backends.append(
                ("PostgreSQL", os.environ.get("PESISIR_BENCH_DATABASE_URL", DEFAULT_PG))
            )
        header = (
            "| database | stories | format | streamed | peak memory | naive (all in memory) "
            "| peak memory | memory ÷ | file |\n|---|---|---|---|---|---|---|---|---|"
        )
        lines = []
        for name, url in backends:
            for rows in args.rows:  # a SQLite file per size (reset() only empties PostgreSQL)
                lines += run(name, url.format(rows=rows), rows, formats)
        print("\n" + header)
        print("\n".join(lines))


if __name__ == "__main__":
    main()
