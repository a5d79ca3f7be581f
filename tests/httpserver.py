"""A local HTTP server that answers from a route table: the tests' stand-in for the internet.

    server.route("/s/channel", body=path.read_bytes(), content_type="text/html; charset=utf-8")
    server.route("/api", status=429, body=b"slow down", times=1)  # first call only
    server.route("/hang", hang=True)  # accepts, never answers
    server.route("/slow", body="late", delay=3.0)  # answers after 3 s

A route matches the path, and the query too when the route names one ("/s/ch?before=4812").
Routes added later win; a route with ``times`` is used that many times and then skipped.
Every request is kept in ``server.requests`` (method, path with query, headers, body).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Route:
    path: str
    query: dict[str, str] | None
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = None
    hang: bool = False
    delay: float = 0.0  # seconds to wait before answering
    truncate: bool = False  # announce the full length, send half, close
    handler: Callable[[Request], tuple[int, dict[str, str], bytes]] | None = None
    used: int = 0


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))


class FixtureServer:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> FixtureServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def route(self, path: str, *, body: bytes | str = b"", **kw: object) -> Route:
        split = urlsplit(path)
        query = dict(parse_qsl(split.query, keep_blank_values=True)) if split.query else None
        data = body.encode("utf-8") if isinstance(body, str) else body
        route = Route(path=split.path, query=query, body=data, **kw)  # type: ignore[arg-type]
        with self._lock:
            self.routes.append(route)
        return route

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if urlsplit(r.path).path == path]

    def _match(self, raw_path: str) -> Route | None:
        split = urlsplit(raw_path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        with self._lock:
            for route in reversed(self.routes):
                if route.path != split.path:
                    continue
                if route.query is not None and any(
                    query.get(k) != v for k, v in route.query.items()
                ):
                    continue
                if route.times is not None and route.used >= route.times:
                    continue
                route.used += 1
                return route
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, dict(self.headers), body)
                with server._lock:
                    server.requests.append(request)
                route = server._match(self.path)
                if route is None:
                    status, headers, payload = 404, {"Content-Type": "text/plain"}, b"no route"
                elif route.hang:
                    server._release.wait()
                    return
                else:
                    if route.delay:
                        server._release.wait(route.delay)
                    if route.handler is not None:
                        status, headers, payload = route.handler(request)
                    else:
                        status, payload = route.status, route.body
                        headers = {"Content-Type": route.content_type, **route.headers}
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                if route is not None and route.truncate:
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = _serve

        return Handler
