"""Open exports: CSV, HXL, GeoJSON and XLSX carry the public fields of the selected stories,
and nothing private."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date
from pathlib import Path

import hxl
import openpyxl
import pytest
from geojson_pydantic import FeatureCollection
from hxl.input import InputOptions
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.errors import InvalidInput
from core.models import Submission
from pipeline import gazetteer
from reports import ExportFormat, ExportRequest, select_stories, write_export
from reports.export import stories
from tests.reports.seed import (
    FORMULA,
    NAMED,
    PRIVATE_STRINGS,
    ZONE,
    Seeder,
    local,
    seed_month,
    seed_private,
)

DAY = date(2026, 11, 14)
NOVEMBER = {"start": date(2026, 11, 1), "end": date(2026, 11, 30)}


@pytest.fixture
def seeded(engine: Engine, tmp_path: Path) -> dict[str, str]:
    """The private stories in mid-November and a generated November."""
    seeder = Seeder(engine, tmp_path / "data")
    refs = seed_private(seeder, DAY).refs
    seed_month(seeder, 2026, 11, stories=120)
    return refs


def export(engine: Engine, fmt: ExportFormat, *, hxl_row: bool = False, **chosen: object) -> bytes:
    stream = io.BytesIO()
    request = ExportRequest(fmt, select_stories(**chosen), hxl=hxl_row)  # type: ignore[arg-type]
    write_export(engine, request, stream)
    return stream.getvalue()


def expected_refs(engine: Engine, states: set[str], start: date, end: date) -> list[str]:
    """What the database holds for a period, worked out here in Python (not by the export)."""
    with Session(engine) as session:
        rows = session.exec(select(Submission).order_by(Submission.id)).all()  # type: ignore[arg-type]
    return [
        row.ref
        for row in rows
        if row.state in states
        and row.submitted_at is not None
        and start <= row.submitted_at.astimezone(ZONE).date() <= end
    ]


APPROVED = {"approved", "scheduled", "published"}


def test_csv_has_every_approved_story_of_the_period_and_no_private_data(
    engine: Engine, seeded: dict[str, str]
) -> None:
    data = export(engine, ExportFormat.CSV, **NOVEMBER)
    text = data.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["ref"] for row in rows] == expected_refs(engine, APPROVED, **NOVEMBER)
    for private in PRIVATE_STRINGS:
        assert private not in text, private
    by_ref = {row["ref"]: row for row in rows}
    personal = by_ref[seeded["personal"]]
    assert "[nomor HP]" in personal["text"] and "[email]" in personal["text"]
    assert personal["place_name"] == "Oesapa" and personal["kecamatan"] == "Kelapa Lima"
    assert personal["kabupaten_kota"] == "Kota Kupang"
    assert (personal["lat"], personal["lon"]) == ("-10.14798", "123.65266")  # the centroid
    assert personal["photo_count"] == "1"
    assert personal["post_links"] == "https://example.org/post/personal"
    assert personal["submitted_at"] == "2026-11-14T08:00:00+08:00"
    assert by_ref[seeded["named"]]["credit_name"] == NAMED
    assert by_ref[seeded["named"]]["kelurahan_desa"] == "Lasiana"  # the beach's kelurahan
    assert by_ref[seeded["hidden"]]["credit_name"] == ""
    assert by_ref[seeded["internal"]]["text"] == ""  # internal: never a text in an export
    assert by_ref[seeded["edited"]]["text"].endswith("(hubungi [nomor HP]).")
    # A text a spreadsheet would run as a formula is kept as text.
    assert by_ref[seeded["formula"]]["text"] == "'" + FORMULA
    typed = by_ref[seeded["typed_place"]]
    assert typed["place_name"] == "Kampung di ujung jalan" and typed["lat"] == ""


def test_local_dates_bound_the_period(engine: Engine, tmp_path: Path) -> None:
    seeder = Seeder(engine, tmp_path)
    inside = seeder.add(at=local(date(2026, 11, 30), 23, 30))  # 15:30 UTC on the 30th
    outside = seeder.add(at=local(date(2026, 12, 1), 0, 10))  # still the 30th in UTC
    before = seeder.add(at=local(date(2026, 10, 31), 23, 59))
    first = seeder.add(at=local(date(2026, 11, 1), 0, 0))
    rows = csv.DictReader(io.StringIO(export(engine, ExportFormat.CSV, **NOVEMBER).decode()))
    refs = {row["ref"] for row in rows}
    assert inside in refs and first in refs
    assert outside not in refs and before not in refs


def test_filters_by_theme_place_and_state(engine: Engine, seeded: dict[str, str]) -> None:
    def refs(**chosen: object) -> set[str]:
        data = export(engine, ExportFormat.CSV, **chosen).decode()
        return {row["ref"] for row in csv.DictReader(io.StringIO(data))}

    with Session(engine) as session:
        rows = session.exec(select(Submission)).all()
    abrasi = {
        r.ref for r in rows if r.state in APPROVED and "abrasi" in [t["slug"] for t in r.themes]
    }
    assert refs(theme="abrasi") == abrasi and seeded["edited"] in abrasi

    def inside(regency: str) -> set[str]:
        return {
            r.ref
            for r in rows
            if r.state in APPROVED
            and r.place_id
            and regency in [a.id for a in gazetteer.ancestors(gazetteer.by_id()[r.place_id])]
        }

    city = refs(place="kota-kupang")
    assert city == inside("kota-kupang")
    assert seeded["personal"] in city and seeded["named"] in city  # a beach in Kota Kupang
    regency = refs(place="Kabupaten Kupang")  # by name
    assert regency == inside("kab-kupang") and regency
    rejected = refs(states=["rejected"])
    assert rejected == {r.ref for r in rows if r.state == "rejected"}
    everything = refs(states=["all"])
    assert everything == {r.ref for r in rows if r.state not in {"draft", "withdrawn", "erased"}}


def test_a_rejected_story_is_exported_without_its_text(engine: Engine, tmp_path: Path) -> None:
    seeder = Seeder(engine, tmp_path)
    ref = seeder.add(at=local(DAY), state="rejected", text="Teks yang tidak disetujui.")
    [row] = csv.DictReader(
        io.StringIO(export(engine, ExportFormat.CSV, states=["rejected"]).decode())
    )
    assert row["ref"] == ref and row["state"] == "rejected" and row["text"] == ""


def test_hxl_csv_loads_in_libhxl(engine: Engine, seeded: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "stories.hxl.csv"
    path.write_bytes(export(engine, ExportFormat.CSV, hxl_row=True, **NOVEMBER))
    with hxl.data(str(path), InputOptions(allow_local=True)) as source:
        rows = list(source)
        tags = [column.display_tag for column in source.columns]
    assert tags[:4] == ["#meta+id", "#date+reported", "#date+published", "#status+code"]
    assert {"#adm3+name", "#geo+lat", "#geo+lon", "#sector+code+list"} <= set(tags)
    assert len(rows) == len(expected_refs(engine, APPROVED, **NOVEMBER))
    named = next(row for row in rows if row.get("#meta+id") == seeded["named"])
    assert named.get("#adm3+name") == "Kelapa Lima"
    assert float(named.get("#geo+lat")) == gazetteer.by_id()["pantai-lasiana"].lat
    assert named.get("#sector") == "nelayan-laut"


def _reject_constant(value: str) -> None:
    raise ValueError(f"{value} is not valid JSON")


def test_geojson_is_valid_rfc_7946(engine: Engine, seeded: dict[str, str]) -> None:
    data = export(engine, ExportFormat.GEOJSON, **NOVEMBER)
    document = json.loads(data, parse_constant=_reject_constant)
    collection = FeatureCollection.model_validate(document, strict=True)
    assert "crs" not in document
    assert [f.id for f in collection.features] == expected_refs(engine, APPROVED, **NOVEMBER)
    for feature in collection.features:
        if feature.geometry is None:
            assert feature.id == seeded["typed_place"]
            continue
        lon, lat = feature.geometry.coordinates  # type: ignore[union-attr,misc]
        assert 118.5 <= lon <= 125.3 and -11.2 <= lat <= -7.7  # lon, lat order, inside NTT
        assert not math.isnan(lon)
    text = data.decode()
    for private in PRIVATE_STRINGS:
        assert private not in text, private
    personal = next(f for f in document["features"] if f["id"] == seeded["personal"])
    assert personal["properties"]["themes"] == ["banjir-rob"]
    assert personal["properties"]["post_links"] == ["https://example.org/post/personal"]


def test_xlsx_reads_back_with_text_kept_as_text(
    engine: Engine, seeded: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "stories.xlsx"
    path.write_bytes(export(engine, ExportFormat.XLSX, hxl_row=True, **NOVEMBER))
    book = openpyxl.load_workbook(path, read_only=True)
    sheet = book["stories"]
    rows = list(sheet.iter_rows(values_only=True))
    header, tags, body = rows[0], rows[1], rows[2:]
    assert header[0] == "ref" and tags[0] == "#meta+id"
    assert [row[0] for row in body] == expected_refs(engine, APPROVED, **NOVEMBER)
    text_column = header.index("text")
    formula_row = next(row for row in body if row[0] == seeded["formula"])
    assert formula_row[text_column] == FORMULA  # a string cell, not a formula
    lat = header.index("lat")
    personal = next(row for row in body if row[0] == seeded["personal"])
    assert personal[lat] == pytest.approx(-10.14798)
    book.close()
    book = openpyxl.load_workbook(path)  # not read-only: cell types are known
    cells = [c for c in book["stories"]["R"] if c.value == FORMULA]
    assert cells and all(c.data_type == "s" for c in cells)
    flat = " ".join(str(v) for row in rows for v in row if v is not None)
    for private in PRIVATE_STRINGS:
        assert private not in flat, private


def test_pages_read_in_order_whatever_their_size(engine: Engine, seeded: dict[str, str]) -> None:
    selection = select_stories(states=["all"])
    small = [story.ref for story in stories(engine, selection, page=3)]
    large = [story.ref for story in stories(engine, selection, page=10_000)]
    assert small == large and len(small) == len(set(small)) > 100


def test_bad_requests_are_refused_kindly() -> None:
    with pytest.raises(InvalidInput, match="geojson"):
        ExportRequest(ExportFormat.GEOJSON, hxl=True)
    with pytest.raises(InvalidInput, match="before it starts"):
        select_stories(start=date(2026, 11, 30), end=date(2026, 11, 1))
    with pytest.raises(InvalidInput, match="never in a brief or an export"):
        select_stories(states=["erased"])
    with pytest.raises(InvalidInput, match="unknown state"):
        select_stories(states=["lost"])
    with pytest.raises(InvalidInput, match="no place called"):
        select_stories(place="Atlantis")
    with pytest.raises(InvalidInput, match="themes are"):
        select_stories(theme="banjir")
