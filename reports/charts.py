"""The brief's charts as SVG (matplotlib, text kept as text in the shipped Noto Sans): the map of
public places on the NTT outline the project ships (`core/data/ntt-outline.geojson`; nothing is
fetched), stories by theme, and the twelve-month trend. Each returns a `data:` URI for an
`<img>` (WeasyPrint draws it as vectors)."""

from __future__ import annotations

import base64
import io
import json
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from matplotlib import font_manager, rc_context
from matplotlib import patheffects as effects
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath
from matplotlib.ticker import MaxNLocator

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "Noto Sans"
BLUE, ORANGE, GREY, INK = "#1f5a7a", "#d9822b", "#b8c4cc", "#24323b"
LAND, COAST = "#eef2f4", "#7d8f99"
#: The map never shows less than this many degrees across (a single kelurahan would fill it).
MIN_SPAN = 1.2


@cache
def _register_fonts() -> None:
    """Noto Sans for matplotlib too, so the charts' text matches the brief's."""
    for path in sorted(FONT_DIR.glob("NotoSans-*.ttf")):
        font_manager.fontManager.addfont(str(path))


#: matplotlib's settings are global: one chart at a time (the web may render briefs in threads).
_DRAWING = threading.Lock()


@contextmanager
def _style() -> Iterator[None]:
    _register_fonts()
    settings: dict[Any, Any] = {
        "svg.fonttype": "none",  # text stays text: searchable, and drawn in the brief's font
        "svg.hashsalt": "suara-pesisir",  # the same SVG for the same data
        "font.family": FONT,
        "font.size": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": COAST,
        "xtick.color": INK,
        "ytick.color": INK,
        "text.color": INK,
    }
    with _DRAWING, rc_context(settings):
        yield


def _uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(
        buffer,
        format="svg",
        metadata={"Date": None, "Creator": None},
        bbox_inches="tight",
        pad_inches=0.02,
    )
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@cache
def outline() -> tuple[Any, ...]:
    """The NTT coastline's polygons (GeoJSON geometries), read once."""
    text = resources.files("core").joinpath("data/ntt-outline.geojson").read_text("utf-8")
    return tuple(feature["geometry"] for feature in json.loads(text)["features"])


def _draw_outline(axes: Any) -> None:
    for geometry in outline():
        polygons = (
            [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        )
        for rings in polygons:
            vertices: list[Sequence[float]] = []
            codes: list[Any] = []
            for ring in rings:
                vertices += ring
                codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(ring) - 2)
                codes += [MplPath.CLOSEPOLY]
            patch = PathPatch(
                MplPath(vertices, codes), facecolor=LAND, edgecolor=COAST, linewidth=0.6
            )
            axes.add_patch(patch)


def _extent(
    lats: Sequence[float], lons: Sequence[float], ratio: float
) -> tuple[float, float, float, float]:
    """(west, east, south, north) around the points, padded, as wide as `ratio` asks."""
    mid_lat = (min(lats) + max(lats)) / 2
    scale = math.cos(math.radians(mid_lat))
    width = max(max(lons) - min(lons), MIN_SPAN) * 1.3
    height = max(max(lats) - min(lats), MIN_SPAN * 0.5) * 1.3
    if width * scale / height < ratio:
        width = height * ratio / scale
    else:
        height = width * scale / ratio
    centre_lon, centre_lat = (min(lons) + max(lons)) / 2, mid_lat
    return (
        centre_lon - width / 2,
        centre_lon + width / 2,
        centre_lat - height / 2,
        centre_lat + height / 2,
    )


def _spread_labels(points: Sequence[Any], wanted: int, min_degrees: float) -> list[Any]:
    """The largest points to name, skipping one too close to a point already named."""
    named: list[Any] = []
    for point in points:
        if len(named) == wanted:
            break
        if all(
            abs(point.lat - other.lat) + abs(point.lon - other.lon) >= min_degrees
            for other in named
        ):
            named.append(point)
    return named


