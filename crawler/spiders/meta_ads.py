"""Meta Ad Library API (``ads_archive``): ads of the EU overlap of KZ-targeted campaigns.

**Read this first**: outside the EU the Ad Library API returns *only* ads about social issues,
elections or politics. A commercial scam ad shown only in Kazakhstan is invisible to it. The
spider therefore asks for ads that reached EU countries with large Russian-speaking audiences,
where the same networks reuse their creatives: by default Latvia, Lithuania, Estonia, Germany,
Poland and Cyprus (``countries`` overrides), with ru/kk/Latin search terms (the API does not
translate: query "Казатомпром", "Қазатомөнеркәсіп" and "Kazatomprom" separately).

Parameters (sources.yaml): ``queries`` (required; ≤ 100 characters each), ``countries``
(ISO codes), ``max_pages`` (pages per query, default 20). ``base_url`` defaults to
``https://graph.facebook.com`` (API version v24.0). Token: ``SCAMRADAR_META_TOKEN``.

Requests pass ``ad_type=ALL`` and ``ad_active_status=ALL`` explicitly and list their ``fields``;
paging follows ``paging.next`` (sent to ``base_url`` when one is configured) until a page has an
empty ``data`` or no ``next``. Errors: 190 (token invalid/expired) and 100 (bad parameter) end
the run as ``failed`` with Meta's message; 613 (and 4/17/32/341/80004) is a rate limit: back
off and retry. Meta's ``X-App-Usage``/``X-Business-Use-Case-Usage`` headers are read: above
75 % of the rate limit the spider pauses before the next page.

**The token is never logged nor stored**: it travels in the request URL (as Meta requires) but
every log record is redacted, ``paging.next`` is kept without it (the token is added back only
on the outgoing request), ``ad_snapshot_url`` is replaced by the public
``https://www.facebook.com/ads/library/?id=<id>``, and the API response kept as evidence has its
URL, headers and body redacted before it is written (its SHA-256 is that of the redacted body).

Each ad is one item: ``external_id`` the archive id, ``url`` its Ad Library page,
``advertiser`` the page name, ``title`` the link titles, ``text`` the creative bodies and link
descriptions, ``landing_url`` ``https://<caption>/`` when the display caption is a domain (the
API has no landing URL field); ``extra`` holds ``page_id``, ``captions``, ``platforms``,
``languages``, ``eu_total_reach``, ``target_locations``, ``payers``, delivery dates,
``templated`` (a ``{{product.name}}`` dynamic creative) and ``query``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from scrapy.http import Response

from crawler.apis import meta_ads
from crawler.apis.errors import ApiError
from crawler.apis.spider import ApiSpider
from crawler.apis.textutil import join_text
from crawler.lookalikes import clean_domain

logger = logging.getLogger(__name__)


class MetaAdsSpider(ApiSpider):
    """See the module docstring. Stats: ``meta_ads/pages``, ``meta_ads/templated``,
    ``meta_ads/usage_max`` (the highest rate-limit usage Meta reported, percent)."""

    name = "meta_ads"
    default_base_url = meta_ads.DEFAULT_BASE_URL
    secret_attr = "meta_token"
    secret_env = "SCAMRADAR_META_TOKEN"

    def __init__(self, source: Any = None, config: str | None = None, **kwargs: Any) -> None:
        super().__init__(source, config, **kwargs)
        self.max_pages = int(self.source.param("max_pages", 20))
        self.countries = list(self.source.param("countries") or meta_ads.DEFAULT_COUNTRIES)
        self.seen: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        if not self.require_token():
            return
        for query in self.source.param("queries") or []:
            url = meta_ads.archive_url(
                query, self.countries, token=self.token, base_url=self.base_url
            )
            yield self.api_request(url, self.parse_archive, query=query, page=1)

    async def parse_archive(self, response: Response) -> AsyncIterator[Any]:
        try:
            page = meta_ads.parse_archive(response.body, response.status)
        except ApiError as exc:
            async for request in self.api_error(exc, response):
                yield request
            return
        query, number = response.meta["query"], response.meta["page"]
        self.crawler.stats.inc_value("meta_ads/pages")
        usage = meta_ads.usage_percent(self.capture(response).headers)
        if usage is not None:
            self.crawler.stats.max_value("meta_ads/usage_max", usage)
        for ad in page.ads:
            if ad.id in self.seen:
                continue
            self.seen.add(ad.id)
            caption = next((h for h in map(clean_domain, ad.captions) if h), None)
            landing = f"https://{caption}/" if caption else None
            if ad.templated:
                self.crawler.stats.inc_value("meta_ads/templated")
            yield self.item(
                response,
                capture_kind="api",
                title=" | ".join(dict.fromkeys(ad.titles)) or None,
                text=join_text(*ad.bodies, *ad.descriptions),
                external_id=ad.id,
                url=ad.library_url,
                landing_url=landing,
                advertiser=ad.page_name,
                language=ad.languages[0] if len(ad.languages) == 1 else None,
                published_at=ad.delivery_start or ad.created,
                links=[landing] if landing else [],
                extra={
                    "page_id": ad.page_id,
                    "captions": list(ad.captions),
                    "platforms": list(ad.platforms),
                    "languages": list(ad.languages),
                    "eu_total_reach": ad.eu_total_reach,
                    "target_locations": list(ad.target_locations),
                    "payers": list(ad.payers),
                    "delivery_start": ad.delivery_start.isoformat() if ad.delivery_start else None,
                    "delivery_stop": ad.delivery_stop.isoformat() if ad.delivery_stop else None,
                    "templated": ad.templated,
                    "query": query,
                },
            )
        if page.next_url and page.raw_items and number < self.max_pages:
            if usage is not None and usage >= meta_ads.USAGE_SLOW_DOWN:
                await self.slow_down(usage)
            url = meta_ads.with_token(
                meta_ads.rebase(page.next_url, self.source.base_url), self.token
            )
            yield self.api_request(url, self.parse_archive, query=query, page=number + 1)

    async def slow_down(self, usage: int) -> None:
        """Meta reports the app near its rate limit: pause before the next page (from 0 at 75 %
        to ``SCAMRADAR_BACKOFF_MAX`` at 100 %)."""
        cap = self.crawler.settings.getfloat("SCAMRADAR_BACKOFF_MAX", 120.0)
        pause = cap * min(1.0, (usage - meta_ads.USAGE_SLOW_DOWN + 1) / 25)
        logger.warning("meta_ads: rate-limit usage at %d %%: pausing %.1f s", usage, pause)
        self.crawler.stats.inc_value("retry/backoff_seconds", round(pause, 3))
        await asyncio.sleep(pause)
