"""``scamradar bench crawl``: how much of a bare spider's throughput the full pipeline keeps.

A synthetic site of ad pages is served locally (``/index/<k>`` pages list 100 ads each and link
to the next index; ``/ad/<n>`` is one ad: title, text in Russian or Kazakh, a landing link;
every tenth is a fake-investment or recovery pitch). It is crawled by :class:`BenchSpider`,
each crawl in a fresh subprocess (one reactor per process, and the peak RSS is the crawl's own):

- ``bare``: the spider alone (it still builds items and captures), no pipeline, no database;
- ``full``: normalise → classify → evidence (WARC) → store into a scratch SQLite database.

Throughput is items per second from the spider's opening to its closing (the final database
flush included; process start-up and rule loading excluded), and items per CPU-second (this
process and its pipeline worker, less the worker's own start-up, which the worker reports as
``pipeline/worker_startup_cpu_seconds``), which stays meaningful on a busy machine. Both use the
same Scrapy settings: 32 concurrent requests, no delay, no AutoThrottle.
The server runs in processes of its own (``SO_REUSEPORT``), so it is not the crawl's bottleneck
on a machine with cores to spare; on a small machine it competes with the crawl, and the
report says how many cores there were.

One measurement is a few seconds long, and on a shared machine what else runs moves it by tens
of percent. So the two crawls are run in rounds, in the order bare, full, full, bare, … (each
side as often first as second, against the same server and the same load drift), and each
side's figure is its median over the rounds; the ratio of every round is reported too.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import Process
from pathlib import Path
from typing import Any

PER_INDEX = 100
_TEXTS = [
    "Алматыда жаңа велосипед жолы ашылды. Маршрут Әл-Фараби даңғылынан басталады.",
    "Скидки до 30% на зимние шины в магазине «Дала Авто» до конца месяца. Адреса на сайте.",
    "Halyk Bank: депозит до 15,5% годовых. Вклады застрахованы КФГД.",
    "Kaspi Trade — новая инвестиционная платформа. Доход от 8% в день, робот торгует за вас. "
    "Осталось 20 мест, пишите менеджеру!",
    "Потеряли деньги на фейковой бирже? Наши юристы вернут до 95% средств. Оплата после "
    "результата, пишите в WhatsApp +7 700 000 11 22.",
    "Курсы английского языка для детей в Астане: первое занятие бесплатно.",
    "Жаңа пәтерлер: бастапқы жарна 10%, ипотека 7-20-25 бағдарламасы бойынша.",
    "Доставка цветов по Алматы за 60 минут, круглосуточно.",
    "Kaspi.kz опубликовал результаты за квартал: выручка выросла на 20%.",
    "Ремонт квартир под ключ, гарантия 2 года, выезд замерщика бесплатно.",
]


# What surrounds an ad on a real page (navigation, styles, scripts, footer): about 4 KB, so that
# a page weighs what the ad and landing pages of the fixtures weigh (5-7 KB).
_CHROME_HEAD = (
    "<meta name='viewport' content='width=device-width, initial-scale=1'>"
    + "".join(
        f"<link rel='stylesheet' href='/static/css/part{i}.css?v=20261118'>" for i in range(6)
    )
    + "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}"
    "gtag('js',new Date());gtag('config','G-DEMO000000');</script>"
)
_CHROME_NAV = (
    "<header class='top'><nav>"
    + "".join(
        f"<a href='/category/{i}'>Рубрика {i}: объявления и новости города</a>" for i in range(24)
    )
    + "</nav></header>"
)
_CHROME_FOOT = (
    "<footer>"
    + "".join(
        f"<p class='legal'>Пункт {i}. Администрация сайта не несёт ответственности за содержание "
        f"рекламных объявлений. Сайт не является СМИ.</p>"
        for i in range(12)
    )
    + "</footer><script src='/static/js/app.js?v=20261118' async></script>"
)


def ad_page(n: int) -> bytes:
    text = _TEXTS[n % len(_TEXTS)]
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Объявление {n}</title>"
        f"{_CHROME_HEAD}</head><body>{_CHROME_NAV}"
        f"<article class='ad' data-id='{n}'><h1>Объявление №{n}</h1>"
        f"<p class='text'>{text} Номер {n}.</p><p class='advertiser'>Рекламодатель {n % 97}</p>"
        f"<a class='landing' href='https://landing-{n % 50}.example/offer?n={n}'>Подробнее</a>"
        f"</article>{_CHROME_FOOT}</body></html>"
    ).encode()


def index_page(k: int, pages: int) -> bytes:
    first = k * PER_INDEX
    links = "".join(
        f"<a class='ad' href='/ad/{n}'>{n}</a>" for n in range(first, min(first + PER_INDEX, pages))
    )
    more = f"<a class='next' href='/index/{k + 1}'>next</a>" if first + PER_INDEX < pages else ""
    return f"<html><body>{links}{more}</body></html>".encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms stall
    pages = 0

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        parts = self.path.split("/")
        body, status = b"not found", 404
        if len(parts) == 3 and parts[2].isdigit():
            number = int(parts[2])
            if parts[1] == "ad" and number < self.pages:
                body, status = ad_page(number), 200
            elif parts[1] == "index":
                body, status = index_page(number, self.pages), 200
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _ReusePortServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a crawler closing its keep-alive connections at the end is not news

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


def _serve(port: int, pages: int) -> None:
    _Handler.pages = pages
    _ReusePortServer(("127.0.0.1", port), _Handler).serve_forever()


@contextmanager
def synthetic_site(pages: int, workers: int = 2) -> Iterator[str]:
    """The site on 127.0.0.1, served by ``workers`` processes sharing one port."""
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    procs = [Process(target=_serve, args=(port, pages), daemon=True) for _ in range(workers)]
    for proc in procs:
        proc.start()
    probe.close()
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for proc in procs:
            proc.terminate()
            proc.join(5)


# --------------------------------------------------------------------------- the crawl


def _spider_class() -> type:
    import scrapy

    from crawler.spiders.base import SourceSpider

    class BenchSpider(SourceSpider):
        name = "bench"

        async def start(self) -> AsyncIterator[Any]:
            yield scrapy.Request(f"{self.base_url}/index/0", callback=self.parse_index)

        def parse_index(self, response: Any) -> Iterator[Any]:
            for href in response.css("a.ad::attr(href)").getall():
                yield response.follow(href, callback=self.parse_ad)
            more = response.css("a.next::attr(href)").get()
            if more:
                yield response.follow(more, callback=self.parse_index, priority=-1)

        def parse_ad(self, response: Any) -> Iterator[Any]:
            ad = response.css("article.ad")
            yield self.item(
                response,
                external_id=f"bench/{ad.attrib.get('data-id')}",
                title=ad.css("h1::text").get(),
                text=" ".join(ad.css("p.text ::text").getall()),
                advertiser=ad.css("p.advertiser::text").get(),
                url=response.url,
                landing_url=ad.css("a.landing::attr(href)").get(),
            )

    return BenchSpider


def crawl_once(
    mode: str, base_url: str, db_url: str | None, evidence: str | None
) -> dict[str, Any]:
    """One crawl in this process; returns its figures (called in a subprocess)."""
    from scrapy.crawler import CrawlerProcess

    from crawler.config import AppSettings
    from crawler.runner import scrapy_settings
    from crawler.sources import SourceConfig, parse_schedule

    source = SourceConfig(
        name=f"bench_{mode}",
        spider="bench",
        schedule=parse_schedule("every 1h"),
        base_url=base_url,
        timeout=timedelta(hours=1),
    )
    app = AppSettings(database_url=db_url or "sqlite://", evidence_dir=Path(evidence or "."))
    overrides: dict[str, Any] = {
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "LOG_LEVEL": "WARNING",
        "LOGSTATS_INTERVAL": 0,
    }
    if mode == "bare":
        overrides["ITEM_PIPELINES"] = {}
        overrides["EXTENSIONS"] = {"scrapy.extensions.telnet.TelnetConsole": None}
    from scrapy import signals

    settings = scrapy_settings(source, app, overrides)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(_spider_class())
    marks: dict[str, float] = {}

    def opened() -> None:
        # The batch pipeline freezes what the crawl set up (Scrapy, the rules, the database
        # engine) out of the collector's reach; the bare spider has no pipeline to do it. Both
        # sides start measured with the same frozen heap, or the full side's collections are
        # cheaper than the bare side's (about 0.15 ms per page) for reasons that are not the
        # pipeline's.
        gc.freeze()
        marks["wall0"], marks["cpu0"], marks["own0"] = time.monotonic(), _cpu(), _cpu(False)

    def closed() -> None:  # after the pipelines' close_spider: the final flush is included
        marks["wall1"], marks["cpu1"], marks["own1"] = time.monotonic(), _cpu(), _cpu(False)

    crawler.signals.connect(opened, signal=signals.spider_opened)
    crawler.signals.connect(closed, signal=signals.spider_closed)
    process.crawl(crawler, source=source)
    process.start()
    stats = crawler.stats.get_stats()
    elapsed = marks["wall1"] - marks["wall0"]
    cpu = marks["cpu1"] - marks["cpu0"]
    own = marks["own1"] - marks["own0"]
    items = int(stats.get("item_scraped_count", 0))
    # The worker's start-up (interpreter, imports, rules) happened before the spider opened, like
    # the crawl process's own; it reaches RUSAGE_CHILDREN only when the worker is reaped.
    startup = float(stats.get("pipeline/worker_startup_cpu_seconds", 0.0))
    cpu -= startup
    return {
        "mode": mode,
        "items": items,
        "stored": int(stats.get("storage/items", 0)),
        "errors": int(stats.get("log_count/ERROR", 0)),
        "seconds": elapsed,
        "per_second": items / elapsed if elapsed else 0.0,
        "cpu_seconds": cpu,
        "per_cpu_second": items / cpu if cpu else 0.0,
        "crawl_cpu_seconds": own,
        "worker_cpu_seconds": cpu - own,
        "worker_startup_cpu_seconds": startup,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        # The worker's own figure: RUSAGE_CHILDREN's ru_maxrss also counts the fork that
        # precedes the spawned worker's exec, i.e. this process's size at that moment.
        "workers_peak_rss_mb": float(stats.get("pipeline/worker_peak_rss_mb", 0.0)),
        "status": stats.get("scamradar/run_status"),
        "backpressure_seconds": float(stats.get("pipeline/backpressure_seconds", 0.0)),
    }


def _cpu(children: bool = True) -> float:
    """CPU seconds of this process (all threads), and of its finished children (the pipeline
    worker is reaped when the pipeline closes, before the spider_closed signal)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    total = own.ru_utime + own.ru_stime
    if children:
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        total += kids.ru_utime + kids.ru_stime
    return total


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


