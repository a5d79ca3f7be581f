"""Meta Ad Library API (``GET /<version>/ads_archive``): requests, answers, errors, the token.

**What it returns from Kazakhstan**: outside the EU the API returns only ads about social
issues, elections or politics. A commercial scam ad that ran only in KZ is invisible to it. What
is left is the overlap: campaigns whose creatives also ran in the EU. The spider therefore
queries EU countries with large Russian-speaking audiences (:data:`DEFAULT_COUNTRIES`) with
ru/kk/Latin search terms (the API does not translate).

Request: ``search_terms`` (≤ 100 characters), ``ad_reached_countries`` (a JSON array),
``ad_type=ALL`` (always explicit: older versions defaulted to political ads),
``ad_active_status=ALL``, ``fields`` (listed explicitly), ``limit``, ``access_token``.
Paging: follow ``paging.next`` until a page has an empty ``data`` or no ``next``.

**The token**: ``paging.next`` and every ``ad_snapshot_url`` embed the caller's
``access_token``. :func:`parse_archive` strips it: the next URL is kept without it (the spider
adds the token back when it sends the request) and the snapshot link is rebuilt as
``https://www.facebook.com/ads/library/?id=<id>``.

Errors (``{"error": {"message", "type", "code", "error_subcode", "is_transient"}}``, HTTP 400):
190 → the token is invalid or expired (subcode 463): fail the run, clearly; 4/17/32/341/613/80004
→ rate limited: back off and retry; 1/2 or ``is_transient`` → retry; 100/1009 → a bad
parameter: fail with Meta's message; 10/200–299 → permissions: fail.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from crawler.apis.errors import Action, ApiError, snippet
from crawler.redact import strip_url_secrets

API = "meta_ads"
DEFAULT_BASE_URL = "https://graph.facebook.com"
VERSION = "v24.0"
# EU countries with large Russian-speaking audiences, where KZ-targeted scam networks reuse
# their creatives: Latvia, Lithuania, Estonia (Russian-speaking minorities), Germany (the largest
# Russian-speaking diaspora in the EU, incl. many from Kazakhstan), Poland, Cyprus.
DEFAULT_COUNTRIES = ("LV", "LT", "EE", "DE", "PL", "CY")
FIELDS = (
    "id",
    "ad_creation_time",
    "ad_creative_bodies",
    "ad_creative_link_captions",
    "ad_creative_link_descriptions",
    "ad_creative_link_titles",
    "ad_delivery_start_time",
    "ad_delivery_stop_time",
    "ad_snapshot_url",
    "eu_total_reach",
    "languages",
    "page_id",
    "page_name",
    "publisher_platforms",
    "target_ages",
    "target_gender",
    "target_locations",
    "beneficiary_payers",
)
PAGE_LIMIT = 100
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613, 80004})
TRANSIENT_CODES = frozenset({1, 2})
RATE_LIMIT_PAUSE = 60.0  # seconds; the community reports ~200 calls/hour per user


@dataclass(frozen=True, slots=True)
class ArchivedAd:
    id: str
    bodies: tuple[str, ...]
    titles: tuple[str, ...]
    descriptions: tuple[str, ...]
    captions: tuple[str, ...]  # display domains of the link (no landing URL in the API)
    page_id: str | None
    page_name: str | None
    created: datetime | None
    delivery_start: datetime | None
    delivery_stop: datetime | None
    languages: tuple[str, ...]
    platforms: tuple[str, ...]
    eu_total_reach: int | None
    target_locations: tuple[str, ...]
    payers: tuple[str, ...]

    @property
    def library_url(self) -> str:
        """The public Ad Library page of the ad (no token needed)."""
        return f"https://www.facebook.com/ads/library/?id={self.id}"

    @property
    def templated(self) -> bool:
        """A dynamic creative whose text is a ``{{product.name}}`` template."""
        return any("{{" in b and "}}" in b for b in self.bodies + self.titles)


@dataclass(frozen=True, slots=True)
class ArchivePage:
    ads: list[ArchivedAd]
    next_url: str | None  # paging.next without the access token
    raw_items: int


def archive_url(
    query: str,
    countries: Sequence[str] = DEFAULT_COUNTRIES,
    *,
    token: str | None,
    base_url: str = DEFAULT_BASE_URL,
    version: str = VERSION,
    limit: int = PAGE_LIMIT,
) -> str:
    params: dict[str, Any] = {
        "search_terms": query[:100],
        "ad_reached_countries": json.dumps([c.upper() for c in countries], separators=(",", ":")),
        "ad_type": "ALL",
        "ad_active_status": "ALL",
        "fields": ",".join(FIELDS),
        "limit": limit,
    }
    url = f"{base_url.rstrip('/')}/{version}/ads_archive?{urlencode(params)}"
    return with_token(url, token)


def with_token(url: str, token: str | None) -> str:
    """``url`` with ``access_token`` set (replacing any there)."""
    clean = strip_url_secrets(url, ("access_token",))
    if not token:
        return clean
    return f"{clean}{'&' if urlsplit(clean).query else '?'}{urlencode({'access_token': token})}"


def rebase(url: str, base_url: str | None) -> str:
    """``paging.next`` points at graph.facebook.com: send it to the configured ``base_url``
    (mirror, proxy, test server) instead, keeping its path and query."""
    if not base_url:
        return url
    target, split = urlsplit(base_url), urlsplit(url)
    prefix = target.path.rstrip("/")
    path = split.path if split.path.startswith(prefix + "/") else prefix + split.path
    return urlunsplit((target.scheme, target.netloc, path, split.query, ""))


def check_error(data: Any, status: int, body: bytes) -> None:
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        message = str(error.get("message") or "no message")
        subcode = error.get("error_subcode")
        if code == 190:
            hint = " (expired)" if subcode == 463 else ""
            raise ApiError(
                API,
                Action.FAIL,
                f"access token rejected{hint}: {message} — renew SCAMRADAR_META_TOKEN",
                code=code,
                status=status,
            )
        if code in RATE_LIMIT_CODES:
            raise ApiError(
                API, Action.RETRY, message, code=code, status=status, retry_after=RATE_LIMIT_PAUSE
            )
        if code in TRANSIENT_CODES or error.get("is_transient") is True:
            raise ApiError(API, Action.RETRY, message, code=code, status=status)
        raise ApiError(API, Action.FAIL, message, code=code, status=status)
    if status >= 500 or status == 429:
        raise ApiError(API, Action.RETRY, f"HTTP {status}: {snippet(body)}", status=status)
    if status >= 400:
        raise ApiError(API, Action.FAIL, f"HTTP {status}: {snippet(body)}", status=status)
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ApiError(API, Action.RETRY, f"unexpected answer: {snippet(body)}", status=status)


def _strs(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    if not isinstance(value, list):
        return ()
    return tuple(str(v) for v in value if isinstance(v, str | int | float) and str(v).strip())


def parse_date(value: Any) -> datetime | None:
    """``2025-10-12`` (current versions) or ``2020-10-29T18:00:56+0000`` (old ones), as UTC."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_archive(body: bytes, status: int = 200) -> ArchivePage:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        data = None
    check_error(data, status, body)
    assert isinstance(data, dict)
    ads = []
    for item in data["data"]:
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            continue
        reach = item.get("eu_total_reach")
        ads.append(
            ArchivedAd(
                id=str(item["id"]),
                bodies=_strs(item.get("ad_creative_bodies") or item.get("ad_creative_body")),
                titles=_strs(item.get("ad_creative_link_titles")),
                descriptions=_strs(item.get("ad_creative_link_descriptions")),
                captions=_strs(item.get("ad_creative_link_captions")),
                page_id=str(item["page_id"]) if item.get("page_id") else None,
                page_name=str(item["page_name"]) if item.get("page_name") else None,
                created=parse_date(item.get("ad_creation_time")),
                delivery_start=parse_date(item.get("ad_delivery_start_time")),
                delivery_stop=parse_date(item.get("ad_delivery_stop_time")),
                languages=_strs(item.get("languages")),
                platforms=_strs(item.get("publisher_platforms")),
                eu_total_reach=reach
                if isinstance(reach, int) and not isinstance(reach, bool)
                else None,
                target_locations=tuple(
                    str(loc.get("name"))
                    for loc in item.get("target_locations") or ()
                    if isinstance(loc, dict) and loc.get("name") and not loc.get("excluded")
                ),
                payers=tuple(
                    str(p.get("payer"))
                    for p in item.get("beneficiary_payers") or ()
                    if isinstance(p, dict) and p.get("payer")
                ),
            )
        )
    paging = data.get("paging") if isinstance(data.get("paging"), dict) else {}
    nxt = paging.get("next")
    next_url = strip_url_secrets(nxt) if isinstance(nxt, str) and nxt and data["data"] else None
    return ArchivePage(ads, next_url, len(data["data"]))


USAGE_HEADERS = ("x-app-usage", "x-ad-account-usage", "x-business-use-case-usage")
USAGE_SLOW_DOWN = 75  # percent: above this, pause before the next call


def usage_percent(headers: dict[str, str]) -> int | None:
    """The highest usage figure (percent of the app's or business's rate limit) that Graph API
    reports in its ``X-App-Usage`` / ``X-Business-Use-Case-Usage`` headers, or None."""
    best: int | None = None

    def walk(value: Any) -> None:
        nonlocal best
        if isinstance(value, dict):
            for key, inner in value.items():
                if key in ("call_count", "total_time", "total_cputime", "acc_id_util_pct") and (
                    isinstance(inner, int | float) and not isinstance(inner, bool)
                ):
                    best = max(best or 0, int(inner))
                else:
                    walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    for name, raw in headers.items():
        if name.lower() not in USAGE_HEADERS:
            continue
        try:
            walk(json.loads(raw))
        except ValueError:
            continue
    return best
