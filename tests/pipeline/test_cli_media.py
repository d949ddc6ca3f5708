"""`pesisir exif` and `pesisir media process` through Typer's runner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.pipeline.exif_builder import ascii_entry, exif_block, jpeg_with_exif, rational_entry

EXIF_KEYS = {
    "file",
    "width",
    "height",
    "orientation",
    "gps_lat",
    "gps_lon",
    "taken_at",
    "make",
    "model",
    "error",
}


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    block = exif_block(
        [ascii_entry(0x010F, "OPPO"), ascii_entry(0x0110, "A57")],
        [ascii_entry(0x9003, "2025:01:15 07:30:00"), ascii_entry(0x9011, "+08:00")],
        [
            ascii_entry(1, "S"),
            rational_entry(2, [(10, 1), (10, 1), (3792, 100)]),
            ascii_entry(3, "E"),
            rational_entry(4, [(123, 1), (36, 1), (252, 10)]),
        ],
    )
    return jpeg_with_exif(tmp_path / "pantai.jpg", block, size=(1200, 900))


def test_exif_json_one_object_per_file_bad_ones_included(tmp_path: Path, photo: Path) -> None:
    junk = tmp_path / "junk.jpg"
    junk.write_text("not a photo")
    result = CliRunner().invoke(app, ["exif", str(photo), str(junk), str(photo), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3
    assert all(set(line) == EXIF_KEYS for line in lines)
    good, bad = lines[0], lines[1]
    assert good["error"] is None
    assert (good["width"], good["height"], good["make"], good["model"]) == (
        1200,
        900,
        "OPPO",
        "A57",
    )
    assert good["taken_at"] == "2025-01-15T07:30:00+08:00"
    assert good["gps_lat"] == pytest.approx(-10.1772, abs=1e-6)
    assert good["orientation"] is None
    assert bad["error"] == "not_an_image" and bad["width"] is None
    assert lines[2] == good


def test_exif_text_output(photo: Path) -> None:
    result = CliRunner().invoke(app, ["exif", str(photo)])
    assert result.exit_code == 0
    assert "1200×900" in result.output and "OPPO A57" in result.output


def test_media_process_json(tmp_path: Path, photo: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["media", "process", str(photo), str(empty), "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output  # it ran, whatever it refused
    good, bad = (json.loads(line) for line in result.stdout.splitlines())
    assert set(good) == set(bad) == {"file", "renditions", "error"}
    assert good["error"] is None and bad == {"file": str(empty), "renditions": {}, "error": "empty"}
    assert set(good["renditions"]) == {"web", "feed", "square", "thumb"}
    for info in good["renditions"].values():
        assert set(info) == {"path", "width", "height", "bytes"}
        assert Path(info["path"]).stat().st_size == info["bytes"]
        assert Path(info["path"]).parent == out / "pantai"
    assert (good["renditions"]["feed"]["width"], good["renditions"]["feed"]["height"]) == (
        1080,
        1350,
    )


def test_media_process_text_output(tmp_path: Path, photo: Path) -> None:
    result = CliRunner().invoke(app, ["media", "process", str(photo), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0
    assert "web 1200×900" in result.output


def test_media_command_alone_in_a_fresh_process_forks_its_workers(
    tmp_path: Path, photo: Path
) -> None:
    """`python -m cli.media` (the command without the rest of the command line): in a fresh
    process libvips has not worked yet, so its worker processes are forked; all files done."""
    other = tmp_path / "lain" / "pantai.jpg"
    other.parent.mkdir()
    other.write_bytes(photo.read_bytes())
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "cli.media", str(photo), str(other), "--out", str(out), "--json"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(photo), str(other)]
    assert [line["error"] for line in lines] == [None, None]
    assert sorted(p.name for p in out.iterdir()) == ["pantai", "pantai-2"]
