"""Classify: run the rule engine on each item and find its indicators.

A stage of the batch pipeline (:mod:`crawler.pipelines.batch`), which runs it in the crawl's
worker process (or inline). Counters: ``rules/labels/<label>``, ``rules/hits/<rule_id>`` for
every rule that fired, ``indicators/found``, ``rules/errors`` (an item the engine fails on is
reported with the reason and stored unclassified, not lost).

Indicators come from the text (:func:`crawler.rules.indicators.extract_indicators`) and, for
landing pages, from what the page analysis found (``extra``: phones, messenger handles, tracking
pixel ids as ``pixel`` indicators ``<vendor>:<id>``), so that ads sharing a pixel or a WhatsApp
number are linked into one campaign.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from crawler.items import AdItem


def page_indicators(extra: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Indicators a landing-page analysis put in ``extra`` (phones, messengers, pixels)."""
    found = [("phone", p) for p in extra.get("phones") or () if isinstance(p, str)]
    for m in extra.get("messengers") or ():
        if isinstance(m, Mapping) and m.get("kind") and (m.get("handle") or m.get("url")):
            found.append((str(m["kind"]), str(m.get("handle") or m.get("url"))))
    pixels = extra.get("pixels") or {}
    if isinstance(pixels, Mapping):
        for vendor, ids in pixels.items():
            found.extend(("pixel", f"{vendor}:{i}") for i in ids or () if i)
    return found


class Classifier:
    """The rule engine and the indicator extractor (loaded once per process)."""

    def __init__(self, rules_dir: str | None = None):
        from crawler.rules import load_engine
        from crawler.rules.indicators import extract_indicators

        self.engine = load_engine(rules_dir)
        self.extract: Callable[[str], list[Any]] = extract_indicators

    @property
    def ruleset_version(self) -> str:
        return str(self.engine.ruleset_version)

    def __call__(self, ad: Mapping[str, Any], blob: str) -> tuple[Any, list[tuple[str, str]]]:
        verdict = self.engine.classify(ad)
        return verdict, [(i.kind, i.value) for i in self.extract(blob)]

    def classify(self, item: AdItem, counts: Counter[str], errors: list[str]) -> AdItem:
        """Set ``item.verdict`` and ``item.indicators``; count what happened."""
        ad = {
            "title": item.title or "",
            "text": item.text,
            "url": item.landing_url or item.url or "",
            "advertiser": item.advertiser or "",
            "source": item.spider,
        }
        blob = "\n".join(p for p in (item.title, item.text, item.landing_url, *item.links) if p)
        try:
            verdict, found = self(ad, blob)
        except Exception as exc:  # boundary: the ad is stored unclassified rather than lost
            counts["rules/errors"] += 1
            errors.append(
                f"the rule engine failed on {item.url or item.external_id}: "
                f"{type(exc).__name__}: {exc}"
            )
            return item
        item.verdict = verdict
        counts[f"rules/labels/{verdict.label}"] += 1
        for rule in verdict.rules:
            counts[f"rules/hits/{rule.id}"] += 1
        item.indicators = list(dict.fromkeys([*found, *page_indicators(item.extra)]))
        counts["indicators/found"] += len(item.indicators)
        return item
