"""`create_app(settings, engine)`: the FastAPI application, its routes included one per resource.

Sessions live in a signed cookie (Starlette's SessionMiddleware: itsdangerous, HttpOnly,
SameSite=Lax, Secure behind https); every POST carries the session's CSRF token (a form field,
or the `X-CSRF-Token` header htmx sends); each response says how long the server took
(`Server-Timing`, read by `benchmarks/web.py`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.middleware.sessions import SessionMiddleware

from core.config import Settings
from core.errors import ConfigError
from core.ratelimit import RateLimiter
from core.storage import MediaStore
from web import pages
from web.routes import (
    auth,
    calendar,
    files,
    maps,
    media,
    people,
    posts,
    queue,
    reports,
    story,
)

STATIC = Path(__file__).resolve().parent / "static"
#: A session lasts two weeks at most; "log out everywhere" ends it sooner.
SESSION_SECONDS = 14 * 24 * 3600
#: Login attempts one address may make per minute.
LOGINS_PER_MINUTE = 10


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    """The dashboard and the public media URLs for these settings and this database."""
    if settings.secret_key is None or len(settings.secret_key.get_secret_value()) < 16:
        raise ConfigError(
            "PESISIR_SECRET_KEY is not set (or shorter than 16 characters): set it to a long "
            'random string (python3 -c "import secrets; print(secrets.token_urlsafe(32))")'
        )
    app = FastAPI(title="Suara Pesisir", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.store = MediaStore(settings.data_dir)
    app.state.login_limiter = RateLimiter(LOGINS_PER_MINUTE)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key.get_secret_value(),
        session_cookie="pesisir_session",
        max_age=SESSION_SECONDS,
        same_site="lax",
        https_only=(settings.public_base_url or "").startswith("https://"),
    )
    app.middleware("http")(_server_timing)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (auth, queue, story, files, calendar, posts, maps, people, reports, media):
        app.include_router(router.router)
    pages.install_handlers(app)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/queue", status_code=303)

    return app


async def _server_timing(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Say how long the server took, and keep pages out of shared caches."""
    started = time.perf_counter()
    response = await call_next(request)
    elapsed = (time.perf_counter() - started) * 1000
    response.headers["Server-Timing"] = f"app;dur={elapsed:.1f}"
    if not request.url.path.startswith(("/static/", "/m/")):
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
