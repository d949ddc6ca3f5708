"""`pesisir exif` and `pesisir media process`: read photo metadata, write safe renditions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

media_app = typer.Typer(help="Photos: safe renditions for the channels.", no_args_is_help=True)

FilesArg = Annotated[list[Path], typer.Argument(help="Photo files (any name; read by content).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object per file, per line.")]


def exif(files: FilesArg, as_json: JsonOpt = False) -> None:
    """Print what each photo says: size, orientation, GPS, capture time, camera."""
    from pipeline.exif import read_metadata

    for path in files:
        meta = read_metadata(path)
        if as_json:
            typer.echo(json.dumps(meta.as_json(), ensure_ascii=False))
            continue
        if meta.error:
            typer.echo(f"{path}: refused ({meta.error})")
            continue
        place = f"{meta.gps_lat:.6f},{meta.gps_lon:.6f}" if meta.gps_lat is not None else "no GPS"
        flags = f" [{', '.join(meta.flags)}]" if meta.flags else ""
        camera = " ".join(part for part in (meta.make, meta.model) if part) or "unknown camera"
        typer.echo(
            f"{path}: {meta.width}×{meta.height}, orientation {meta.orientation or '-'}, "
            f"{place}{flags}, taken {meta.taken_at or 'unknown'}, {camera}"
        )


@media_app.command("process")
def process(
    files: FilesArg,
    out: Annotated[Path, typer.Option("--out", help="Folder for the renditions.")],
    as_json: JsonOpt = False,
) -> None:
    """Write web, feed, square and thumb renditions (no metadata) of each photo into OUT/<name>/."""
    from pipeline.images import process_many

    for result in process_many(files, out):
        if as_json:
            typer.echo(json.dumps(result.as_json(), ensure_ascii=False))
        elif result.error:
            typer.echo(f"{result.file}: refused ({result.error})")
        else:
            sizes = ", ".join(
                f"{name} {r['width']}×{r['height']} {r['bytes'] // 1000} kB"
                for name, r in result.renditions.items()
            )
            typer.echo(f"{result.file}: {sizes}")


if __name__ == "__main__":
    # `python -m cli.media FILE... --out DIR`: the same command without the start-up of the
    # rest of the command line (benchmarks/photo_real.py times both).
    media_app()
