"""VK API: ``newsfeed.search`` and ``wall.get`` requests and their answers.

Every call carries ``v=5.199`` and ``access_token`` (``SCAMRADAR_VK_TOKEN``; a service token of
an app is enough for these two methods). VK answers errors with **HTTP 200** and
``{"error": {"error_code", "error_msg", "request_params"}}``:

| code | meaning | action |
|---|---|---|
| 6, 9, 10, 1 | too many requests / flood control / internal / unknown | retry after a pause |
| 5 | authorization failed (bad or expired token) | fail the run, clearly |
| 29 | the method's daily quota is spent | fail the run (try again tomorrow) |
| 14 | captcha needed | fail the run |
| 15, 18, 19, 30, 7 | access denied / deleted / private | skip this request, go on |
| 100, 113, … | bad parameter | fail the run with VK's message |

Paging: ``newsfeed.search`` returns ``next_from``, sent back as ``start_from`` and absent on the
last page; ``wall.get`` pages by ``offset`` against ``count``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from crawler.apis.errors import Action, ApiError, snippet

API = "vk"
DEFAULT_BASE_URL = "https://api.vk.com"
VERSION = "5.199"
SEARCH_COUNT = 200  # newsfeed.search maximum
WALL_COUNT = 100  # wall.get maximum
RETRY_CODES = frozenset({1, 6, 9, 10})
SKIP_CODES = frozenset({7, 15, 18, 19, 30})
RATE_LIMIT_PAUSE = 0.4  # seconds: VK allows 3 requests/s per token


@dataclass(frozen=True, slots=True)
class VkPost:
    owner_id: int
    id: int
    from_id: int | None
    date: datetime | None
    text: str
    marked_as_ads: bool
    post_type: str | None
    is_pinned: bool
    links: tuple[dict[str, str], ...]  # link attachments: url, title, caption, description
    views: int | None
    likes: int | None
    reposts: int | None
    comments: int | None
    copy_text: str  # text of the reposted post(s), if any
    copy_from: tuple[int, ...]  # owner ids of the reposted posts
    author: str | None  # community name or person's name
    author_screen_name: str | None

    @property
    def external_id(self) -> str:
        return f"{self.owner_id}_{self.id}"

    @property
    def url(self) -> str:
        return f"https://vk.com/wall{self.owner_id}_{self.id}"


@dataclass(frozen=True, slots=True)
class VkPage:
    posts: list[VkPost]
    next_from: str | None = None  # newsfeed.search
    count: int | None = None  # wall.get: total posts on the wall
    total_count: int | None = None  # newsfeed.search: VK's estimate
    raw_items: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def method_url(
    method: str, params: Mapping[str, Any], token: str | None, base_url: str = DEFAULT_BASE_URL
) -> str:
    """``<base>/method/<method>?…&v=5.199&access_token=…`` (the token is added last)."""
    query = {k: v for k, v in params.items() if v is not None}
    query["v"] = VERSION
    if token:
        query["access_token"] = token
    return f"{base_url.rstrip('/')}/method/{method}?{urlencode(query)}"


def search_params(
    query: str, start_from: str | None = None, count: int = SEARCH_COUNT
) -> dict[str, Any]:
    return {"q": query, "extended": 1, "count": count, "start_from": start_from}


def wall_params(community: str, offset: int = 0, count: int = WALL_COUNT) -> dict[str, Any]:
    """``wall.get`` of a community by screen name (``domain``) or numeric id (``owner_id``,
    negative for communities: ``-210000001``, ``club210000001``, ``public210000001``)."""
    name = community.strip().lstrip("@")
    for prefix in ("https://vk.com/", "http://vk.com/", "vk.com/", "https://vk.ru/", "vk.ru/"):
        if name.lower().startswith(prefix):
            name = name[len(prefix) :]
    name = name.strip("/")
    params: dict[str, Any] = {"offset": offset, "count": count, "extended": 1}
    for prefix in ("club", "public"):
        if name.startswith(prefix) and name[len(prefix) :].isdigit():
            name = "-" + name[len(prefix) :]
    if name.lstrip("-").isdigit():
        params["owner_id"] = name if name.startswith("-") else f"-{name}"
    else:
        params["domain"] = name
    return params


def check_error(data: Any, status: int = 200, body: bytes = b"") -> None:
    """Raise the :class:`ApiError` that ``data`` (a decoded answer) carries, if any."""
    if status >= 500 or status == 429:
        raise ApiError(API, Action.RETRY, f"HTTP {status}: {snippet(body)}", status=status)
    if status >= 400:
        raise ApiError(API, Action.FAIL, f"HTTP {status}: {snippet(body)}", status=status)
    if not isinstance(data, dict):
        raise ApiError(API, Action.RETRY, f"unexpected answer: {snippet(body)}", status=status)
    error = data.get("error")
    if error is None:
        if not isinstance(data.get("response"), dict):
            raise ApiError(API, Action.RETRY, f"no 'response' in the answer: {snippet(body)}")
        return
    if not isinstance(error, dict):
        raise ApiError(API, Action.FAIL, f"unreadable error: {snippet(body)}")
    code = error.get("error_code")
    message = str(error.get("error_msg") or "no message")
    if code in RETRY_CODES:
        raise ApiError(API, Action.RETRY, message, code=code, retry_after=RATE_LIMIT_PAUSE)
    if code == 5:
        raise ApiError(
            API,
            Action.FAIL,
            f"{message} — check SCAMRADAR_VK_TOKEN (a valid service or user token)",
            code=code,
        )
    if code in SKIP_CODES:
        raise ApiError(API, Action.SKIP, message, code=code)
    raise ApiError(API, Action.FAIL, message, code=code)


def parse_response(body: bytes, status: int = 200) -> VkPage:
    """One ``newsfeed.search`` or ``wall.get`` answer, or the :class:`ApiError` it carries."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        data = None
        if status < 400:
            raise ApiError(API, Action.RETRY, f"not JSON: {snippet(body)}", status=status) from None
    check_error(data, status, body)
    response = data["response"]  # type: ignore[index]
    names: dict[int, tuple[str, str | None]] = {}
    for group in response.get("groups") or ():
        if isinstance(group, dict) and isinstance(group.get("id"), int):
            names[-group["id"]] = (str(group.get("name") or ""), group.get("screen_name"))
    for person in response.get("profiles") or ():
        if isinstance(person, dict) and isinstance(person.get("id"), int):
            full = f"{person.get('first_name') or ''} {person.get('last_name') or ''}".strip()
            names[person["id"]] = (full, person.get("screen_name"))
    items = response.get("items") or []
    posts = [p for p in (_post(item, names) for item in items if isinstance(item, dict)) if p]
    next_from = response.get("next_from")
    return VkPage(
        posts=posts,
        next_from=str(next_from) if next_from else None,
        count=response.get("count") if isinstance(response.get("count"), int) else None,
        total_count=response.get("total_count")
        if isinstance(response.get("total_count"), int)
        else None,
        raw_items=len(items),
    )


