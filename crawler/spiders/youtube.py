"""YouTube Data API v3: ``search.list`` for brand and deepfake terms in region KZ, then
``videos.list`` for the full descriptions.

Parameters (sources.yaml): ``queries`` (required), ``max_pages`` (``search.list`` pages of 50
per query, default 2: a search costs a large share of the daily quota). ``base_url`` defaults to
``https://www.googleapis.com``. Key: ``SCAMRADAR_YOUTUBE_KEY``, never in sources.yaml.

Requests: ``search?part=snippet&type=video&regionCode=KZ&relevanceLanguage=ru&order=date``,
paged by ``pageToken`` until a page has no ``nextPageToken``; then ``videos?part=snippet,
contentDetails,statistics,status&id=…`` for the ids of each page. Titles come HTML-escaped and
are unescaped.

**Quota**: a 403 ``quotaExceeded`` ends the run as ``failed`` with that reason, and records in
the run's stats (``youtube/quota_until``) the next **midnight Pacific Time**, when Google resets
the quota. Until then every run of the source makes no call and ends ``failed`` with "quota
exhausted until …" (so the alarm still sees the source is blind).

Each video is one item: ``external_id`` the video id, ``url`` the watch page, ``title``,
``text`` the full description (and tags), ``advertiser`` the channel, ``landing_url`` the first
URL of the description, ``links`` all of them; ``extra`` holds ``channel_id``, ``views``,
``likes``, ``comments`` (integers), ``duration``, ``privacy``, ``tags``, ``query``.

Known limits: YouTube ads are not in this API (deepfake ad videos are usually unlisted and never
appear in search); results are capped at a few hundred per query.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from scrapy.http import Response

from crawler.apis import youtube
from crawler.apis.errors import ApiError
from crawler.apis.spider import ApiSpider
from crawler.apis.textutil import find_urls, join_text

QUOTA_STAT = "youtube/quota_until"


class YoutubeSpider(ApiSpider):
    name = "youtube"
    default_base_url = youtube.DEFAULT_BASE_URL
    secret_attr = "youtube_key"
    secret_env = "SCAMRADAR_YOUTUBE_KEY"

    def __init__(self, source: Any = None, config: str | None = None, **kwargs: Any) -> None:
        super().__init__(source, config, **kwargs)
        self.max_pages = int(self.source.param("max_pages", 2))
        self.seen: set[str] = set()

    def quota_exhausted_until(self) -> datetime | None:
        """When an earlier run of this source recorded the quota as spent, until that moment."""
        from sqlalchemy import select

        from crawler.context import crawl_context
        from storage.models import CrawlRun

        ctx = crawl_context(self.crawler)
        with ctx.sessions() as session:
            rows = session.scalars(
                select(CrawlRun.stats)
                .where(CrawlRun.source_id == ctx.source_id, CrawlRun.id != ctx.run_id)
                .order_by(CrawlRun.id.desc())
                .limit(5)
            )
            for stats in rows:
                value = (stats or {}).get(QUOTA_STAT)
                if not value:
                    continue
                until = datetime.fromisoformat(str(value))
                if until > datetime.now(UTC):
                    return until
                return None
        return None

    async def start(self) -> AsyncIterator[Any]:
        if not self.require_token():
            return
        until = self.quota_exhausted_until()
        if until is not None:
            self.crawler.stats.set_value(QUOTA_STAT, until.isoformat())
            self.fail(
                f"youtube quota exhausted until {until.isoformat()} (midnight Pacific "
                "Time): no call made",
                stop=False,
            )
            return
        for query in self.source.param("queries") or []:
            yield self._search(query, None, 1)

    def _search(self, query: str, token: str | None, page: int) -> Any:
        url = youtube.search_url(query, key=self.token, page_token=token, base_url=self.base_url)
        return self.api_request(url, self.parse_search, query=query, page=page)

    async def parse_search(self, response: Response) -> AsyncIterator[Any]:
        try:
            page = youtube.parse_search(response.body, response.status)
        except ApiError as exc:
            async for request in self.api_error(exc, response):
                yield request
            return
        query, number = response.meta["query"], response.meta["page"]
        self.crawler.stats.inc_value("youtube/pages/search")
        fresh = [v for v in page.video_ids if v not in self.seen]
        self.seen.update(fresh)
        for ids in youtube.chunks(fresh):
            url = youtube.videos_url(ids, key=self.token, base_url=self.base_url)
            yield self.api_request(
                url,
                self.parse_videos,
                query=query,
                ids=ids,
                snippets={i: page.snippets[i] for i in ids},
            )
        if page.next_page_token and page.video_ids and number < self.max_pages:
            yield self._search(query, page.next_page_token, number + 1)

    async def parse_videos(self, response: Response) -> AsyncIterator[Any]:
        try:
            videos = youtube.parse_videos(response.body, response.status)
        except ApiError as exc:
            async for request in self.api_error(exc, response):
                yield request
            return
        stats = self.crawler.stats
        missing = set(response.meta["ids"]) - {v.id for v in videos}
        stats.inc_value("youtube/videos_missing", len(missing))  # deleted or private since
        for video in videos:
            links = find_urls(video.description)
            stats.inc_value("youtube/videos")
            yield self.item(
                response,
                capture_kind="api",
                title=video.title,
                text=join_text(video.description, " ".join(f"#{t}" for t in video.tags)),
                external_id=video.id,
                url=video.url,
                landing_url=links[0] if links else None,
                advertiser=video.channel_title,
                language=video.language,
                published_at=video.published_at,
                links=links,
                extra={
                    "channel_id": video.channel_id,
                    "views": video.views,
                    "likes": video.likes,
                    "comments": video.comments,
                    "duration": video.duration,
                    "privacy": video.privacy,
                    "tags": list(video.tags),
                    "query": response.meta["query"],
                },
            )
