"""Serving the web app with uvicorn: in the foreground (`pesisir web`) or on a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI


def _server(app: FastAPI, host: str, port: int) -> uvicorn.Server:
    # log_config=None: our logging setup (with secret redaction) stays in charge of every line.
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    return uvicorn.Server(config)


def serve(app: FastAPI, host: str, port: int) -> None:
    """Serve until interrupted."""
    _server(app, host, port).run()


@contextmanager
def serving(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve on a background thread; yields the base URL (port 0 picks a free port)."""
    server = _server(app, host, port)
    thread = threading.Thread(target=server.run, name="pesisir-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the web server did not start on {host}:{port}")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
