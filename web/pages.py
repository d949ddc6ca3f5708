"""What every page shares: who is asking (`person`, `requires`), the CSRF check, the language,
one-time notices, local times, and rendering a template with all of it.

Routes depend on `person` or `requires(Permission.X)` rather than checking inside handlers; a
page gets projections (`core.projections`, `moderation.queue`, `publishers.calendar`), never
table rows.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from core import taxonomy
from core.clock import format_local
from core.config import Settings
from core.db import session_scope
from core.i18n import LANGUAGES, catalog, normalize_language, t
from moderation import access, permissions
from moderation.access import Permission, PersonView

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    """No valid session: the person is sent to the login page."""


class Forbidden(Exception):
    """A valid session whose role does not allow this."""


def settings_of(request: Request) -> Settings:
    """The app's settings."""
    found = request.app.state.settings
    assert isinstance(found, Settings)
    return found


@contextmanager
def database(request: Request) -> Iterator[Session]:
    """A committed session on the app's database."""
    with session_scope(request.app.state.engine) as session:
        yield session


def language(request: Request) -> str:
    """The language chosen in this session, else PESISIR_DEFAULT_LANGUAGE."""
    chosen = request.session.get("lang")
    return normalize_language(chosen or settings_of(request).default_language)


def csrf_token(request: Request) -> str:
    """This session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


async def verify_csrf(request: Request) -> None:
    """Refuse a POST without this session's CSRF token (form field or htmx header)."""
    expected = request.session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if given is None and "form" in request.headers.get("content-type", ""):
        given = (await request.form()).get(CSRF_FIELD)  # type: ignore[assignment]
    if not expected or not isinstance(given, str) or not secrets.compare_digest(given, expected):
        raise Forbidden("csrf")


def person(request: Request) -> PersonView:
    """The person this session belongs to; LoginRequired when there is none (or it ended)."""
    person_id, epoch = request.session.get("person"), request.session.get("epoch")
    if not isinstance(person_id, int) or not isinstance(epoch, int):
        raise LoginRequired
    with database(request) as session:
        found = access.current_person(session, person_id, epoch)
    if found is None:
        request.session.pop("person", None)
        raise LoginRequired
    return found


def ensure(request: Request, who: PersonView, *any_of: Permission) -> None:
    """Raise Forbidden (audited as a refused attempt) unless the role grants one of these."""
    if not any(who.may(permission) for permission in any_of):
        with database(request) as session:
            permissions.record_refusal(
                session, actor=who.actor, attempted=f"{request.method} {request.url.path}"
            )
        raise Forbidden(any_of[0].value)


def requires(permission: Permission) -> Callable[..., PersonView]:
    """A dependency: the person, if their role grants `permission` (else a 403, audited)."""

    def check(request: Request, who: Annotated[PersonView, Depends(person)]) -> PersonView:
        ensure(request, who, permission)
        return who

    return check


#: Who is asking, as route parameters: anyone logged in, or a role that grants a permission.
Who = Annotated[PersonView, Depends(person)]
Deciding = Annotated[PersonView, Depends(requires(Permission.DECIDE))]
Planning = Annotated[PersonView, Depends(requires(Permission.PLAN))]
Managing = Annotated[PersonView, Depends(requires(Permission.PEOPLE))]
Private = Annotated[PersonView, Depends(requires(Permission.PRIVATE))]
Reporting = Annotated[PersonView, Depends(requires(Permission.REPORTS))]
CSRF = [Depends(verify_csrf)]


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """A notice shown once, on the next page."""
    request.session.setdefault("flash", []).append([kind, message])


def local(moment: datetime | None, timezone: str) -> str:
    """A time as people read it: local, with its zone (`2026-11-25 09:00 WITA`)."""
    return "" if moment is None else format_local(moment, timezone)


def rendition_url(path: str | None) -> str | None:
    """The dashboard's URL of a rendition (a data-directory path; `web.routes.files`)."""
    return f"/files/{path}" if path and path.startswith("public/renditions/") else None


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    who: PersonView | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page in the session's language, with the person, CSRF token and notices."""
    lang = language(request)
    settings = settings_of(request)
    values: dict[str, Any] = {
        "request": request,
        "who": who,
        "lang": lang,
        "languages": LANGUAGES,
        "t": lambda key, **params: t(lang, key, **params),
        "has": lambda key: key in catalog(lang),
        "theme_label": lambda slug: taxonomy.label(slug, lang),
        "local": lambda moment, tz=None: local(moment, tz or settings.timezone),
        "csrf": csrf_token(request),
        "rendition_url": rendition_url,
        "flashes": request.session.pop("flash", []),
        "P": Permission,
        "path": request.url.path,
        **(context or {}),
    }
    return TEMPLATES.TemplateResponse(request, template, values, status_code=status_code)


def back(request: Request, fallback: str) -> RedirectResponse:
    """A 303 to the page named in the form's `next` (same site only), else `fallback`."""
    target = request.query_params.get("next") or fallback
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        target = fallback
    return RedirectResponse(target, status_code=303)


def install_handlers(app: FastAPI) -> None:
    """Turn LoginRequired into the login page (htmx: a full redirect) and Forbidden into 403."""

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _error: LoginRequired) -> Response:
        target = "/login?next=" + quote(request.url.path)
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        if request.method != "GET":
            return Response("log in first", status_code=401)
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, error: Forbidden) -> Response:
        key = "web.error.csrf" if str(error) == "csrf" else "web.error.forbidden"
        return render(request, "error.html", {"message_key": key}, status_code=403)
