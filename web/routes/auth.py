"""Logging in with a one-time link, logging out (here or everywhere), the language switch.

`GET /login/<token>` only shows whose link it is and a button: a chat app's link preview
fetches the page but cannot use the link up. `POST /login/<token>` uses it (once), rate limited
per address.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core.ratelimit import Verdict
from moderation import access
from moderation.access import LoginRefused
from web.pages import CSRF, Who, back, database, flash, render

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_help(request: Request) -> HTMLResponse:
    """How to get a login link (from the bot, or from an admin)."""
    return render(request, "login.html", {"state": "help"})


@router.get("/login/{token}", response_class=HTMLResponse)
def login_page(token: str, request: Request) -> HTMLResponse:
    """Whose link this is and a button to log in; nothing is used up by looking."""
    with database(request) as session:
        try:
            who = access.check_link(session, token)
        except LoginRefused as refused:
            return render(request, "login.html", {"state": refused.reason}, status_code=410)
    return render(request, "login.html", {"state": "ready", "name": who.name, "token": token})


@router.post("/login/{token}", dependencies=CSRF)
def login(token: str, request: Request) -> Response:
    """Use the link: a new session for its person (a link works once, ten minutes)."""
    address = request.client.host if request.client else "unknown"
    if request.app.state.login_limiter.check(address) != Verdict.ACCEPT:
        return render(request, "login.html", {"state": "slow"}, status_code=429)
    with database(request) as session:
        try:
            who = access.consume_link(session, token)
        except LoginRefused as refused:
            return render(request, "login.html", {"state": refused.reason}, status_code=410)
    lang = request.session.get("lang")
    request.session.clear()  # a fresh session (and CSRF token) for the person
    request.session.update({"person": who.id, "epoch": who.epoch})
    if lang:
        request.session["lang"] = lang
    return RedirectResponse("/queue", status_code=303)


@router.post("/logout", dependencies=CSRF)
def logout(request: Request) -> RedirectResponse:
    """End this session."""
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/logout-everywhere", dependencies=CSRF)
def logout_everywhere(request: Request, who: Who) -> RedirectResponse:
    """End every session of this person, on every device (audited)."""
    with database(request) as session:
        access.log_out_everywhere(session, who.id, actor=who.actor)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/language", dependencies=CSRF)
def choose_language(request: Request, lang: Annotated[str, Form()]) -> RedirectResponse:
    """Bahasa Indonesia or English, for this session."""
    if lang in ("id", "en"):
        request.session["lang"] = lang
    else:
        flash(request, "id / en", "error")
    return back(request, "/queue")