@dataclass(frozen=True)
class Figures:
    """The crawls of one site size: ``bares[i]`` and ``fulls[i]`` are round ``i``."""

    pages: int
    bares: list[dict[str, Any]]
    fulls: list[dict[str, Any]]

    @property
    def bare(self) -> dict[str, Any]:
        return _summary(self.bares)

    @property
    def full(self) -> dict[str, Any]:
        return _summary(self.fulls)

    @property
    def ratio(self) -> float:
        """Full pipeline throughput as a share of the bare spider's (wall clock, medians)."""
        return self.full["per_second"] / self.bare["per_second"] if self.bare["per_second"] else 0.0

    @property
    def cpu_ratio(self) -> float:
        """The same in pages per CPU-second: what the pipeline costs, whatever else the
        machine is doing."""
        bare, full = self.bare["per_cpu_second"], self.full["per_cpu_second"]
        return full / bare if bare else 0.0

    @property
    def round_ratios(self) -> list[float]:
        """full/bare of each round (wall clock)."""
        return [
            f["per_second"] / b["per_second"] if b["per_second"] else 0.0
            for b, f in zip(self.bares, self.fulls, strict=True)
        ]


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One side's figures over its rounds: medians, except peak RSS (the highest of the rounds)
    and the counts (the first round's: every round crawls the same site)."""
    out = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, float):
            out[key] = _median([r[key] for r in runs])
    out["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    out["workers_peak_rss_mb"] = max(r["workers_peak_rss_mb"] for r in runs)
    return out


def run(pages: int, rounds: int = 2) -> Figures:
    """Serve ``pages`` ad pages; crawl them bare and with the full pipeline into SQLite, in
    ``rounds`` rounds ordered bare, full, full, bare, … (a fresh database for every full crawl,
    so that each one stores new ads)."""
    from storage.db import make_engine
    from storage.migrate import upgrade

    bares: list[dict[str, Any]] = []
    fulls: list[dict[str, Any]] = []
    with synthetic_site(pages) as base_url, tempfile.TemporaryDirectory(prefix="sr-bench-") as tmp:
        for i in range(rounds):
            order = ("bare", "full") if i % 2 == 0 else ("full", "bare")
            for mode in order:
                work = Path(tmp) / f"{mode}-{i}"
                work.mkdir()
                db_url = f"sqlite:///{work / 'bench.db'}"
                if mode == "full":
                    engine = make_engine(db_url)
                    try:
                        upgrade(engine)
                    finally:
                        engine.dispose()
                result = _crawl_subprocess(mode, base_url, db_url, work / "evidence")
                (bares if mode == "bare" else fulls).append(result)
    return Figures(pages, bares, fulls)


def _crawl_subprocess(mode: str, base_url: str, db_url: str, evidence: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "crawler.benchcrawl", mode, base_url, db_url, str(evidence)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"bench crawl ({mode}) failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str]) -> None:
    mode, base_url, db_url, evidence = argv
    print(json.dumps(crawl_once(mode, base_url, db_url, evidence)))


if __name__ == "__main__":
    main(sys.argv[1:])
