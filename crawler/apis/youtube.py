"""YouTube Data API v3: ``search.list`` then ``videos.list``, and the quota.

- ``search.list`` (``part=snippet&type=video&regionCode=KZ&order=date&maxResults=50``, paged by
  ``pageToken`` until a page has no ``nextPageToken``) finds video ids; its titles and
  descriptions are HTML-escaped (``&quot;``, ``&#39;``) and cut short;
- ``videos.list`` (``part=snippet,contentDetails,statistics,status``, up to 50 ids) gives the
  full description (landing URLs, phones, Telegram handles), tags, duration and statistics (as
  strings).
- Errors: ``{"error": {"code", "message", "errors": [{"reason", "domain"}]}}``. ``quotaExceeded``
  / ``dailyLimitExceeded`` (403) mean the day's quota is spent: the run fails with that reason and
  the source is not called again before the quota resets, **at midnight Pacific Time**
  (America/Los_Angeles, as Google resets it; :func:`quota_reset_after`). ``rateLimitExceeded`` /
  ``userRateLimitExceeded`` and 5xx are transient; ``keyInvalid``/``forbidden`` fail the run;
  ``badRequest``/``invalidPageToken`` fail the run with Google's message.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from crawler.apis.errors import Action, ApiError, snippet

API = "youtube"
DEFAULT_BASE_URL = "https://www.googleapis.com"
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RETRY_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "backendError", "internalError"}
)
KEY_REASONS = frozenset(
    {"keyInvalid", "keyExpired", "forbidden", "accessNotConfigured", "ipRefererBlocked"}
)
PACIFIC = ZoneInfo("America/Los_Angeles")
MAX_RESULTS = 50
_URL_RE = re.compile(r"https?://[^\s<>\"'«»()]+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SearchPage:
    video_ids: list[str]
    snippets: dict[str, dict[str, Any]]  # video id → the search snippet (unescaped)
    next_page_token: str | None
    total_results: int | None


@dataclass(frozen=True, slots=True)
class Video:
    id: str
    title: str
    description: str
    channel_id: str | None
    channel_title: str | None
    published_at: datetime | None
    tags: tuple[str, ...]
    duration: str | None
    language: str | None
    views: int | None
    likes: int | None
    comments: int | None
    privacy: str | None

    @property
    def url(self) -> str:
        return f"https://www.youtube.com/watch?v={self.id}"

    def links(self) -> list[str]:
        return list(dict.fromkeys(m.rstrip(".,;:!?") for m in _URL_RE.findall(self.description)))


def search_url(
    query: str,
    *,
    key: str | None,
    page_token: str | None = None,
    base_url: str = DEFAULT_BASE_URL,
    language: str = "ru",
    max_results: int = MAX_RESULTS,
) -> str:
    params: dict[str, Any] = {
        "part": "snippet",
        "q": query,
        "type": "video",
        "regionCode": "KZ",
        "relevanceLanguage": language,
        "order": "date",
        "maxResults": max_results,
    }
    if page_token:
        params["pageToken"] = page_token
    if key:
        params["key"] = key
    return f"{base_url.rstrip('/')}/youtube/v3/search?{urlencode(params)}"


def videos_url(ids: Sequence[str], *, key: str | None, base_url: str = DEFAULT_BASE_URL) -> str:
    params: dict[str, Any] = {
        "part": "snippet,contentDetails,statistics,status",
        "id": ",".join(ids),
    }
    if key:
        params["key"] = key
    return f"{base_url.rstrip('/')}/youtube/v3/videos?{urlencode(params)}"


def quota_reset_after(now: datetime | None = None) -> datetime:
    """The next midnight in Pacific Time after ``now`` (UTC-aware), when Google resets quotas."""
    now = (now or datetime.now(UTC)).astimezone(PACIFIC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=PACIFIC) + timedelta(days=1)
    return midnight.astimezone(UTC)


def check_error(body: bytes, status: int, *, now: datetime | None = None) -> Any:
    """The decoded answer, or the :class:`ApiError` it carries."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        reasons = [e.get("reason") for e in error.get("errors") or () if isinstance(e, dict)]
        reason = next((r for r in reasons if r), None) or error.get("status") or "unknown"
        message = html.unescape(re.sub(r"<[^>]+>", "", str(error.get("message") or "")))
        code = error.get("code") if isinstance(error.get("code"), int) else status
        if reason in QUOTA_REASONS:
            until = quota_reset_after(now)
            raise ApiError(API, Action.SKIP_UNTIL, message, code=reason, status=code, until=until)
        if reason in RETRY_REASONS or (isinstance(code, int) and code >= 500) or code == 429:
            raise ApiError(API, Action.RETRY, message, code=reason, status=code)
        if reason in KEY_REASONS:
            raise ApiError(
                API,
                Action.FAIL,
                f"{message} — check SCAMRADAR_YOUTUBE_KEY",
                code=reason,
                status=code,
            )
        raise ApiError(API, Action.FAIL, message, code=reason, status=code)
    if status >= 500 or status == 429:
        raise ApiError(API, Action.RETRY, f"HTTP {status}: {snippet(body)}", status=status)
    if status >= 400:
        raise ApiError(API, Action.FAIL, f"HTTP {status}: {snippet(body)}", status=status)
    if not isinstance(data, dict):
        raise ApiError(API, Action.RETRY, f"not JSON: {snippet(body)}", status=status)
    return data