def _count(value: Any) -> int | None:
    if isinstance(value, dict):
        value = value.get("count")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _links(post: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for att in post.get("attachments") or ():
        link = att.get("link") if isinstance(att, dict) and att.get("type") == "link" else None
        if isinstance(link, dict) and link.get("url"):
            out.append(
                {k: str(link.get(k) or "") for k in ("url", "title", "caption", "description")}
            )
    return out


def _post(item: dict[str, Any], names: Mapping[int, tuple[str, str | None]]) -> VkPost | None:
    owner, pid = item.get("owner_id"), item.get("id")
    if not isinstance(owner, int) or not isinstance(pid, int):
        return None
    copies = [c for c in item.get("copy_history") or () if isinstance(c, dict)]
    links = _links(item) + [link for copy in copies for link in _links(copy)]
    date = item.get("date")
    author, screen = names.get(owner, (None, None))
    return VkPost(
        owner_id=owner,
        id=pid,
        from_id=item.get("from_id") if isinstance(item.get("from_id"), int) else None,
        date=datetime.fromtimestamp(date, UTC) if isinstance(date, int | float) else None,
        text=str(item.get("text") or ""),
        marked_as_ads=bool(item.get("marked_as_ads")),
        post_type=item.get("post_type"),
        is_pinned=bool(item.get("is_pinned")),
        links=tuple(links),
        views=_count(item.get("views")),
        likes=_count(item.get("likes")),
        reposts=_count(item.get("reposts")),
        comments=_count(item.get("comments")),
        copy_text="\n\n".join(str(c.get("text") or "") for c in copies if c.get("text")),
        copy_from=tuple(c["owner_id"] for c in copies if isinstance(c.get("owner_id"), int)),
        author=author or None,
        author_screen_name=screen,
    )
