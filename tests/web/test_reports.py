"""Briefs and exports downloaded from the dashboard: the same `reports` functions as the CLI,
for the campaign team and admins, audited, never private data."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import Session, select

from core.models import AuditEvent
from tests.web.conftest import Site
from tests.web.world import World, build_world


@pytest.fixture
def world(site: Site) -> World:
    return build_world(site.engine, site.settings)


def test_the_campaign_team_downloads_an_export_without_private_data(
    site: Site, world: World
) -> None:
    team = site.login("campaign", "Rina")
    got = team.get("/reports/export?format=csv&hxl=true&state=all")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert 'filename="suara-pesisir.hxl.csv"' in got.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[1][0].startswith("#meta+id")  # the HXL hashtag row
    refs = {row[0] for row in rows[2:]}
    assert world.refs["mangrove"] in refs
    # A story nobody approved is listed without its words; a phone number never appears.
    assert "Pinjaman" not in got.text and "0812" not in got.text
    with Session(site.engine) as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "export")).all()
    assert event.actor == "web:Rina" and event.after and event.after["format"] == "csv"


def test_a_brief_is_a_pdf_and_a_bad_period_is_said_kindly(site: Site, world: World) -> None:
    admin = site.login("admin")
    pdf = admin.get("/reports/brief?from=2020-01-01&to=2030-12-31&lang=en")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    bad = admin.get("/reports/brief?from=2026-12-31&to=2026-01-01")
    assert bad.url.endswith("/reports") and "before it starts" in bad.text


def test_others_see_no_reports(site: Site, world: World) -> None:
    viewer = site.login("viewer")
    assert viewer.get("/reports/export?format=csv").status_code == 403
    assert "/reports" not in viewer.get("/queue").text
