"""End-to-end landing crawls against the local fixture server (each crawl in a subprocess)."""

from __future__ import annotations

from landing.support import cloaking_handler, page


def test_a_cloaked_prelander_is_captured_twice_and_flagged(run_landing, http_server):
    http_server.route("/news/", handler=cloaking_handler(page("prelander"), page("whitepage")))
    url = http_server.url("/news/?sub1=abc&fbclid=IwAR0demo&offer=7")
    result = run_landing(urls=[url])
    print(result.log[-3000:])
    print(result.items, result.stats)
    assert 0
