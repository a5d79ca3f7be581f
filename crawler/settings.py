"""Scrapy settings for scamradar: polite defaults for every crawl.

Only constants here (no environment read, no I/O at import). Values that are not Scrapy's own
(database, evidence directory, private-address policy) come from
:class:`crawler.config.AppSettings`:
the runner (``scamradar crawl``) copies them in with :func:`app_overrides`; under plain
``scrapy crawl`` the components read ``AppSettings.from_env()`` themselves when they are unset.

Politeness: robots.txt is obeyed for the sites we monitor (Telegram, news feeds); AutoThrottle
adapts the delay to the server's latency, with at most 2 parallel requests per domain and a 1 s
base delay (Telegram rate-limits at about 1 request/s per channel); 429 and 5xx are retried with
exponential back-off honouring ``Retry-After`` (:mod:`crawler.backoff`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crawler.config import AppSettings

BOT_NAME = "scamradar"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
SPIDER_LOADER_WARN_ONLY = True  # a broken kind must not stop the others

# Who we are. Monitored sites see an honest, contactable crawler; landing pages of scams are
# fetched as a phone (cloakers show bots a white page) and a second time as this crawler.
USER_AGENT = (
    "Mozilla/5.0 (compatible; scamradar/0.1; fraud-ad monitoring; +https://scamradar.invalid/bot)"
)
SCAMRADAR_MOBILE_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/129.0.6668.100 Mobile Safari/537.36"
)
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "ru-RU,ru;q=0.9,kk;q=0.8,en;q=0.6",
}

ROBOTSTXT_OBEY = True

CONCURRENT_REQUESTS = 16
# Items handled in parallel per response. Scrapy starts this many tasks for every response, so
# it is kept near what one response yields: a t.me page holds ~20 posts.
CONCURRENT_ITEMS = 20
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # ±50 %
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

DOWNLOAD_TIMEOUT = 30
DNS_TIMEOUT = 10
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [408, 429, 500, 502, 503, 504, 522, 524]
# Back-off between retries (crawler.backoff): base * 2**(attempt-1), jittered, at most MAX
# seconds; a Retry-After header wins (capped at MAX too).
SCAMRADAR_BACKOFF_BASE = 2.0
SCAMRADAR_BACKOFF_MAX = 120.0

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.backoff.BackoffRetryMiddleware": 550,
    # a refresh to javascript:/data: in hostile HTML must not lose the page (crawler/metarefresh.py)
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.metarefresh.SafeMetaRefreshMiddleware": 580,
}

ITEM_PIPELINES = {
    "crawler.pipelines.normalise.NormalisePipeline": 100,
    # classify → evidence → store, in batches, in a worker process (crawler/pipelines/batch.py)
    "crawler.pipelines.batch.BatchPipeline": 300,
}
# Items per batch (one database transaction); a partial batch is also processed every
# FLUSH_SECONDS. The batch stages run in a worker process when the machine has 2+ CPUs
# (SCAMRADAR_PIPELINE_PROCESS: auto, 1 or 0). A batch is handed to the worker whole, or in
# PIPELINE_CHUNKS parts as its items come (for a machine whose worker keeps the crawl waiting).
SCAMRADAR_STORE_BATCH = 100
SCAMRADAR_STORE_FLUSH_SECONDS = 5.0
SCAMRADAR_PIPELINE_CHUNKS = 1
SCAMRADAR_PIPELINE_PROCESS = "auto"

EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    "crawler.crawlrun.CrawlRunRecorder": 500,
}
# Run health (crawler.crawlrun): a run whose errors are more than this share of its responses
# is `failed`; a run with no item is `empty`.
SCAMRADAR_FAILED_ERROR_SHARE = 0.5

COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # no listening socket per crawl
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

# Set from AppSettings by the runner (None = read the environment when needed).
SCAMRADAR_DATABASE_URL: str | None = None
SCAMRADAR_EVIDENCE_DIR: str | None = None
SCAMRADAR_ALLOW_PRIVATE_TARGETS = False


def app_overrides(app: AppSettings) -> dict[str, Any]:
    """The Scrapy settings that come from scamradar's own configuration."""
    return {
        "SCAMRADAR_DATABASE_URL": app.database_url,
        "SCAMRADAR_EVIDENCE_DIR": str(app.evidence_dir),
        "SCAMRADAR_ALLOW_PRIVATE_TARGETS": app.allow_private_targets,
        "LOG_LEVEL": app.log_level,
    }
