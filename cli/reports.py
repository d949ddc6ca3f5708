"""`pesisir brief` (a PDF for policy makers) and `pesisir export` (CSV, GeoJSON, XLSX, HXL).

Both read the settings' database and time zone (`PESISIR_TIMEZONE`: the dates you give are
local dates there) and call `reports`, as the web dashboard does. WeasyPrint and matplotlib
are imported only by `brief`, so the other commands stay quick to start.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from cli import common
from core.errors import ConfigError, PesisirError

if TYPE_CHECKING:  # `reports` loads the models: only when a command runs, not for `--help`
    from core.config import Settings
    from reports import Selection

From = Annotated[
    str | None,
    typer.Option("--from", help="first day, a local date (PESISIR_TIMEZONE): 2026-11-01"),
]
To = Annotated[str | None, typer.Option("--to", help="last day, included: 2026-11-30")]
Theme = Annotated[str | None, typer.Option(help="only stories with this theme, e.g. banjir-rob")]
Place = Annotated[
    str | None,
    typer.Option(help="only stories at this place or inside it: an id or a name (kota-kupang)"),
]


@contextmanager
def _kindly() -> Iterator[None]:
    """Wrong input becomes one line on standard error and exit code 1 (a wrong setting goes on
    to `pesisir`'s own handler: one line, exit code 2)."""
    try:
        yield
    except ConfigError:
        raise
    except PesisirError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


def _selection(
    settings: Settings,
    *,
    start: str | None,
    end: str | None,
    theme: str | None,
    place: str | None,
    states: list[str] | None = None,
) -> Selection:
    from reports import select_stories
    from reports.selection import parse_day

    return select_stories(
        start=parse_day(start, "--from"),
        end=parse_day(end, "--to"),
        states=states,
        theme=theme,
        place=place,
        timezone=settings.timezone,
    )


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on standard error when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.advance(task, done)


def _output(out: Path | None) -> Any:
    """Where the export goes: a part file renamed on success, or standard output."""
    if out is None:
        return nullcontext(sys.stdout.buffer)
    return _part_file(out)


@contextmanager
def _part_file(out: Path) -> Iterator[IO[bytes]]:
    """`out.part` while writing, renamed to `out` when complete (no half-written file)."""
    part = out.with_name(out.name + ".part")
    try:
        with part.open("wb") as stream:
            yield stream
        part.replace(out)
    finally:
        part.unlink(missing_ok=True)


def export(  # noqa: PLR0917 - Typer maps each parameter to an option
    format: Annotated[str, typer.Option("--format", help="csv, geojson or xlsx")] = "csv",
    hxl: Annotated[
        bool, typer.Option("--hxl", help="add the HXL hashtag row (csv and xlsx), for HDX tools")
    ] = False,
    start: From = None,
    end: To = None,
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state",
            help="a state (repeat it for several) or all; default: approved, scheduled, published",
        ),
    ] = None,
    theme: Theme = None,
    place: Place = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="the file to write (default: standard output)")
    ] = None,
) -> None:
    """Export stories as open data: public fields only, never a name not chosen, never a point
    finer than the kelurahan/desa."""
    from reports import ExportFormat, ExportRequest, write_export
    from reports.export import count

    try:
        chosen = ExportFormat(format.lower())
    except ValueError:
        known = ", ".join(f"'{kind.value}'" for kind in ExportFormat)
        raise typer.BadParameter(
            f"{format!r} is not one of {known}", param_hint="--format"
        ) from None
    if chosen == ExportFormat.XLSX and out is None and sys.stdout.isatty():
        typer.echo(
            "error: an XLSX file cannot be shown in a terminal; add --out stories.xlsx "
            "(or redirect: > stories.xlsx)",
            err=True,
        )
        raise typer.Exit(1)
    with _kindly():
        settings = common.load_settings()
        request = ExportRequest(
            chosen,
            _selection(settings, start=start, end=end, theme=theme, place=place, states=state),
            hxl=hxl,
        )
        engine = common.open_database(settings)
        total = count(engine, request.selection)
        with _progress(total, "export") as progress, _output(out) as stream:
            written = write_export(engine, request, stream, progress=progress)
            stream.flush()
    where = str(out) if out is not None else "standard output"
    noun = "story" if written == 1 else "stories"
    typer.echo(f"{written:,} {noun} exported ({chosen.value}) to {where}.", err=True)


def brief(  # noqa: PLR0917 - Typer maps each parameter to an option
    start: From = None,
    end: To = None,
    place: Place = None,
    theme: Theme = None,
    lang: Annotated[str, typer.Option("--lang", help="id (Indonesian, default) or en")] = "id",
    out: Annotated[Path, typer.Option("--out", help="the PDF to write")] = Path("brief.pdf"),
) -> None:
    """A policy brief (PDF, A4) of the stories moderators approved in a period: numbers,
    themes, places, the trend, quotes, methods and limits."""
    from reports import BriefRequest, render_brief

    with _kindly():
        settings = common.load_settings()
        selection = _selection(settings, start=start, end=end, theme=theme, place=place)
        request = BriefRequest(selection, lang=lang, contact=settings.brief_contact)
        engine = common.open_database(settings)
        pdf = render_brief(engine, request, data_dir=settings.data_dir)
        with _part_file(out) as stream:
            stream.write(pdf)
    typer.echo(f"Brief written to {out} ({len(pdf) // 1024} KB).", err=True)


def register(app: typer.Typer) -> None:
    """Add `brief` and `export` to the `pesisir` app."""
    app.command("brief")(brief)
    app.command("export")(export)
