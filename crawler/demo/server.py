"""A local HTTP server for the demo samples, on 127.0.0.1, port 18765 when free (so that a
re-run of the demo sees the same URLs and stores no new copies), else any free port.

Routes, in the shape of the real endpoints: ``/s/<channel>[?before=N]`` (Telegram web preview),
``/news.rss``, ``/feed/atom/``, ``/rss/search`` (Google News), ``/l/<name>/`` (landing pages),
``/robots.txt`` (allows all). ``{{BASE}}`` in a sample becomes the server's own address, so
the ads link to landing pages the demo can fetch.
"""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

DATA = Path(str(files("crawler.demo") / "data"))
_NAME = re.compile(r"^[a-z0-9_-]+$")
_FEEDS = {
    "/news.rss": ("feeds/news_rss.xml", "application/rss+xml; charset=utf-8"),
    "/feed/atom/": ("feeds/atom.xml", "application/atom+xml; charset=utf-8"),
    "/rss/search": ("feeds/google_news.xml", "application/xml; charset=utf-8"),
}


PREFERRED_PORT = 18765  # the same address on every run: a re-run sees the same landing URLs


class DemoServer:
    def __init__(self, data: Path = DATA, port: int = PREFERRED_PORT) -> None:
        self.data = data
        try:
            self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        except OSError:  # taken: any free port
            self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> DemoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def resolve(self, raw_path: str) -> tuple[str, str] | None:
        """(file under data/, content type) for a request path, or None."""
        split = urlsplit(raw_path)
        path, query = split.path, parse_qs(split.query)
        if path in _FEEDS:
            return _FEEDS[path]
        parts = [p for p in path.split("/") if p]
        if len(parts) == 2 and parts[0] == "s" and _NAME.match(parts[1]):
            before = query.get("before", [""])[0]
            suffix = f"_before_{before}" if before.isdigit() else ""
            return f"telegram/{parts[1]}{suffix}.html", "text/html; charset=utf-8"
        if len(parts) == 2 and parts[0] == "l" and _NAME.match(parts[1]):
            return f"landing/{parts[1]}.html", "text/html; charset=utf-8"
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if urlsplit(self.path).path == "/robots.txt":
                    self._send(200, "text/plain", b"User-agent: *\nAllow: /\n")
                    return
                found = server.resolve(self.path)
                file = server.data / found[0] if found else None
                if found is None or file is None or not file.is_file():
                    self._send(404, "text/plain", b"not found")
                    return
                body = file.read_text(encoding="utf-8").replace("{{BASE}}", server.base_url)
                self._send(200, found[1], body.encode("utf-8"))

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
