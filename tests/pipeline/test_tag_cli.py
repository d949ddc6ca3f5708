"""`pesisir tag` through Typer's CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def test_tag_text_json() -> None:
    result = runner.invoke(
        app, ["tag", "Sonde banjir lai di Oesapa, tapi sumur su kering", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [t["slug"] for t in out["themes"]] == ["kekeringan-air"]
    assert out["place"]["id"] == "kel-oesapa" and out["place"]["source"] == "text"
    assert out["lang"] == "mkn"
    assert out["flags"] == []


def test_tag_text_human() -> None:
    result = runner.invoke(app, ["tag", "Rob masuk rumah di Namosain"])
    assert result.exit_code == 0
    assert "Banjir & rob" in result.output and "Namosain" in result.output


def test_tag_jsonl_with_a_bad_line(tmp_path: Path) -> None:
    source = tmp_path / "stories.jsonl"
    source.write_text(
        "\n".join(
            [
                json.dumps({"id": "a", "text": "Listrik padam di Sulamu"}),
                "{not json",
                json.dumps({"id": "c"}),
                "",
                json.dumps(["not", "an", "object"]),
                json.dumps({"id": 5, "text": "Dijual motor, nego tipis, hubungi WA 081234567890"}),
            ]
        ),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["tag", "--jsonl", str(source)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 5
    assert lines[0]["id"] == "a" and lines[0]["themes"][0]["slug"] == "energi"
    assert lines[0]["place"]["id"] == "kel-sulamu"
    assert lines[1]["error"].startswith("not valid JSON") and lines[1]["line"] == 2
    assert lines[2] == {"id": "c", "line": 3, "error": "missing or non-string 'text'"}
    assert lines[3]["error"] == "expected an object with id and text"
    assert lines[4]["id"] == 5 and lines[4]["themes"] == []
    assert [f["kind"] for f in lines[4]["flags"]] == ["phone", "spam"]


def test_tag_needs_text_or_file(tmp_path: Path) -> None:
    assert runner.invoke(app, ["tag"]).exit_code == 2
    both = runner.invoke(app, ["tag", "x", "--jsonl", str(tmp_path / "f")])
    assert both.exit_code == 2
    missing = runner.invoke(app, ["tag", "--jsonl", str(tmp_path / "missing.jsonl")])
    assert missing.exit_code == 1


def test_tag_with_a_chat_location() -> None:
    result = runner.invoke(app, ["tag", "Rob lagi di sini", "--json", "--at=-10.1455,123.6531"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["place"]["id"] == "kel-oesapa" and out["place"]["source"] == "chat"
    assert "123.6531" not in result.output  # the exact point stays private
    bad = runner.invoke(app, ["tag", "x", "--at", "Oesapa"])
    assert bad.exit_code == 2


def test_tag_jsonl_from_stdin_survives_a_line_that_is_not_utf8() -> None:
    good = json.dumps({"id": "ok", "text": "Sumur su asin di Oesapa"}).encode()
    broken = b'{"id": "x", "text": "\xff\xfe rusak"}'
    result = runner.invoke(app, ["tag", "--jsonl", "-"], input=broken + b"\n" + good + b"\n")
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first == {"id": None, "line": 1, "error": "not UTF-8 text"}
    assert second["id"] == "ok" and second["themes"]


def test_tag_jsonl_keeps_its_fields_and_only_adds(tmp_path: Path) -> None:
    """Consumers of `tag --jsonl` keep every field they had; new ones are only added."""
    source = tmp_path / "stories.jsonl"
    source.write_text(
        json.dumps({"id": "x", "text": "Ombak su makan pantai di Lasiana, pohon kelapa tumbang"})
        + "\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["tag", "--jsonl", str(source)])
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(raw) for raw in result.stdout.splitlines()]
    before = {"id", "themes", "place", "lang", "flags", "spam_score", "rules_version"}
    assert before <= set(line) and set(line) - before == {"model_version"}
    theme = line["themes"][0]
    assert {"slug", "score", "evidence"} <= set(theme)
    assert isinstance(theme["score"], float)
    assert theme["evidence"] and all(isinstance(word, str) for word in theme["evidence"])
    assert set(theme) - {"slug", "score", "evidence"} == {"by", "evidence_items"}
    assert set(line["place"]) == {"id", "name", "kind", "lat", "lon", "source", "evidence"}


def test_a_huge_line_is_skipped_with_an_error_and_memory_stays_small(tmp_path: Path) -> None:
    """A 60 MB line once made `tag --jsonl` grow to gigabytes; now it is skipped unread, and the
    lines after it are tagged. Run as a real process to measure its peak memory."""
    source = tmp_path / "stories.jsonl"
    with source.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"id": "a", "text": "Listrik padam di Sulamu"}) + "\n")
        out.write('{"id": "big", "text": "' + "air " * 15_000_000 + '"}\n')
        out.write(json.dumps({"id": "c", "text": "Rob masuk rumah di Namosain"}) + "\n")
    script = (
        "import re, runpy, sys\n"
        "sys.argv = ['pesisir', 'tag', '--jsonl', sys.argv[1]]\n"
        "try:\n    runpy.run_module('cli', run_name='__main__')\n"
        "finally:\n"
        # The high-water mark of this process image (ru_maxrss would count the forked parent).
        "    peak = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1]\n"
        "    print('PEAK_KB', peak, file=sys.stderr)\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", script, str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    lines = [json.loads(line) for line in finished.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", None, "c"]
    assert lines[1] == {"id": None, "line": 2, "error": "line longer than 1,000,000 bytes: skipped"}
    peak_mb = int(finished.stderr.split("PEAK_KB")[1].split()[0]) / 1024
    assert peak_mb < 200  # the process itself peaks near 140 MB; the line alone is 60 MB
