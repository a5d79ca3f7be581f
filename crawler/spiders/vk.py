"""VK: ``newsfeed.search`` for brand and scheme terms, ``wall.get`` for watched communities.

Parameters (sources.yaml): ``queries`` (search terms), ``communities`` (screen names, ids,
``club123``/``public123`` or ``vk.com/…`` links), ``max_pages`` (pages per query or community,
default 5). At least one of ``queries``/``communities`` is needed. ``base_url`` defaults to
``https://api.vk.com`` (VK is moving to ``vk.ru`` hosts: set it when needed).
Token: ``SCAMRADAR_VK_TOKEN`` (a service token of a VK app is enough), never in sources.yaml.

Paging: ``newsfeed.search`` sends ``next_from`` back as ``start_from`` until a page has none;
``wall.get`` pages by ``offset`` until a short page, a page with posts already stored, or
``max_pages``. VK answers errors with HTTP 200: code 6 (too many requests) is retried after a
pause; code 5 (authorization) ends the run as ``failed`` with VK's message and a pointer to the
token (:mod:`crawler.apis.vk` has the whole table).

Each post is one item: ``external_id`` ``<owner_id>_<post_id>``, ``url``
``https://vk.com/wall<owner>_<id>``, ``advertiser`` the community (or person), ``text`` the
post, its reposted text and its link attachments (title, description), ``landing_url`` the first
link attachment, ``links`` every link; ``extra`` holds ``marked_as_ads`` (VK's own "advertising"
mark), ``post_type``, ``is_pinned``, ``views``, ``likes``, ``reposts``, ``comments``,
``copy_from``, ``query``/``community``.

Known limits: there is no VK ad library; promoted feed posts are not searchable, and
``newsfeed.search`` covers recent public posts only (about the last day by default).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from scrapy.http import Response

from crawler.apis import vk
from crawler.apis.errors import ApiError
from crawler.apis.spider import ApiSpider
from crawler.apis.textutil import find_urls, join_text
from crawler.items import AdItem


class VkSpider(ApiSpider):
    name = "vk"
    default_base_url = vk.DEFAULT_BASE_URL
    secret_attr = "vk_token"
    secret_env = "SCAMRADAR_VK_TOKEN"
    custom_settings: ClassVar[dict[str, Any]] = {
        "ROBOTSTXT_OBEY": False,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "DOWNLOAD_DELAY": vk.RATE_LIMIT_PAUSE,  # VK allows 3 requests/s per token
    }

    def __init__(self, source: Any = None, config: str | None = None, **kwargs: Any) -> None:
        super().__init__(source, config, **kwargs)
        self.max_pages = int(self.source.param("max_pages", 5))
        self.seen: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        queries = self.source.param("queries") or []
        communities = self.source.param("communities") or []
        if not queries and not communities:
            self.fail("a vk source needs 'queries' or 'communities'", stop=False)
            return
        if not self.require_token():
            return
        for query in queries:
            yield self._search(query, None, 1)
        for community in communities:
            yield self._wall(community, 0, 1)

    def _search(self, query: str, start_from: str | None, page: int) -> Any:
        url = vk.method_url(
            "newsfeed.search", vk.search_params(query, start_from), self.token, self.base_url
        )
        return self.api_request(url, self.parse_search, query=query, page=page)

    def _wall(self, community: str, offset: int, page: int) -> Any:
        url = vk.method_url(
            "wall.get", vk.wall_params(community, offset), self.token, self.base_url
        )
        return self.api_request(url, self.parse_wall, community=community, page=page, offset=offset)

    async def parse_search(self, response: Response) -> AsyncIterator[Any]:
        try:
            page = vk.parse_response(response.body, response.status)
        except ApiError as exc:
            async for request in self.api_error(exc, response):
                yield request
            return
        query, number = response.meta["query"], response.meta["page"]
        self.crawler.stats.inc_value("vk/pages/search")
        for item in self._items(response, page.posts, query=query):
            yield item
        if page.next_from and page.raw_items and number < self.max_pages:
            yield self._search(query, page.next_from, number + 1)

    async def parse_wall(self, response: Response) -> AsyncIterator[Any]:
        try:
            page = vk.parse_response(response.body, response.status)
        except ApiError as exc:
            async for request in self.api_error(exc, response):
                yield request
            return
        community, number = response.meta["community"], response.meta["page"]
        offset = response.meta["offset"]
        self.crawler.stats.inc_value("vk/pages/wall")
        known = self.already_stored(p.external_id for p in page.posts if not p.is_pinned)
        for item in self._items(response, page.posts, community=community):
            yield item
        more = page.raw_items >= vk.WALL_COUNT and (page.count or 0) > offset + page.raw_items
        if more and not known and number < self.max_pages:
            yield self._wall(community, offset + page.raw_items, number + 1)

    def _items(self, response: Response, posts: list[vk.VkPost], **origin: str) -> list[AdItem]:
        items = []
        for post in posts:
            if post.external_id in self.seen:
                continue
            self.seen.add(post.external_id)
            link_texts = [f"{link['title']}\n{link['description']}".strip() for link in post.links]
            text = join_text(post.text, post.copy_text, *link_texts)
            if not text:
                self.crawler.stats.inc_value("vk/empty_posts")
                continue
            link_urls = [link["url"] for link in post.links]
            links = list(dict.fromkeys(link_urls + find_urls(post.text, post.copy_text)))
            if post.marked_as_ads:
                self.crawler.stats.inc_value("vk/marked_as_ads")
            items.append(
                self.item(
                    response,
                    capture_kind="api",
                    text=text,
                    external_id=post.external_id,
                    url=post.url,
                    landing_url=link_urls[0] if link_urls else None,
                    advertiser=post.author or post.author_screen_name or origin.get("community"),
                    published_at=post.date,
                    links=links,
                    extra={
                        "marked_as_ads": post.marked_as_ads,
                        "post_type": post.post_type,
                        "is_pinned": post.is_pinned,
                        "views": post.views,
                        "likes": post.likes,
                        "reposts": post.reposts,
                        "comments": post.comments,
                        "owner_id": post.owner_id,
                        "author_screen_name": post.author_screen_name,
                        "copy_from": list(post.copy_from),
                        "link_attachments": list(post.links),
                        **origin,
                    },
                )
            )
        return items
