"""``scamradar crawl NAME --config FILE`` in a subprocess, against the local fixture server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from httpserver import FixtureServer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import make_engine
from storage.models import Ad, CrawlRun, Evidence, Hit, LandingTarget

from .conftest import Crawl, db_session, fixture_bytes, last_run, telegram_routes, telegram_source


def test_a_channel_is_paged_back_to_its_start_and_stored_with_evidence(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    telegram_routes(http_server)
    crawl.write_sources([telegram_source(http_server)])
    done = crawl.crawl("almaty_tg")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "almaty_tg: finished (run 1): 9 items, 9 new" in done.stdout
    assert [r.path for r in http_server.requests if r.path.startswith("/s/")] == [
        "/s/almaty_zhanalyq_demo",
        "/s/almaty_zhanalyq_demo?before=4812",
        "/s/almaty_zhanalyq_demo?before=4809",
    ]
    with db_session(crawl.db_url) as s:
        assert s.scalar(select(func.count()).select_from(Ad)) == 9
        run = last_run(s)
        assert (run.status, run.items, run.ads_new, run.errors) == ("finished", 9, 9, 0)
        assert run.hits == s.scalar(select(func.count()).select_from(Hit)) > 0
        assert run.stats["telegram/pages"] == 3
        # one WARC record per page, one evidence row per ad pointing at it
        assert run.stats["evidence/records"] == 3
        paths = s.scalars(select(Evidence.warc_path).distinct()).all()
        assert len(paths) == 1 and paths[0].endswith("-run1.warc.gz")
        assert s.scalar(select(func.count(func.distinct(Evidence.warc_offset)))) == 3
        sponsored = s.scalar(select(Ad).where(Ad.external_id == "almaty_zhanalyq_demo/4813"))
        assert sponsored.label == "fake_investment" and sponsored.extra["sponsored"] is True
        queued = set(s.scalars(select(LandingTarget.url)))
        assert "https://kazatom-dividend.online/?utm_source=tg&sub1=almaty" in queued
    verified = crawl.cli("evidence", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "9 records checked" in verified.stdout and "9 intact" in verified.stdout


def test_the_same_crawl_twice_stores_no_duplicate_and_moves_times_seen(
    crawl_factory: Callable[[str], Crawl], fresh_db_url: str, http_server: FixtureServer
) -> None:
    crawl = crawl_factory(fresh_db_url)
    telegram_routes(http_server)
    crawl.write_sources([telegram_source(http_server)])
    assert crawl.crawl("almaty_tg").returncode == 0
    with db_session(crawl.db_url) as s:
        first = {a.external_id: (a.times_seen, a.last_seen) for a in s.scalars(select(Ad))}
    second = crawl.crawl("almaty_tg")
    assert second.returncode == 0, second.stderr[-3000:]
    # the first page already holds stored posts: no need to page back again
    assert "5 items, 0 new, 5 seen again" in second.stdout
    with db_session(crawl.db_url) as s:
        ads = {a.external_id: a for a in s.scalars(select(Ad))}
        assert len(ads) == len(first) == 9
        newest = ads["almaty_zhanalyq_demo/4816"]
        assert newest.times_seen == 2 and newest.last_seen > first[newest.external_id][1]
        assert ads["almaty_zhanalyq_demo/4808"].times_seen == 1
        runs = s.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
        assert [(r.status, r.ads_new, r.ads_seen_again) for r in runs] == [
            ("finished", 9, 0),
            ("finished", 0, 5),
        ]
        assert s.scalar(select(func.count()).select_from(Evidence)) == 14


def test_search_terms_are_crawled_and_max_pages_is_respected(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    telegram_routes(http_server)
    crawl.write_sources([telegram_source(http_server, search=["Казатомпром"], max_pages=1)])
    done = crawl.crawl("almaty_tg")
    assert done.returncode == 0, done.stderr[-3000:]
    paths = sorted(r.path for r in http_server.requests if r.path.startswith("/s/"))
    assert len(paths) == 2 and not any("before" in p for p in paths)
    with db_session(crawl.db_url) as s:
        ids = set(s.scalars(select(Ad.external_id)))
    assert "almaty_zhanalyq_demo/4701" in ids  # only found by the search


def test_a_429_is_retried_after_its_retry_after_and_the_run_finishes(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    telegram_routes(http_server)
    http_server.route(
        "/s/almaty_zhanalyq_demo",
        status=429,
        body=b"Too Many Requests",
        headers={"Retry-After": "1"},
        times=1,
        content_type="text/plain",
    )
    crawl.write_sources([telegram_source(http_server, max_pages=1)])
    done = crawl.crawl("almaty_tg")
    assert done.returncode == 0, done.stderr[-3000:]
    hits = http_server.hits("/s/almaty_zhanalyq_demo")
    assert len(hits) == 2
    with db_session(crawl.db_url) as s:
        run = last_run(s)
        assert run.status == "finished" and run.items == 5
        assert run.stats["retry/count"] == 1
        assert run.stats["retry/backoff_seconds"] == pytest.approx(1.0)


def test_a_source_that_only_errors_ends_failed_with_the_reason(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    http_server.route(
        "/s/almaty_zhanalyq_demo", status=503, body=b"down", content_type="text/plain"
    )
    crawl.write_sources([telegram_source(http_server)])
    done = crawl.crawl("almaty_tg", "-s", "RETRY_TIMES=1")
    assert done.returncode == 1
    assert "almaty_tg: failed" in done.stdout
    with db_session(crawl.db_url) as s:
        run = last_run(s)
        assert run.status == "failed" and run.errors >= 1 and run.items == 0
        assert "no item" in run.error
    assert len(http_server.hits("/s/almaty_zhanalyq_demo")) == 2  # first try + one retry


def test_a_channel_without_posts_ends_empty_not_finished(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    http_server.route(
        "/s/almaty_zhanalyq_demo",
        body="<html><body><div class='tgme_page'>Join</div></body></html>",
    )
    crawl.write_sources([telegram_source(http_server)])
    done = crawl.crawl("almaty_tg")
    assert done.returncode == 1 and "almaty_tg: empty" in done.stdout
    with db_session(crawl.db_url) as s:
        run = last_run(s)
        assert run.status == "empty" and run.stats["telegram/no_preview"] == 1


def test_malformed_html_is_parsed_as_far_as_it_goes(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    page = fixture_bytes("telegram_channel.html").decode("utf-8")
    broken = (
        page.replace("</div></div>", "</span>", 2).replace("</body>", "").replace("</html>", "")
    )
    broken = broken[: broken.index('data-post="almaty_zhanalyq_demo/4816"')] + "<div <b>unclosed"
    http_server.route("/s/almaty_zhanalyq_demo", body=broken)
    crawl.write_sources([telegram_source(http_server, max_pages=1)])
    done = crawl.crawl("almaty_tg")
    assert done.returncode == 0, done.stderr[-3000:]
    with db_session(crawl.db_url) as s:
        ids = set(s.scalars(select(Ad.external_id)))
    assert {f"almaty_zhanalyq_demo/{n}" for n in range(4812, 4816)} <= ids


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/html"])
def test_a_cp1251_body_with_a_wrong_or_no_charset_is_read_correctly(
    crawl: Crawl, http_server: FixtureServer, content_type: str
) -> None:
    page = fixture_bytes("telegram_channel.html").decode("utf-8").replace("₸", "тг")
    page = page.replace('<meta charset="utf-8">', "")
    http_server.route(
        "/s/almaty_zhanalyq_demo",
        body=page.encode("cp1251", errors="replace"),
        content_type=content_type,
    )
    crawl.write_sources([telegram_source(http_server, max_pages=1)])
    done = crawl.crawl("almaty_tg")
    assert done.returncode == 0, done.stderr[-3000:]
    with db_session(crawl.db_url) as s:
        ad = s.scalar(select(Ad).where(Ad.external_id == "almaty_zhanalyq_demo/4813"))
        assert "Вложите от 90 000 тг" in ad.text
        assert ad.label == "fake_investment"


def test_a_truncated_body_is_retried_and_never_kept_as_evidence(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    telegram_routes(http_server)
    http_server.route(
        "/s/almaty_zhanalyq_demo",
        body=fixture_bytes("telegram_channel.html"),
        truncate=True,
        times=1,
    )
    crawl.write_sources([telegram_source(http_server, max_pages=1)])
    done = crawl.crawl("almaty_tg")
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(http_server.hits("/s/almaty_zhanalyq_demo")) == 2
    with db_session(crawl.db_url) as s:
        assert last_run(s).stats["retry/count"] == 1
        lengths = set(s.scalars(select(Evidence.length)))
    assert lengths == {len(fixture_bytes("telegram_channel.html"))}


def test_a_body_that_is_always_truncated_fails_the_run(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    http_server.route(
        "/s/almaty_zhanalyq_demo", body=fixture_bytes("telegram_channel.html"), truncate=True
    )
    crawl.write_sources([telegram_source(http_server)])
    done = crawl.crawl("almaty_tg", "-s", "RETRY_TIMES=1")
    assert done.returncode == 1 and "almaty_tg: failed" in done.stdout


def test_an_unknown_source_name_is_one_line_and_exit_2(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    crawl.write_sources([telegram_source(http_server)])
    done = crawl.cli("crawl", "nope", "--config", str(crawl.config))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"scamradar: error: {crawl.config}: no source named 'nope' (configured: almaty_tg)"
    ]


def test_a_bad_config_fails_before_crawling(crawl: Crawl) -> None:
    crawl.config.write_text(
        "- name: tg\n  spider: telegram\n  schedule: every 1h\n", encoding="utf-8"
    )
    done = crawl.cli("crawl", "tg", "--config", str(crawl.config))
    assert done.returncode == 2
    assert "source 'tg': 'channels' is required" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_pipeline_also_runs_inline_without_a_worker_process(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    telegram_routes(http_server)
    crawl.write_sources([telegram_source(http_server)])
    done = crawl.crawl("almaty_tg", "-s", "SCAMRADAR_PIPELINE_PROCESS=0")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "9 items, 9 new" in done.stdout and "3 evidence records" in done.stdout
    with db_session(crawl.db_url) as s:
        assert "pipeline/worker_pid" not in last_run(s).stats
    assert crawl.cli("evidence", "verify").returncode == 0


def test_a_crawl_stopped_by_sigterm_is_recorded_as_interrupted(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    import signal
    import subprocess
    import sys
    import time

    from .conftest import FAST, REPO

    http_server.route("/s/almaty_zhanalyq_demo", hang=True)
    crawl.write_sources([telegram_source(http_server)])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crawler",
            "crawl",
            "almaty_tg",
            "--config",
            str(crawl.config),
            *FAST,
        ],
        cwd=REPO,
        env=crawl.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not http_server.hits("/s/almaty_zhanalyq_demo"):  # the request is in flight
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err[-3000:]
    assert "almaty_tg: interrupted" in out
    with db_session(crawl.db_url) as s:
        assert last_run(s).status == "interrupted"


def test_a_source_whose_robots_txt_forbids_it_fails_with_that_reason(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    telegram_routes(http_server)
    http_server.route(
        "/robots.txt", body="User-agent: *\nDisallow: /s/\n", content_type="text/plain"
    )
    crawl.write_sources([telegram_source(http_server)])
    done = crawl.crawl("almaty_tg")
    assert done.returncode == 1
    assert "forbidden by robots.txt" in done.stdout
    assert not http_server.hits("/s/almaty_zhanalyq_demo")


def test_an_allowlisted_advertiser_or_domain_is_stored_legit_whatever_the_rules_say(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    telegram_routes(http_server)
    crawl.write_sources([telegram_source(http_server)])
    first = crawl.crawl("almaty_tg")
    assert first.returncode == 0, first.stderr[-3000:]
    with db_session(crawl.db_url) as s:
        sponsored = s.scalar(select(Ad).where(Ad.external_id == "almaty_zhanalyq_demo/4813"))
        assert sponsored.label == "fake_investment" and sponsored.hit_id is not None
        domain = sponsored.landing_domain

    from storage.allowlist import add_entry

    engine = make_engine(crawl.db_url)
    with Session(engine) as s, s.begin():
        add_entry(s, "domain", domain, created_by="analyst", note="partner site")
    engine.dispose()

    again = crawl.crawl("almaty_tg")
    assert again.returncode == 0, again.stderr[-3000:]
    with db_session(crawl.db_url) as s:
        sponsored = s.scalar(select(Ad).where(Ad.external_id == "almaty_zhanalyq_demo/4813"))
        assert sponsored.label == "legit" and sponsored.hit_id is None
        assert last_run(s).stats["rules/allowlisted"] >= 1


def test_a_javascript_meta_refresh_in_a_hostile_page_does_not_lose_the_page(
    crawl: Crawl, http_server: FixtureServer
) -> None:
    page = fixture_bytes("telegram_channel.html").replace(
        b"<head>", b'<head><meta http-equiv="refresh" content="0; url=javascript:alert(1)">', 1
    )
    http_server.route("/s/almaty_zhanalyq_demo", body=page)
    crawl.write_sources([telegram_source(http_server, max_pages=1)])
    done = crawl.crawl("almaty_tg")
    assert done.returncode == 0, done.stderr[-3000:]
    with db_session(crawl.db_url) as s:
        run = last_run(s)
        assert run.status == "finished" and run.items == 5
        assert run.stats["metarefresh/ignored_non_http"] == 1


@pytest.mark.parametrize("process", ["1", "0"])
def test_broken_rule_data_stops_the_crawl_before_its_first_request_and_names_the_file(
    crawl: Crawl, http_server: FixtureServer, tmp_path: Path, process: str
) -> None:
    import shutil

    import crawler.rules

    rules = tmp_path / "rules"
    shutil.copytree(Path(crawler.rules.__file__).parent / "data", rules)
    broken = rules / "rules" / "fake_investment.advertorial.yaml"
    broken.write_text(broken.read_text(encoding="utf-8") + "threshold: [unclosed\n", "utf-8")
    telegram_routes(http_server)
    crawl.write_sources([telegram_source(http_server)])
    done = crawl.crawl(
        "almaty_tg",
        "-s",
        f"SCAMRADAR_RULES_DIR={rules}",
        "-s",
        f"SCAMRADAR_PIPELINE_PROCESS={process}",
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert "invalid rule data" in done.stderr + done.stdout
    assert "fake_investment.advertorial.yaml" in done.stderr + done.stdout
    assert http_server.requests == []
