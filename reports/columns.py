"""The columns of an export: each one's name (the header row) and HXL hashtag, and a story's
values for them. CSV, GeoJSON and XLSX all write these, in this order."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.open_data import OpenStory
from reports.areas import area_of

#: Every column: its name (the header) and its HXL hashtag (hxlstandard.org dictionary 1.1).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("ref", "#meta+id"),
    ("submitted_at", "#date+reported"),
    ("published_at", "#date+published"),
    ("state", "#status+code"),
    ("themes", "#sector+code+list"),
    ("place_name", "#loc+name"),
    ("place_kind", "#loc+type"),
    ("place_id", "#loc+code"),
    ("kelurahan_desa", "#adm4+name"),
    ("kecamatan", "#adm3+name"),
    ("kabupaten_kota", "#adm2+name"),
    ("province", "#adm1+name"),
    ("lat", "#geo+lat"),
    ("lon", "#geo+lon"),
    ("lang", "#meta+lang"),
    ("consent", "#meta+consent"),
    ("credit_name", "#meta+credit"),
    ("text", "#description"),
    ("photo_count", "#meta+photos+num"),
    ("post_links", "#meta+url+list"),
)
NAMES = tuple(name for name, _ in COLUMNS)
#: Several values in one cell (themes, links) are joined by `|` (HXL's list separator).
LIST_SEPARATOR = "|"

Value = str | int | float | None


def _iso(moment: datetime | None, zone: ZoneInfo) -> str | None:
    """ISO 8601 in local time with its offset: `2026-11-20T14:03:11+08:00`."""
    return None if moment is None else moment.astimezone(zone).isoformat(timespec="seconds")


def row_values(story: OpenStory, zone: ZoneInfo) -> list[Value]:
    """One story as the values of `COLUMNS`, in order."""
    area = area_of(story.place_id)
    point = area.point if area is not None else None
    return [
        story.ref,
        _iso(story.submitted_at, zone),
        _iso(story.published_at, zone),
        story.state,
        LIST_SEPARATOR.join(story.themes),
        area.place.name if area is not None else story.place_name,
        area.place.kind if area is not None else story.place_kind,
        area.place.id if area is not None else None,
        area.village.name if area is not None and area.village is not None else None,
        area.kecamatan.name if area is not None and area.kecamatan is not None else None,
        area.regency.name if area is not None and area.regency is not None else None,
        area.province.name if area is not None and area.province is not None else None,
        round(point[0], 6) if point is not None else None,
        round(point[1], 6) if point is not None else None,
        story.lang,
        story.consent,
        story.credit_name,
        story.text,
        story.photo_count,
        LIST_SEPARATOR.join(story.post_links) or None,
    ]
