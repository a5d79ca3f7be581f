"""A look-alike certificate leads, through the landing queue, to a captured landing page with
its evidence and a hit: ``scamradar crawl`` of a ctlog source, then of a landing source."""

from __future__ import annotations

from sources.conftest import LANDING_PAGES, crtsh_routes

from storage.models import Ad, Evidence, Hit, LandingTarget

HOSTS = ("halyk-bonus-kz.online", "halyk-uran.top", "halykinvest-kz.site", "lk.halyk-kz.help")


def test_lookalike_certificate_leads_to_a_captured_and_flagged_landing_page(crawl, server):
    crtsh_routes(server)
    prelander = (LANDING_PAGES / "fake_landing_prelander.html").read_bytes()
    for host in HOSTS:
        server.route(f"/landing/{host}/", body=prelander)
    c = crawl(SCAMRADAR_ALLOW_PRIVATE_TARGETS="1")
    c.sources(
        {
            "name": "ct_halyk",
            "spider": "ctlog",
            "schedule": "every 6h",
            "base_url": server.base_url,
            "queries": ["%halyk%"],
            # the landing URL of each host: the local server stands in for the scam sites
            "landing_template": server.base_url + "/landing/{host}/",
        },
        {"name": "landings", "spider": "landing", "schedule": "every 10m"},
    )
    ct = c.crawl("ct_halyk")
    assert ct.returncode == 0, ct.stderr[-3000:]
    target = f"{server.base_url}/landing/halyk-bonus-kz.online/"
    queued = {t.url: t for t in c.query(LandingTarget)}
    assert queued[target].status == "pending"

    landing = c.crawl("landings")
    assert landing.returncode == 0, landing.stderr[-3000:]
    assert {t.url: t.status for t in c.query(LandingTarget)}[target] == "fetched"
    assert server.hits("/landing/halyk-bonus-kz.online/")
    pages = [a for a in c.query(Ad) if a.spider == "landing"]
    page = next(a for a in pages if (a.url or "").startswith(target))
    evidence = c.query(Evidence, Evidence.ad_id == page.id)
    assert evidence and all(e.sha256 and e.warc_path for e in evidence)
    hits = c.query(Hit, Hit.ad_id == page.id)
    assert hits and hits[0].label == "fake_investment"
    verified = c.cli("evidence", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
