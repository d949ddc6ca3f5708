"""The queue: stories filtered by state, theme, place, dates and words, a page at a time
(`moderation.queue`, keyset pages); "more" appends the next page with htmx."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from core import taxonomy
from core.clock import parse_day
from core.errors import InvalidInput
from core.states import SubmissionState
from moderation import actions, queue
from web.pages import Who, database, language, render, settings_of

router = APIRouter()
PAGE = 30


@router.get("/queue", response_class=HTMLResponse)
def queue_page(  # noqa: PLR0917 - each is a query parameter
    request: Request,
    who: Who,
    state: str = "",
    theme: str = "",
    place: str = "",
    q: str = "",
    since: str = "",
    until: str = "",
    after: str = "",
) -> HTMLResponse:
    """Stories waiting for a moderator, or filtered; oldest first while waiting."""
    settings = settings_of(request)
    error = None
    page = queue.Page([], None)
    try:
        wanted = queue.StoryFilter(
            status=state or None,
            theme=theme or None,
            place=place or None,
            search=q or None,
            since=parse_day(since),
            until=parse_day(until),
            timezone=settings.timezone,
        )
        newest_first = bool(state) and state not in {s.value for s in queue.REVIEW_STATES}
        with database(request) as session:
            page = queue.list_page(
                session, wanted, limit=PAGE, after=after or None, newest_first=newest_first
            )
    except InvalidInput as problem:
        error = str(problem)
    filters = {
        "state": state,
        "theme": theme,
        "place": place,
        "q": q,
        "since": since,
        "until": until,
    }
    context = {
        "page": page,
        "filters": filters,
        "error": error,
        "states": [s.value for s in SubmissionState if s != SubmissionState.DRAFT],
        "themes": [(slug, taxonomy.label(slug, language(request))) for slug in taxonomy.slugs()],
        "actions_of": actions.available_actions,
    }
    template = "queue_rows.html" if after and request.headers.get("HX-Request") else "queue.html"
    return render(request, template, context, who=who)
