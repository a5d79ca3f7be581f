from __future__ import annotations

import http.client
import urllib.error
import urllib.request

import pytest
from httpserver import FixtureServer


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_routes_match_path_and_query_and_count_their_uses(http_server: FixtureServer) -> None:
    http_server.route("/s/chan", body="latest")
    http_server.route("/s/chan?before=10", body="older")
    http_server.route("/api", body="ok")
    http_server.route("/api", status=429, body="slow down", times=1)  # later routes win
    assert _get(http_server.url("/s/chan")) == (200, b"latest")
    assert _get(http_server.url("/s/chan?before=10&x=1")) == (200, b"older")
    assert _get(http_server.url("/api")) == (429, b"slow down")
    assert _get(http_server.url("/api")) == (200, b"ok")
    assert _get(http_server.url("/nowhere"))[0] == 404
    assert len(http_server.hits("/api")) == 2


def test_a_truncated_body_is_cut_short(http_server: FixtureServer) -> None:
    http_server.route("/cut", body=b"x" * 1000, truncate=True)
    with pytest.raises((http.client.IncompleteRead, urllib.error.URLError)):
        _get(http_server.url("/cut"))
