"""Photo pipeline benchmark: metadata + four renditions vs the plain way vs one full decode.

Makes six realistic 12-megapixel JPEGs (4000×3000, quality 90, EXIF with GPS) in a temporary
folder, deterministically, then times on the same files, one photo at a time:

- pipeline: `pipeline.images.process_photo` (metadata + web, feed, square, thumb);
- plain: full decode, LANCZOS resize to 2048 px, save as JPEG;
- decode: one bare full decode of the original.

Each way runs `--repeat` rounds, interleaved, and the fastest round counts (the least
disturbed by other processes on a shared machine).

Run: PYTHONPATH=. python benchmarks/photo.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.images import process_photo

WIDTH, HEIGHT = 4000, 3000
PHOTOS = 6


def _smooth(rng: np.random.Generator, cells: tuple[int, int]) -> np.ndarray:  # type: ignore[type-arg]
    """Low-frequency structure: random cells blown up with bicubic interpolation."""
    small = Image.fromarray((rng.random(cells) * 255).astype(np.uint8))
    return np.asarray(small.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC), dtype=np.float32)


def make_photo(path: Path, seed: int) -> None:
    """A coast-like 12 MP photo: sky and sea gradients, clouds/waves, texture, sensor noise."""
    rng = np.random.default_rng(seed)
    horizon = int(HEIGHT * (0.35 + 0.1 * rng.random()))
    rows = np.arange(HEIGHT, dtype=np.float32)[:, None]
    sky = np.clip(1 - rows / horizon, 0, 1)
    base = np.empty((HEIGHT, WIDTH, 3), dtype=np.float32)
    for channel, (top, low) in enumerate(((90, 30), (150, 110), (230, 140))):
        base[..., channel] = low + (top - low) * sky
    structure = _smooth(rng, (30, 40)) - 128
    texture = _smooth(rng, (300, 400)) - 128
    detail = rng.normal(0, 6, (HEIGHT, WIDTH)).astype(np.float32)  # sensor noise
    for channel in range(3):
        base[..., channel] += 0.35 * structure + 0.25 * texture + detail
    # a "beach" with sand colour in the lower part, and a boat-like block
    base[int(HEIGHT * 0.8) :, :, :] += np.array([60, 40, -20], dtype=np.float32)
    x0 = int(rng.integers(200, WIDTH - 800))
    base[horizon - 150 : horizon + 50, x0 : x0 + 500, :] = np.array([200, 40, 40])
    pixels = np.clip(base, 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "OPPO", "A57", 1
    exif.get_ifd(0x8769)[0x9003] = "2025:01:15 07:30:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "S", (10.0, 10.0, 37.92), "E", (123.0, 36.0, 25.2)
    Image.fromarray(pixels).save(path, "JPEG", quality=90, exif=exif)


def plain(path: Path, out: Path) -> None:
    """The plain way: full decode, LANCZOS to 2048 px, save."""
    with Image.open(path) as original:
        image = original.convert("RGB")
        image.thumbnail((2048, 2048), Image.Resampling.LANCZOS, reducing_gap=None)
        image.save(out / "plain.jpg", "JPEG", quality=85)


def decode(path: Path, _out: Path) -> None:
    """One bare full decode."""
    with Image.open(path) as image:
        image.load()


def pipeline(path: Path, out: Path) -> None:
    """Metadata and all four renditions (renditions on up to 4 threads, one per core)."""
    result = process_photo(path, out / path.stem)
    assert result.error is None, result.error


def pipeline_one_thread(path: Path, out: Path) -> None:
    """The same on one thread, to show what the threads add."""
    result = process_photo(path, out / f"{path.stem}-1", threads=1)
    assert result.error is None, result.error


WAYS: dict[str, Callable[[Path, Path], None]] = {
    "pipeline": pipeline,
    "pipe-1thr": pipeline_one_thread,
    "plain": plain,
    "decode": decode,
}


def measure(path: Path, out: Path, repeat: int) -> dict[str, float]:
    """Fastest of `repeat` rounds for each way; rounds interleave the ways so that load from
    other processes falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in WAYS}
    for _ in range(repeat):
        for name, fn in WAYS.items():
            start = time.perf_counter()
            fn(path, out)
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the fastest counts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pesisir-bench-") as tmp:
        folder = Path(tmp)
        photos = []
        for n in range(PHOTOS):
            path = folder / f"photo-{n}.jpg"
            make_photo(path, seed=n)
            photos.append(path)
        size_mb = statistics.mean(p.stat().st_size for p in photos) / 1e6
        print(f"{PHOTOS} photos, {WIDTH}×{HEIGHT}, JPEG q90 with EXIF+GPS, {size_mb:.1f} MB each")
        names = list(WAYS)
        print(f"{'photo':10}" + "".join(f"{n:>11}" for n in names) + "  plain/pipe decode/pipe")
        rows = []
        for path in photos:
            row = measure(path, folder, args.repeat)
            rows.append(row)
            print(_line(path.stem, row))
        mean = {name: statistics.mean(row[name] for row in rows) for name in names}
        print(_line("mean", mean))
        p, q, d = mean["pipeline"], mean["plain"], mean["decode"]
        print(f"pipeline is {q / p:.2f}× faster than the plain way (target ≥ 3×)")
        print(f"pipeline takes {p / d:.2f}× the time of one bare full decode (target ≤ 1.00×)")
        print(f"on one thread the pipeline takes {mean['pipe-1thr'] / d:.2f}× a bare full decode")


def _line(label: str, row: dict[str, float]) -> str:
    cells = "".join(f"{row[name] * 1000:9.0f}ms" for name in WAYS)
    p = row["pipeline"]
    return f"{label:10}{cells}  {row['plain'] / p:9.2f}× {row['decode'] / p:9.2f}×"


if __name__ == "__main__":
    main()
