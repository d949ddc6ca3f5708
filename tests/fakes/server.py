"""A tiny threaded HTTP server on 127.0.0.1 that platform fakes build on.

Each fake subclasses `FakePlatform` and implements `handle(request) -> Response`, enforcing its
platform's documented contract. Tests can queue (status, headers, body) responses with `inject`
to play 429s and 5xx before the real handling resumes, and read every `requests` made.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Part:
    """One multipart/form-data field."""

    name: str
    filename: str | None
    content_type: str
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


@dataclass
class Request:
    """What the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    def multipart(self) -> dict[str, Part]:
        """Fields of a multipart/form-data body by name."""
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/form-data"):
            return {}
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + self.body
        )
        parts: dict[str, Part] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            parts[str(name)] = Part(
                name=str(name),
                filename=part.get_filename(),
                content_type=part.get_content_type(),
                data=payload if isinstance(payload, bytes) else b"",
            )
        return parts

    def fields(self) -> dict[str, str]:
        """Form fields from a urlencoded, multipart or JSON body (first value each)."""
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            return {name: part.text for name, part in self.multipart().items() if not part.filename}
        if content_type.startswith("application/json"):
            data = self.json()
            return {
                key: value if isinstance(value, str) else json.dumps(value)
                for key, value in data.items()
            }
        return {key: values[0] for key, values in self.form().items()}


@dataclass
class Response:
    """What the fake answers."""

    status: int = 200
    body: Any = None  # JSON-able, or bytes/str sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (to provoke client timeouts)
    # Handle the request for real first, then answer this instead: a lost success, as when a
    # proxy times out after the platform did the work.
    after_handling: bool = False

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/html; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json; charset=utf-8"


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout tests) is expected; anything else is still shown."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakePlatform:
    """Base of every platform fake: a server in a thread, a request log, injectable responses."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._injected: deque[tuple[str | None, str | None, Response]] = deque()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls per request

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                request = Request(self.command, url.path, parse_qs(url.query), self.headers, body)
                response = fake.dispatch(request)
                if response.delay:
                    time.sleep(response.delay)
                data, content_type = response.encoded()
                self.send_response(response.status)
                headers = {"Content-Type": content_type, **response.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read `fake.requests` instead."""

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakePlatform:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakePlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def inject(
        self,
        *responses: Response | tuple[int, dict[str, str], Any],
        path: str | None = None,
        method: str | None = None,
    ) -> None:
        """Answer the next requests (to paths containing `path`, with `method`, if given) with
        `responses`."""
        with self._lock:
            for item in responses:
                if isinstance(item, tuple):
                    status, headers, body = item
                    item = Response(status, body, headers)  # noqa: PLW2901
                self._injected.append((path, method, item))

    def dispatch(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            injected = None
            for index, (path, method, response) in enumerate(self._injected):
                if method is not None and method != request.method:
                    continue
                if path is None or path in request.path or path in str(request.query):
                    del self._injected[index]
                    injected = response
                    break
        if injected is not None and not injected.after_handling:
            return injected
        handled = self.handle(request)
        return injected if injected is not None else handled

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def calls(self, fragment: str) -> list[Request]:
        """Requests whose path (or rest_route) contains `fragment`."""
        return [
            r
            for r in self.requests
            if fragment in r.path or fragment in (r.param("rest_route") or "")
        ]