def _unescape(value: Any) -> str:
    return html.unescape(str(value or ""))


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_search(body: bytes, status: int = 200) -> SearchPage:
    data = check_error(body, status)
    ids: list[str] = []
    snippets: dict[str, dict[str, Any]] = {}
    for item in data.get("items") or ():
        if not isinstance(item, dict):
            continue
        vid = (item.get("id") or {}).get("videoId") if isinstance(item.get("id"), dict) else None
        if not isinstance(vid, str) or vid in snippets:
            continue
        snip = item.get("snippet") if isinstance(item.get("snippet"), dict) else {}
        ids.append(vid)
        snippets[vid] = {
            "title": _unescape(snip.get("title")),
            "description": _unescape(snip.get("description")),
            "channel_id": snip.get("channelId"),
            "channel_title": _unescape(snip.get("channelTitle")) or None,
            "published_at": snip.get("publishedAt"),
        }
    info = data.get("pageInfo") if isinstance(data.get("pageInfo"), dict) else {}
    token = data.get("nextPageToken")
    return SearchPage(
        ids,
        snippets,
        token if isinstance(token, str) and token else None,
        info.get("totalResults") if isinstance(info.get("totalResults"), int) else None,
    )


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def parse_videos(body: bytes, status: int = 200) -> list[Video]:
    data = check_error(body, status)
    out = []
    for item in data.get("items") or ():
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        snip = item.get("snippet") if isinstance(item.get("snippet"), dict) else {}
        stats = item.get("statistics") if isinstance(item.get("statistics"), dict) else {}
        details = item.get("contentDetails") if isinstance(item.get("contentDetails"), dict) else {}
        state = item.get("status") if isinstance(item.get("status"), dict) else {}
        language = snip.get("defaultAudioLanguage") or snip.get("defaultLanguage")
        out.append(
            Video(
                id=item["id"],
                title=_unescape(snip.get("title")),
                description=_unescape(snip.get("description")),
                channel_id=snip.get("channelId"),
                channel_title=_unescape(snip.get("channelTitle")) or None,
                published_at=_when(snip.get("publishedAt")),
                tags=tuple(str(t) for t in snip.get("tags") or () if t),
                duration=details.get("duration"),
                language=str(language).split("-")[0] if language else None,
                views=_int(stats.get("viewCount")),
                likes=_int(stats.get("likeCount")),
                comments=_int(stats.get("commentCount")),
                privacy=state.get("privacyStatus"),
            )
        )
    return out


def chunks(ids: Iterable[str], size: int = MAX_RESULTS) -> list[list[str]]:
    listed = list(dict.fromkeys(ids))
    return [listed[i : i + size] for i in range(0, len(listed), size)]
