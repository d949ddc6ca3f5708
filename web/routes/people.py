"""People and roles (admins): add a person, change a role, issue a one-time login link (shown
once), disable or enable."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core.errors import PesisirError
from core.i18n import t
from moderation import access
from moderation.access import Role
from web.pages import CSRF, Managing, back, database, flash, language, render, settings_of

router = APIRouter()


def _page(request: Request, who: Managing, **extra: object) -> HTMLResponse:
    with database(request) as session:
        people = access.list_people(session)
    context = {"people": people, "roles": [role.value for role in Role], **extra}
    return render(request, "people.html", context, who=who)


@router.get("/people", response_class=HTMLResponse)
def people_page(request: Request, who: Managing) -> HTMLResponse:
    """Everyone who may use the dashboard, with their roles."""
    return _page(request, who)


@router.post("/people", dependencies=CSRF)
def add(
    request: Request, who: Managing, name: Annotated[str, Form()], role: Annotated[str, Form()]
) -> RedirectResponse:
    """A new person; then issue them a link."""
    try:
        with database(request) as session:
            made = access.add_person(session, name=name, role=role, actor=who.actor)
        flash(request, t(language(request), "web.people.added", name=made.name))
    except PesisirError as error:
        flash(request, t(language(request), "moderation.answer.invalid", error=error), "error")
    return back(request, "/people")


@router.post("/people/{person_id}/{change}", dependencies=CSRF)
def change(
    person_id: int,
    change: str,
    request: Request,
    who: Managing,
    role: Annotated[str | None, Form()] = None,
) -> Response:
    """Change a role, disable, enable, or issue a login link (shown on this page, once)."""
    lang = language(request)
    new_link = None
    try:
        with database(request) as session:
            if change == "link":
                token = access.issue_link(session, person_id, issued_by=who.actor)
                name = access.get_person(session, person_id).name
                new_link = {"name": name, "url": access.login_url(settings_of(request), token)}
            elif change == "role":
                access.set_role(session, person_id, role or "", actor=who.actor)
            elif change in ("disable", "enable"):
                access.set_disabled(session, person_id, change == "disable", actor=who.actor)
            else:
                raise PesisirError(change)
        if new_link is not None:
            return _page(request, who, new_link=new_link)
        flash(request, t(lang, "web.people.changed"))
    except PesisirError as error:
        flash(request, t(lang, "moderation.answer.invalid", error=error), "error")
    return back(request, "/people")
