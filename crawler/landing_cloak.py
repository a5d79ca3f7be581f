"""Cloaking: does the page a plain crawler sees differ from the one a targeted visitor sees?

Cloakers (traffic-distribution systems such as Keitaro or Binom) show the money page to a mobile
visitor who arrives with the ad's click ids and a harmless "white page" to moderators and bots.
The ``landing`` spider fetches each page twice and :func:`compare_pages` decides. The URL helpers
say which query parameters identify a click rather than a page: the bot fetch drops them, and
the item's ``external_id`` (:func:`normalise_url`) leaves them out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from rapidfuzz import fuzz, utils

if TYPE_CHECKING:
    from crawler.landing_extract import PageAnalysis

# -- tracking parameters -------------------------------------------------------------------------
#: Query parameters that identify a click, an affiliate or a campaign, not the page. Cloakers
#: route on them, so the bot fetch drops them and the item's ``external_id`` leaves them out.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gbraid",
        "wbraid",
        "dclid",
        "msclkid",
        "ttclid",
        "yclid",
        "ysclid",
        "twclid",
        "igshid",
        "li_fat_id",
        "mc_cid",
        "mc_eid",
        "_openstat",
        "click_id",
        "clickid",
        "subid",
        "sub_id",
        "aff_id",
        "aff_sub",
        "affid",
        "pixel",
        "campaign_id",
        "adset_id",
        "ad_id",
        "site_source_name",
    }
)
TRACKING_PATTERNS = (re.compile(r"^utm_\w*$"), re.compile(r"^sub\d+$"), re.compile(r"^aff_sub\d*$"))


def is_tracking_param(name: str) -> bool:
    key = name.lower()
    return key in TRACKING_PARAMS or any(p.match(key) for p in TRACKING_PATTERNS)


def strip_tracking(url: str) -> str:
    """``url`` without click ids and campaign parameters (other parameters kept in order)."""
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_param(k)
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def normalise_url(url: str) -> str:
    """The page's identity: lower-case scheme and host, no default port, no fragment, no
    tracking parameters, the remaining parameters sorted. Used as the landing item's external_id."""
    parts = urlsplit(strip_tracking(url.strip()))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    port = parts.port
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


# -- cloaking --------------------------------------------------------------------------------------
#: Visible texts scoring below this (rapidfuzz ``token_sort_ratio``, 0–100, after
#: ``utils.default_process``) are different pages. A prelander against its white page scores
#: ~35 (the shared fixtures); the same page fetched twice (timers, counters, rotating
#: comments) scores > 90.
CLOAK_TEXT_SIMILARITY_MIN = 70.0
#: Titles scoring below this (``fuzz.ratio``) differ; above it they are the same title with a
#: counter or a date changed.
CLOAK_TITLE_SIMILARITY_MIN = 80.0
#: Texts are compared on their first characters only: the scorer is quadratic in length.
CLOAK_COMPARE_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class CloakVerdict:
    cloaked: bool
    reasons: tuple[str, ...]
    text_similarity: float  # 0 means below CLOAK_TEXT_SIMILARITY_MIN (the score_cutoff)
    title_similarity: float  # 0 means below CLOAK_TITLE_SIMILARITY_MIN

    def as_extra(self) -> dict[str, Any]:
        return {
            "reasons": list(self.reasons),
            "text_similarity": round(self.text_similarity, 1),
            "title_similarity": round(self.title_similarity, 1),
            "text_similarity_min": CLOAK_TEXT_SIMILARITY_MIN,
            "title_similarity_min": CLOAK_TITLE_SIMILARITY_MIN,
        }


def compare_pages(
    mobile: PageAnalysis,
    bot: PageAnalysis,
    *,
    mobile_status: int = 200,
    bot_status: int = 200,
    mobile_final_url: str | None = None,
    bot_final_url: str | None = None,
) -> CloakVerdict:
    """Cloaked when the mobile and bot fetches differ materially: visible text, a lead form on one
    side only, the title, the HTTP status, or where the redirects ended (another host)."""
    reasons: list[str] = []
    text_score = fuzz.token_sort_ratio(
        mobile.text[:CLOAK_COMPARE_CHARS],
        bot.text[:CLOAK_COMPARE_CHARS],
        processor=utils.default_process,
        score_cutoff=CLOAK_TEXT_SIMILARITY_MIN,
    )
    if not (mobile.text or bot.text):
        text_score = 100.0
    if text_score < CLOAK_TEXT_SIMILARITY_MIN:
        reasons.append(f"visible text differs (similarity below {CLOAK_TEXT_SIMILARITY_MIN:g})")
    if bool(mobile.forms) != bool(bot.forms):
        reasons.append(
            "form on the mobile page only" if mobile.forms else "form on the bot page only"
        )
    title_score = fuzz.ratio(
        mobile.title or "",
        bot.title or "",
        processor=utils.default_process,
        score_cutoff=CLOAK_TITLE_SIMILARITY_MIN,
    )
    if not (mobile.title or bot.title):
        title_score = 100.0
    if title_score < CLOAK_TITLE_SIMILARITY_MIN:
        reasons.append(f"title differs: {mobile.title!r} vs {bot.title!r}")
    if mobile_status != bot_status:
        reasons.append(f"status differs: {mobile_status} vs {bot_status}")
    if mobile_final_url and bot_final_url:
        m_host, b_host = urlsplit(mobile_final_url).hostname, urlsplit(bot_final_url).hostname
        if m_host != b_host:
            reasons.append(f"redirects end on another host: {m_host} vs {b_host}")
    return CloakVerdict(bool(reasons), tuple(reasons), text_score, title_score)
