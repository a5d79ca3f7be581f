"""Helpers for the landing tests: fixture pages, a cloaking route handler, crawl results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from httpserver import Request

PAGES = Path(__file__).resolve().parents[1] / "fixtures" / "landing"


def page(name: str) -> bytes:
    return (PAGES / f"fake_landing_{name}.html").read_bytes()


def cloaking_handler(
    money: bytes, white: bytes
) -> Callable[[Request], tuple[int, dict[str, str], bytes]]:
    """A cloaker: the money page for a phone arriving with a click id, the white page otherwise."""

    def handle(request: Request) -> tuple[int, dict[str, str], bytes]:
        agent = request.headers.get("User-Agent", "")
        clicked = any(k in request.query for k in ("fbclid", "sub1", "click_id", "ttclid"))
        body = money if ("Mobile" in agent and clicked) else white
        return 200, {"Content-Type": "text/html; charset=utf-8"}, body

    return handle


@dataclass
class CrawlResult:
    items: list[dict[str, Any]]
    stats: dict[str, Any]
    targets: dict[str, tuple[str, str | None]]  # url -> (status, note)
    log: str
    returncode: int
    requests: list[Request] = field(default_factory=list)

    def stat(self, key: str) -> int:
        return int(self.stats.get(key, 0))
