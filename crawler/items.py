"""The one item type every spider yields.

A spider fills what its source gives; the pipelines (``crawler/pipelines``) add the rest:
normalise → classify (the rule engine) → evidence (WARC) → store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Capture:
    """The raw response that produced an item, kept as evidence (one WARC record per capture)."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime
    kind: str = "page"  # page | landing | landing_bot | api

    def __reduce__(self) -> tuple[Any, ...]:
        # Items cross to the pipeline worker pickled, a batch at a time: field values in order
        # pickle in about half the time of the default form for slotted classes (a state dict
        # per object) and leave no garbage for the collector.
        values = (self.url, self.status, self.headers, self.body, self.fetched_at, self.kind)
        return (Capture, values)


@dataclass(slots=True)
class AdItem:
    source: str  # the configured source name (sources.yaml)
    spider: str  # the source kind: telegram, landing, feeds, ctlog, vk, youtube, meta_ads
    text: str
    title: str | None = None
    external_id: str | None = None  # the source's own id; None = dedupe by content
    url: str | None = None  # where the ad or post itself lives
    landing_url: str | None = None  # where it sends people
    advertiser: str | None = None
    language: str | None = None
    published_at: datetime | None = None  # timezone-aware
    # URLs found inside the content (links, buttons, previews): untrusted, queued for `landing`
    links: list[str] = field(default_factory=list)
    # source-specific facts: sponsored, forwarded_from, buttons, views, marked_as_ads, forms,
    # pixels, cloaked, … (JSON-serialisable)
    extra: dict[str, Any] = field(default_factory=dict)
    captures: list[Capture] = field(default_factory=list)
    # Filled by the pipelines, never by spiders: the rule engine's Verdict (classify), the
    # (kind, value) indicators found in the text (classify), the WARC records written for the
    # captures (evidence, crawler.evidence.EvidenceRef).
    verdict: Any = None
    indicators: list[tuple[str, str]] = field(default_factory=list)
    evidence: list[Any] = field(default_factory=list)

    def __reduce__(self) -> tuple[Any, ...]:
        # as Capture.__reduce__: every field, in declaration order
        return (AdItem, tuple(getattr(self, name) for name in _AD_FIELDS))


_AD_FIELDS = tuple(f.name for f in fields(AdItem))
