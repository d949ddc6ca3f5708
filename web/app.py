"""`create_app(settings, engine)`: the FastAPI application, its routes included one per resource."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from core.config import Settings
from core.storage import MediaStore
from web.routes import media


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    """The dashboard and the public media URLs for these settings and this database."""
    app = FastAPI(title="Suara Pesisir", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.store = MediaStore(settings.data_dir)
    app.include_router(media.router)
    return app
