"""Photo pipeline on real camera and phone photos, as whole processes: `pesisir media process`
against the plain way and against one bare full decode, on the same files in the same run.

The photos: the shared EXIF corpus (`../shared/exif-corpus/images`, or `--corpus`), read where
it is, never copied. The rule: every file that is a JPEG by content and that Pillow decodes
whole without an error, largest pixel count first (ties by path), the first 40. The corpus holds
only seven JPEGs of 12 megapixels or more, so the 40 run from 22 MP down to about 4 MP; how many
are turned (EXIF orientation other than 1) is printed.

Each way is one new process over all 40 files, timed from start to exit, as a person would run it:

- pipeline: `pesisir media process FILE... --out DIR` (metadata and four renditions per photo);
- media-only: the same command as `python -m cli.media FILE... --out DIR`, without the start-up
  of the rest of the command line (which imports the bot, the web and the database first);
- plain: a naive script: full decode, LANCZOS to 2048 px, save as JPEG, one file after another;
- decode: a script that decodes each file whole once and does nothing else;
- start-up: `pesisir --help`, to show what of the pipeline's time is the command's start.

Rounds interleave the ways, so that load from other processes falls on all of them alike, and
the fastest round of each counts. The load average (`uptime`) is printed before and after.

Run: PYTHONPATH=. python benchmarks/photo_real.py [--repeat 5] [--count 40] [--turned-only]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "exif-corpus" / "images"

PLAIN = """
import sys
from pathlib import Path
from PIL import Image
out = Path(sys.argv[1])
for n, name in enumerate(sys.argv[2:]):
    with Image.open(name) as original:
        image = original.convert("RGB")
        image.thumbnail((2048, 2048), Image.Resampling.LANCZOS, reducing_gap=None)
        image.save(out / f"{n}.jpg", "JPEG", quality=85)
"""

DECODE = """
import sys
from PIL import Image
for name in sys.argv[2:]:
    with Image.open(name) as image:
        image.load()
"""


@dataclass(frozen=True)
class Photo:
    """One corpus file: where, its size and EXIF orientation."""

    path: Path
    width: int
    height: int
    orientation: int

    @property
    def megapixels(self) -> float:
        """Pixels in millions."""
        return self.width * self.height / 1e6


def select(corpus: Path, count: int, *, turned_only: bool = False) -> list[Photo]:
    """The `count` largest JPEGs of the corpus that decode whole (see the module docstring)."""
    candidates = []
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        try:
            with Image.open(path) as image:
                if image.format not in ("JPEG", "MPO"):
                    continue
                orientation = int(image.getexif().get(0x0112, 1) or 1)
                candidates.append(Photo(path, image.width, image.height, orientation))
        except Exception:  # noqa: BLE001 - not an image we can open: not a candidate
            continue
    candidates.sort(key=lambda p: (-p.width * p.height, str(p.path)))
    chosen: list[Photo] = []
    for photo in candidates:
        if turned_only and photo.orientation == 1:
            continue
        try:  # the plain way and the bare decode must get through every file
            with Image.open(photo.path) as image:
                image.load()
        except Exception:  # noqa: BLE001 - truncated or broken: not a fair benchmark file
            continue
        chosen.append(photo)
        if len(chosen) == count:
            break
    return chosen


def pesisir_command() -> list[str]:
    """The `pesisir` console script beside this interpreter, else `python -m cli` (the same)."""
    script = Path(sys.executable).with_name("pesisir")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli"]


def commands(files: list[str], out: Path) -> dict[str, list[str]]:
    """The whole-process command of each way."""
    pesisir = pesisir_command()
    return {
        "pipeline": [*pesisir, "media", "process", *files, "--out", str(out / "pipeline")],
        "media-only": [sys.executable, "-m", "cli.media", *files, "--out", str(out / "pipeline")],
        "plain": [sys.executable, "-c", PLAIN, str(out / "plain"), *files],
        "decode": [sys.executable, "-c", DECODE, str(out), *files],
        "start-up": [*pesisir, "--help"],
    }


def run(command: list[str], out: Path) -> tuple[float, float]:
    """Seconds from start to exit of one process, and the CPU seconds it and its worker
    processes used; its output folders are emptied first."""
    for folder in ("pipeline", "plain"):
        shutil.rmtree(out / folder, ignore_errors=True)
        (out / folder).mkdir(parents=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--count", type=int, default=40, help="photos (the largest)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the fastest counts")
    parser.add_argument("--turned-only", action="store_true", help="only turned photos")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"no corpus at {args.corpus}")
    photos = select(args.corpus, args.count, turned_only=args.turned_only)
    turned = [p for p in photos if p.orientation != 1]
    mp = [p.megapixels for p in photos]
    mb = sum(p.path.stat().st_size for p in photos) / 1e6
    kinds = sorted({p.orientation for p in turned})
    by_kind = ", ".join(f"{o}: {sum(p.orientation == o for p in turned)}" for o in kinds)
    print(
        f"{len(photos)} JPEGs from {args.corpus}: {min(mp):.1f}–{max(mp):.1f} MP "
        f"({sum(m >= 12 for m in mp)} of 12 MP or more), {mb:.0f} MB in all; "
        f"{len(turned)} turned (orientation {by_kind}), {len(photos) - len(turned)} upright"
    )
    print(f"cores: {os.cpu_count()}, load average before: {load()}")
    files = [str(p.path) for p in photos]
    with tempfile.TemporaryDirectory(prefix="pesisir-bench-real-") as tmp:
        out = Path(tmp)
        ways = commands(files, out)
        times: dict[str, list[float]] = {name: [] for name in ways}
        cpus: dict[str, list[float]] = {name: [] for name in ways}
        for round_number in range(args.repeat):
            for name, command in ways.items():
                wall, cpu = run(command, out)
                times[name].append(wall)
                cpus[name].append(cpu)
            print(
                f"round {round_number + 1}: "
                + ", ".join(f"{name} {times[name][-1]:.2f} s" for name in ways)
                + f" (load {load()})"
            )
    best = {name: min(values) for name, values in times.items()}
    cpu = {name: min(values) for name, values in cpus.items()}
    print(f"load average after: {load()}")
    print("fastest round of each, whole processes over all the files (CPU: least of the rounds):")
    for name, seconds in best.items():
        print(
            f"  {name:9} {seconds:6.2f} s  ({seconds / len(photos) * 1000:5.0f} ms a photo)"
            f"  CPU {cpu[name]:6.2f} s"
        )
    p, q, d, m = best["pipeline"], best["plain"], best["decode"], best["media-only"]
    print(f"pipeline is {q / p:.2f}× faster than the plain way (goal ≥ 3×)")
    print(f"pipeline takes {p / d:.2f}× the time of one bare full decode (goal ≤ 1.00×)")
    print(f"media-only: {q / m:.2f}× faster than the plain way, {m / d:.2f}× a bare decode")
    print(
        f"CPU: the pipeline uses {cpu['pipeline'] / cpu['plain']:.2f}× the plain way's, "
        f"{cpu['pipeline'] / cpu['decode']:.2f}× a bare decode's; media-only "
        f"{cpu['media-only'] / cpu['plain']:.2f}× and {cpu['media-only'] / cpu['decode']:.2f}×"
    )


if __name__ == "__main__":
    main()