def map_svg(points: Sequence[Any], legend: str, *, labels: int = 5) -> str | None:
    """Circles sized by stories at each public place on the NTT outline; None without points.

    `points` have `name`, `lat`, `lon` and `count`, most first."""
    if not points:
        return None
    with _style():
        figure = Figure(figsize=(7.1, 2.55))
        axes = figure.subplots()
        west, east, south, north = _extent(
            [p.lat for p in points], [p.lon for p in points], ratio=7.1 / 2.55
        )
        _draw_outline(axes)
        largest = int(max(p.count for p in points))

        def size(count: int) -> float:
            return 10.0 + 190.0 * count / largest

        axes.scatter(
            [p.lon for p in points],
            [p.lat for p in points],
            s=[size(p.count) for p in points],
            color=ORANGE,
            alpha=0.7,
            edgecolor="white",
            linewidth=0.5,
            zorder=3,
        )
        halo = [effects.withStroke(linewidth=2.2, foreground="white")]
        notable = [point for point in points if point.count * 3 >= largest]
        for point in _spread_labels(notable, labels, (east - west) / 9):
            axes.annotate(
                f"{point.name} ({point.count})",
                (point.lon, point.lat),
                xytext=(5, 4),
                textcoords="offset points",
                fontsize=7.5,
                fontweight="bold",
                path_effects=halo,
                zorder=4,
            )
        for count in sorted({largest, max(1, round(largest / 2)), 1}, reverse=True):
            axes.scatter([], [], s=size(count), color=ORANGE, alpha=0.7, label=str(count))
        axes.legend(
            title=legend, loc="lower left", frameon=True, fontsize=7, title_fontsize=7,
            labelspacing=1.1, borderpad=0.6, framealpha=0.85, edgecolor="white",
        )  # fmt: skip
        axes.set_xlim(west, east)
        axes.set_ylim(south, north)
        axes.set_aspect(1 / math.cos(math.radians((south + north) / 2)))
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_facecolor("#f7fbfd")
        for spine in axes.spines.values():
            spine.set_visible(True)
            spine.set_color("#d5dde2")
        return _uri(figure)


def themes_svg(themes: Sequence[tuple[str, int]], axis: str) -> str | None:
    """Horizontal bars of stories per theme (`(label, count)`, most first); None when empty."""
    if not themes:
        return None
    with _style():
        rows = list(themes)[::-1]
        figure = Figure(figsize=(3.3, 0.22 * max(len(rows), 3) + 0.5))
        axes = figure.subplots()
        axes.barh([f"{label} · {count}" for label, count in rows],
                  [count for _, count in rows], color=BLUE, height=0.62)  # fmt: skip
        axes.set_ylim(-0.8, len(rows) - 0.2)
        axes.set_xlabel(axis)
        axes.tick_params(axis="y", length=0, labelsize=8.5, pad=2)
        axes.tick_params(axis="x", labelsize=7)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(axis="x", color="#e3e8eb", linewidth=0.5)
        axes.set_axisbelow(True)
        return _uri(figure)


def trend_svg(
    months: Sequence[str], received: Sequence[int], approved: Sequence[int], names: Sequence[str]
) -> str:
    """Bars of stories received and approved per month (`names`: the two series, the axis)."""
    with _style():
        figure = Figure(figsize=(7.1, 1.7))
        axes = figure.subplots()
        places = range(len(months))
        axes.bar([x - 0.2 for x in places], received, width=0.4, color=GREY, label=names[0])
        axes.bar([x + 0.2 for x in places], approved, width=0.4, color=BLUE, label=names[1])
        axes.set_xticks(list(places), months, fontsize=7)
        axes.set_ylabel(names[2], fontsize=7)
        axes.tick_params(axis="y", labelsize=7)
        axes.tick_params(axis="x", length=0)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(axis="y", color="#e3e8eb", linewidth=0.5)
        axes.set_axisbelow(True)
        axes.legend(frameon=False, loc="upper left", ncol=2, fontsize=7)
        top = max([*received, *approved, 1])
        axes.set_ylim(0, top * 1.25)
        return _uri(figure)
