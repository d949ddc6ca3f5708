"""`pesisir tag`: themes, place, language and flags for a text or a JSON-lines file."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

#: The longest input line read (a story is a few thousand characters): a longer one gets an
#: error object and is skipped without being held in memory.
MAX_LINE_BYTES = 1_000_000
_SKIP_CHUNK = 1 << 20


def _lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """Numbered lines of a stream, read one at a time; None for a line over MAX_LINE_BYTES."""
    number = 0
    while line := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := stream.readline(_SKIP_CHUNK)) and not rest.endswith(b"\n"):
                pass
            yield number, None
        else:
            yield number, line


def _line_result(raw: bytes | None, number: int) -> dict[str, Any]:
    """One output object for one input line; a bad line gives an error object, not a crash."""
    if raw is None:
        limit = f"{MAX_LINE_BYTES:,}"
        return {"id": None, "line": number, "error": f"line longer than {limit} bytes: skipped"}
    try:
        item = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return {"id": None, "line": number, "error": "not UTF-8 text"}
    except json.JSONDecodeError as exc:
        return {"id": None, "line": number, "error": f"not valid JSON: {exc.msg}"}
    if not isinstance(item, dict):
        return {"id": None, "line": number, "error": "expected an object with id and text"}
    text = item.get("text")
    if not isinstance(text, str):
        return {"id": item.get("id"), "line": number, "error": "missing or non-string 'text'"}
    from pipeline.tagging import tag_text  # the model loads once, on the first line

    return {"id": item.get("id"), **tag_text(text).public_dict()}


def _tag_lines(jsonl: Path) -> None:
    """Tag a JSON-lines file (or stdin) line by line: memory stays small for any size."""
    try:
        stream = sys.stdin.buffer if str(jsonl) == "-" else jsonl.open("rb")
    except OSError as exc:
        typer.echo(f"Cannot read {jsonl}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    try:
        for number, line in _lines(stream):
            if line is None or line.strip():
                typer.echo(json.dumps(_line_result(line, number), ensure_ascii=False))
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _parse_point(value: str) -> tuple[float, float]:
    try:
        lat_text, lon_text = value.split(",")
        return float(lat_text), float(lon_text)
    except ValueError as exc:
        raise typer.BadParameter("use LAT,LON, e.g. --at=-10.15,123.64", param_hint="--at") from exc


def _human(result: dict[str, Any]) -> str:
    from core import taxonomy

    themes = ", ".join(
        f"{taxonomy.label(t['slug'], 'id')} ({t['score']:.2f}: {', '.join(t['evidence'])})"
        for t in result["themes"]
    )
    place = result["place"]
    where = f"{place['name']} ({place['kind']}; {place['evidence']})" if place else "-"
    flags = ", ".join(f"{f['kind']}: {f['text']}" for f in result["flags"]) or "-"
    return "\n".join(
        [
            f"themes: {themes or '-'}",
            f"place:  {where}",
            f"lang:   {result['lang']}",
            f"flags:  {flags}",
        ]
    )


def tag(
    text: Annotated[str | None, typer.Argument(help="Story text to tag.")] = None,
    jsonl: Annotated[
        Path | None,
        typer.Option("--jsonl", help='File of {"id", "text"} lines ("-" for stdin).'),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    at: Annotated[
        str | None,
        typer.Option("--at", help="A location shared in the chat, as LAT,LON (decimal degrees)."),
    ] = None,
) -> None:
    """Tag a story text with climate themes, a place, its language and safety flags."""
    chat_point = _parse_point(at) if at is not None else None
    if (text is None) == (jsonl is None):
        typer.echo("Give either a TEXT or --jsonl FILE (not both).", err=True)
        raise typer.Exit(2)
    if jsonl is not None:
        _tag_lines(jsonl)
        return
    assert text is not None
    from pipeline.tagging import tag_text

    result = tag_text(text, chat_point=chat_point).public_dict()
    typer.echo(json.dumps(result, ensure_ascii=False) if as_json else _human(result))
