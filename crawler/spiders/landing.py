"""The ``landing`` spider: fetch ad landing pages twice and keep what they reveal.

Targets: the source's ``urls`` (trusted: the config is ours) and up to ``max_targets`` pending
targets of the landing queue (``storage.landing``; untrusted: found inside ads or certificate
logs). Each target is fetched

1. as a phone (:data:`crawler.landing_fetch.MOBILE_HEADERS`, the URL as given, click ids and
   all), following redirects and recording the chain; then
2. as a plain crawler (the project's bot user agent, the same URL without click ids and campaign
   parameters, :func:`crawler.landing_cloak.strip_tracking`).

One :class:`~crawler.items.AdItem` per target carries the page's text and title, the facts of
:func:`crawler.landing_extract.analyse_page` in ``extra`` (forms with hidden fields, phones,
messenger links, pixel ids, outbound links, redirects), the cloaking verdict
(``extra["cloaked"]``, ``extra["cloak"]``) and both responses as captures (kinds ``landing`` and
``landing_bot``) for the WARC evidence. ``external_id`` is the final URL without tracking
parameters. ``links`` stays empty: a landing page's own links are not queued again.

Every request for an untrusted target is marked ``meta["untrusted"]`` and passes through
:class:`crawler.netguard.NetGuardMiddleware` (added by :meth:`LandingSpider.update_settings`);
refused, failed and fetched targets are marked in the queue with the reason. robots.txt is not
consulted: fetching one URL an ad sends people to is an investigation, not a crawl, and scam kits
use robots.txt to hide from the very checks this spider makes (docs/landing.md).

Stats: ``landing/targets`` (``/config``, ``/queue``), ``landing/fetched``, ``landing/cloaked``,
``landing/failed`` (``/<reason>``), ``landing/non_html``, ``landing/charset_mismatch``,
``landing/bot_failed``, ``landing/refused`` and its families (set by the guard).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.items import AdItem, Capture
from crawler.landing_cloak import compare_pages, normalise_url, strip_tracking
from crawler.landing_extract import PageAnalysis, analyse_page, decode_html_response
from crawler.landing_fetch import (
    ALL_FAILED_MIN_TARGETS,
    BOT_HEADERS,
    BOT_STATUSES,
    DEFAULT_MAX_TARGETS,
    DEFAULT_MOBILE_USER_AGENT,
    LANDING_SETTINGS,
    MOBILE_HEADERS,
    PASSING_FAILURES,
    PASSING_STATUSES,
    describe_failure,
    rebase,
    target_url,
)
from crawler.netguard import (
    REFUSAL_META,
    UNTRUSTED_META,
    NetGuardMiddleware,
    TargetRefused,
    check_url,
    record_refusal,
    url_host,
)
from crawler.sources import parse_duration
from crawler.spiders.base import SourceSpider

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)


class LandingSpider(SourceSpider):
    """Parameters (sources.yaml): ``urls`` (optional, trusted), ``max_targets`` (queued targets per
    run, default 500), ``base_url`` (optional: every target, listed or queued, is fetched from
    this origin instead, path and query kept, with the target's own ``Host`` header; items keep
    the target's identity, ``extra["fetched_from"]`` names the base; docs/landing.md).
    """

    name = "landing"

    def __init__(self, source: Any = None, config: str | None = None, **kwargs: Any) -> None:
        super().__init__(source, config, **kwargs)
        self.config_urls = list(self.source.param("urls", []))
        self.max_targets = int(self.source.param("max_targets", DEFAULT_MAX_TARGETS))
        self.retries = int(self.source.param("retries", 2))
        self.retry_after = parse_duration(self.source.param("retry_after", "1h"))
        #: Hosts the guard trusts at connect time: the config's own (netguard.NetGuardMiddleware).
        self.trusted_hosts = frozenset(
            h for h in (url_host(u) for u in [*self.config_urls, self.base_url]) if h
        )

    def identity(self, url: str, meta: dict[str, Any]) -> str:
        """The URL a fetched URL stands for: with ``base_url``, the target's own origin in place
        of the base (``fetched_from`` in ``extra`` says where the bytes really came from)."""
        mapping = meta.get("landing_rebased")
        if mapping and url.startswith(mapping[0]):
            return mapping[1] + url[len(mapping[0]) :]
        return url

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        for key, value in LANDING_SETTINGS.items():
            settings.set(key, value, priority="spider")
        # At spider priority, so that a runner merging its own project settings into the crawler
        # (CrawlerProcess.crawl(crawler)) cannot drop the guard.
        middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
        middlewares[NetGuardMiddleware] = 950
        settings.set("DOWNLOADER_MIDDLEWARES", middlewares, priority="spider")

    # -- targets -------------------------------------------------------------------------------
    def _sessions(self) -> Any:
        from crawler.context import crawl_context

        return crawl_context(self.crawler).sessions

    def queued_targets(self) -> list[tuple[str, str]]:
        """(url, origin) of the oldest pending targets of the landing queue."""
        from storage.landing import pending_landing_targets

        with self._sessions()() as session:
            rows = pending_landing_targets(session, limit=self.max_targets)
            return [(row.url, row.origin) for row in rows]

    def mark(
        self, url: str | None, status: str, note: str | None = None, *, passing: bool = False
    ) -> None:
        """Record the target's fate in the queue (a config URL has no queue row: no-op);
        a ``passing`` failure is retried by a later run (``retries``, ``retry_after``)."""
        if url is None:
            return
        from storage.landing import mark_landing_target

        with self._sessions().begin() as session:
            mark_landing_target(
                session,
                url,
                status,
                note,
                retry_after=self.retry_after if passing else None,
                retries=self.retries,
            )

    async def start(self) -> AsyncIterator[Request]:
        stats = self.crawler.stats
        seen: set[str] = set()
        for url in self.config_urls:
            if url in seen:
                continue
            seen.add(url)
            stats.inc_value("landing/targets")
            stats.inc_value("landing/targets/config")
            yield self.mobile_request(url, target=None, untrusted=False, origin="config")
        for url, origin in self.queued_targets():
            if url.strip() in seen:  # listed in the config too: fetched once, as trusted
                self.mark(url, "fetched", "also listed in the source's urls")
                continue
            seen.add(url.strip())
            stats.inc_value("landing/targets")
            stats.inc_value("landing/targets/queue")
            try:
                # with base_url the request goes where the config says: not untrusted
                yield self.mobile_request(
                    target_url(url), target=url, untrusted=not self.base_url, origin=origin
                )
            except ValueError as exc:  # not a URL Scrapy can request (javascript:, tel:, …)
                refusal = check_url(url)
                if refusal is None:
                    self.fail(url, url, "bad_url", f"not a fetchable URL: {exc}")
                    continue
                record_refusal(stats, "landing", url, refusal, "not requested")
                stats.inc_value("landing/targets_refused")
                self.mark(url, "refused", str(refusal))

    # -- requests ------------------------------------------------------------------------------
    def mobile_request(
        self, url: str, *, target: str | None, untrusted: bool, origin: str
    ) -> Request:
        """The phone's request for ``url`` (fetched from ``base_url`` when one is configured,
        with the target's own ``Host``)."""
        agent = (
            self.crawler.settings.get("SCAMRADAR_MOBILE_USER_AGENT") or DEFAULT_MOBILE_USER_AGENT
        )
        url = url.strip()
        fetch = rebase(url, self.base_url or None)
        headers = {**MOBILE_HEADERS, "User-Agent": agent}
        rebased = None
        if fetch != url:
            original, base = urlsplit(url), urlsplit(fetch)
            headers["Host"] = original.netloc
            rebased = (
                f"{base.scheme}://{base.netloc}{urlsplit(self.base_url).path.rstrip('/')}",
                f"{original.scheme}://{original.netloc}",
            )
        return Request(
            fetch,
            headers=headers,
            callback=self.parse_mobile,
            errback=self.mobile_failed,
            # dont_filter: every target must end in its callback or errback (a request dropped
            # as a duplicate, e.g. two targets redirecting to one page, would leave it pending);
            # redirect loops are bounded by REDIRECT_MAX_TIMES.
            dont_filter=True,
            meta={
                UNTRUSTED_META: untrusted,
                "landing_target": target,
                "landing_origin": origin,
                "landing_rebased": rebased,
                "referrer_policy": "no-referrer",
                "handle_httpstatus_list": BOT_STATUSES,
            },
        )

    def bot_request(self, mobile: Response, state: dict[str, Any]) -> Request:
        agent = self.crawler.settings.get("USER_AGENT")
        headers = {**BOT_HEADERS, "User-Agent": agent}
        if mobile.request is not None and b"Host" in mobile.request.headers:
            headers["Host"] = mobile.request.headers[b"Host"].decode("latin-1")
        return Request(
            strip_tracking(state["requested_url"]),
            headers=headers,
            callback=self.parse_bot,
            errback=self.bot_failed,
            dont_filter=True,
            meta={
                UNTRUSTED_META: mobile.meta.get(UNTRUSTED_META, False),
                "landing_target": mobile.meta.get("landing_target"),
                "landing_state": state,
                "landing_rebased": mobile.meta.get("landing_rebased"),
                "handle_httpstatus_list": BOT_STATUSES,
                # no Referer: it would hand the cloaker the mobile URL and its click ids
                "referrer_policy": "no-referrer",
            },
        )

    # -- callbacks -----------------------------------------------------------------------------
    def parse_mobile(self, response: Response) -> Iterator[Request]:
        target = response.meta.get("landing_target")
        chain = [*response.meta.get("redirect_urls", []), response.url]
        if response.status >= 400:
            self.fail(
                target,
                response.url,
                "http_status",
                f"HTTP {response.status}",
                status=response.status,
            )
            return
        page = self.read_page(response)
        if page is None:
            content_type = response.headers.get("Content-Type", b"").decode("latin-1") or "none"
            self.crawler.stats.inc_value("landing/non_html")
            self.fail(target, response.url, "non_html", f"not an HTML page ({content_type})")
            return
        analysis, charset = page
        state = {
            "requested_url": chain[0],
            "redirect_chain": chain,
            "redirect_statuses": list(response.meta.get("redirect_reasons", [])),
            "origin": response.meta.get("landing_origin"),
            "rebased": response.meta.get("landing_rebased"),
            "analysis": analysis,
            "charset": charset,
            "capture": self.capture(response, "landing"),
        }
        yield self.bot_request(response, state)

    def parse_bot(self, response: Response) -> Iterator[AdItem]:
        state = response.meta["landing_state"]
        page = self.read_page(response)
        bot = page[0] if page is not None else PageAnalysis(None, None, None, "")
        verdict = compare_pages(
            state["analysis"],
            bot,
            mobile_status=state["capture"].status,
            bot_status=response.status,
            mobile_final_url=state["redirect_chain"][-1],
            bot_final_url=response.url,
        )
        meta = response.meta
        bot_facts = {
            "url": self.identity(response.request.url if response.request else response.url, meta),
            "final_url": self.identity(response.url, meta),
            "status": response.status,
            "title": bot.title,
            "has_form": bool(bot.forms),
            "redirect_chain": [
                self.identity(u, meta) for u in [*meta.get("redirect_urls", []), response.url]
            ],
        }
        yield from self.finish(
            response,
            state,
            cloaked=verdict.cloaked,
            cloak=verdict.as_extra(),
            bot=bot_facts,
            bot_capture=self.capture(response, "landing_bot"),
        )

    def finish(
        self,
        response: Response,
        state: dict[str, Any],
        *,
        cloaked: bool | None,
        cloak: dict[str, Any],
        bot: dict[str, Any],
        bot_capture: Capture | None,
    ) -> Iterator[AdItem]:
        stats = self.crawler.stats
        analysis: PageAnalysis = state["analysis"]
        meta = {"landing_rebased": state["rebased"]}
        chain = [self.identity(u, meta) for u in state["redirect_chain"]]
        final_url = chain[-1]
        stats.inc_value("landing/fetched")
        if cloaked:
            stats.inc_value("landing/cloaked")
            logger.info("landing: %s is cloaked: %s", final_url, "; ".join(cloak["reasons"]))
        extra = {
            **analysis.as_extra(),
            "requested_url": chain[0],
            "final_url": final_url,
            "redirect_chain": chain,
            "fetched_from": self.base_url if state["rebased"] else None,
            "redirect_statuses": state["redirect_statuses"],
            "origin": state["origin"],
            "charset": state["charset"],
            "cloaked": cloaked,
            "cloak": cloak,
            "bot": bot,
        }
        captures = [state["capture"], *([bot_capture] if bot_capture is not None else [])]
        # the page without click ids: also keeps the store from queueing it again as a new target
        page_url = strip_tracking(final_url)
        self.mark(response.meta.get("landing_target"), "fetched", f"fetched {final_url}")
        yield AdItem(
            source=self.source.name,
            spider=self.name,
            text=analysis.text,
            title=analysis.title,
            external_id=normalise_url(final_url),
            url=page_url,
            landing_url=page_url,
            language=analysis.language,
            extra=extra,
            captures=captures,
        )

    # -- errors --------------------------------------------------------------------------------
    def mobile_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        target = request.meta.get("landing_target")
        if failure.check(TargetRefused):
            refusal = failure.value.refusal
            self.crawler.stats.inc_value("landing/targets_refused")
            self.mark(target, "refused", f"{refusal} ({failure.value.url})")
            return
        reason, detail = describe_failure(failure)
        self.fail(target, request.url, reason, detail)

    def bot_failed(self, failure: Failure) -> Iterator[AdItem]:
        """The bot fetch failed: keep the mobile capture, say why the cloaking check is missing."""
        request = failure.request  # type: ignore[attr-defined]
        state = request.meta["landing_state"]
        refusal = request.meta.get(REFUSAL_META)
        reason, detail = ("refused", str(refusal)) if refusal else describe_failure(failure)
        self.crawler.stats.inc_value("landing/bot_failed")
        logger.warning("landing: bot fetch of %s failed: %s", request.url, detail)
        bot = {"url": self.identity(request.url, request.meta), "error": reason, "detail": detail}
        cloak = {"reasons": [], "unchecked": f"bot fetch failed: {detail}"}
        # a bot request refused by the guard (redirected to a private address) is itself a sign
        yield from self.finish(
            _StateResponse(request),
            state,
            cloaked=True if refusal else None,
            cloak=cloak,
            bot=bot,
            bot_capture=None,
        )

    def closed(self, reason: str) -> None:
        """Health check: every target failed on the network (not one page answered) → an error,
        so that the crawl run is judged failed; dead pages among live ones are normal."""
        stats = self.crawler.stats
        targets = int(stats.get_value("landing/targets", 0))
        network = sum(
            int(stats.get_value(f"landing/failed/{r}", 0))
            for r in ("timeout", "dns", "connection_refused", "no_response", "error")
        )
        if targets >= ALL_FAILED_MIN_TARGETS and network == targets:
            logger.error(
                "landing: all %d targets failed on the network (timeouts, DNS, refused "
                "connections): is this host's network or proxy down?",
                targets,
            )

    def fail(
        self, target: str | None, url: str, reason: str, detail: str, *, status: int | None = None
    ) -> None:
        stats = self.crawler.stats
        stats.inc_value("landing/failed")
        stats.inc_value(f"landing/failed/{reason}")
        logger.warning("landing: %s failed: %s", url, detail)
        passing = reason in PASSING_FAILURES or status in PASSING_STATUSES
        self.mark(target, "failed", detail, passing=passing)

    # -- helpers -------------------------------------------------------------------------------
    def read_page(self, response: Response) -> tuple[PageAnalysis, str] | None:
        """The page's analysis and charset, or None when the response is not HTML."""
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        decoded = decode_html_response(response.body, content_type)
        if decoded is None:
            return None
        if decoded.mismatch:
            self.crawler.stats.inc_value("landing/charset_mismatch")
        return analyse_page(decoded.text, response.url), decoded.encoding


class _StateResponse:
    """The bits of a response :meth:`LandingSpider.finish` reads, for a failed bot request."""

    def __init__(self, request: Request) -> None:
        self.meta = request.meta
