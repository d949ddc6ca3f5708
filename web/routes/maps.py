"""The map: stories by public place (the gazetteer's centroid, never the exact point),
clustered, coloured by theme or state, filtered by dates, theme and state. Tiles come from
PESISIR_MAP_TILES_URL; without network the shipped NTT outline still shows where places are."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from core import taxonomy
from core.clock import parse_day, utcnow
from core.errors import InvalidInput
from core.i18n import t
from core.states import SubmissionState
from moderation import queue
from pipeline.gazetteer import by_id
from web.pages import Who, database, language, render, settings_of

router = APIRouter()


#: Without dates the map shows the last three months: what is happening now (and what a year
#: of stories would make slow to count on a small server; choose dates to see more).
DEFAULT_DAYS = 90


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, who: Who) -> HTMLResponse:
    """The map page; its markers come from /map/data.json with the same filters."""
    lang = language(request)
    settings = settings_of(request)
    filters = {
        key: request.query_params.get(key, "")
        for key in ("theme", "state", "since", "until", "colour")
    }
    if "since" not in request.query_params and "until" not in request.query_params:
        today = utcnow().astimezone(ZoneInfo(settings.timezone)).date()
        filters["since"] = (today - timedelta(days=DEFAULT_DAYS)).isoformat()
    themes = {slug: taxonomy.label(slug, lang) for slug in taxonomy.slugs()}
    states = {
        s.value: t(lang, f"web.state.{s.value}")
        for s in SubmissionState
        if s != SubmissionState.DRAFT
    }
    context = {
        "tiles": settings.map_tiles_url,
        "themes": list(themes.items()),
        "states": list(states),
        "labels": {"themes": themes, "states": states},
        "filters": filters,
        "query": urlencode({key: value for key, value in filters.items() if value}),
    }
    return render(request, "map.html", context, who=who)


@router.get("/map/data.json")
def map_data(  # noqa: PLR0917 - each is a query parameter
    request: Request, who: Who, since: str = "", until: str = "", theme: str = "", state: str = ""
) -> JSONResponse:
    """Places with their story counts by state and main theme, at the gazetteer's centroid."""
    del who
    try:
        wanted = queue.StoryFilter(
            status=state or "all",
            theme=theme or None,
            since=parse_day(since),
            until=parse_day(until),
            timezone=settings_of(request).timezone,
        )
        with database(request) as session:
            counts = queue.place_counts(session, wanted)
    except InvalidInput as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    places: dict[str, dict[str, Any]] = {}
    unplaced = 0
    gazetteer = by_id()
    for count in counts:
        place = gazetteer.get(count.place_id)
        if place is None:  # a name typed by a moderator that the gazetteer does not know
            unplaced += count.count
            continue
        entry = places.setdefault(
            place.id,
            {
                "id": place.id,
                "name": place.name,
                "lat": place.lat,
                "lon": place.lon,
                "total": 0,
                "states": {},
                "themes": {},
            },
        )
        entry["total"] += count.count
        entry["states"][count.state] = entry["states"].get(count.state, 0) + count.count
        theme_key = count.theme or "-"
        entry["themes"][theme_key] = entry["themes"].get(theme_key, 0) + count.count
    body = {"places": sorted(places.values(), key=lambda p: -p["total"]), "unplaced": unplaced}
    return JSONResponse(body)


@router.get("/map/outline.geojson")
def outline(who: Who) -> Response:
    """The NTT outline the project ships (Natural Earth, public domain), also used by briefs."""
    del who
    data = resources.files("core").joinpath("data/ntt-outline.geojson").read_bytes()
    return Response(
        data, media_type="application/geo+json", headers={"Cache-Control": "private, max-age=86400"}
    )
