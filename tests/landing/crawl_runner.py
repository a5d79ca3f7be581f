"""Run one ``landing`` crawl in a process of its own: ``python crawl_runner.py SPEC.json``.

The tests start this in a subprocess (the Twisted reactor is never started inside pytest). The
spec names the source (a sources.yaml entry as a mapping), Scrapy setting overrides, host names
to resolve to fixed addresses (``hosts``: the stand-in for DNS, also used to play DNS rebinding),
and where to write the items (JSON lines, captures summarised) and the final crawl stats.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IHostnameResolver
from zope.interface import implementer

from crawler.config import AppSettings
from crawler.sources import source_from_dict
from crawler.spiders.landing import LandingSpider

SPEC: dict[str, Any] = {}


@implementer(IHostnameResolver)
class FixedHostsResolver:
    """Resolves the spec's ``hosts`` to their addresses, everything else as the reactor would."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor
        self.original = reactor.nameResolver
        self.hosts: dict[str, str] = SPEC.get("hosts", {})

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> FixedHostsResolver:
        return cls(reactor)

    def install_on_reactor(self) -> None:
        self.reactor.installNameResolver(self)

    def resolveHostName(  # noqa: N802 - Twisted interface
        self,
        receiver: Any,
        hostName: str,
        portNumber: int = 0,
        *args: Any,
        **kw: Any,  # noqa: N803
    ) -> Any:
        address = self.hosts.get(hostName)
        if address is None:
            return self.original.resolveHostName(receiver, hostName, portNumber, *args, **kw)
        receiver.resolutionBegan(None)
        receiver.addressResolved(IPv4Address("TCP", address, portNumber))
        receiver.resolutionComplete()
        return None


class DumpPipeline:
    """Writes every item as one JSON line (capture bodies replaced by their size and kind)."""

    def open_spider(self) -> None:
        self.out = Path(SPEC["items_path"]).open("w", encoding="utf-8")

    def close_spider(self) -> None:
        self.out.close()

    def process_item(self, item: Any) -> Any:
        data = {
            "source": item.source,
            "spider": item.spider,
            "title": item.title,
            "text": item.text,
            "external_id": item.external_id,
            "url": item.url,
            "landing_url": item.landing_url,
            "language": item.language,
            "links": item.links,
            "extra": item.extra,
            "captures": [
                {
                    "url": c.url,
                    "status": c.status,
                    "kind": c.kind,
                    "size": len(c.body),
                    "user_agent_seen": None,
                }
                for c in item.captures
            ],
        }
        self.out.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
        self.out.flush()
        return item


def main(spec_path: str) -> None:
    SPEC.update(json.loads(Path(spec_path).read_text(encoding="utf-8")))
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    from crawler.settings import app_overrides

    settings.update(app_overrides(AppSettings.from_env()), priority="project")
    settings.update(
        {
            "ITEM_PIPELINES": {"__main__.DumpPipeline": 100},
            "EXTENSIONS": {"scrapy.extensions.telnet.TelnetConsole": None},
            "TWISTED_DNS_RESOLVER": "__main__.FixedHostsResolver",
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "SCAMRADAR_BACKOFF_BASE": 0.05,
            "SCAMRADAR_BACKOFF_MAX": 0.1,
            "LOG_LEVEL": "INFO",
        },
        priority="cmdline",
    )
    settings.update(SPEC.get("settings", {}), priority="cmdline")
    process = CrawlerProcess(settings, install_root_handler=True)
    crawler = process.create_crawler(LandingSpider)
    process.crawl(crawler, source=source_from_dict(SPEC["source"]))
    process.start()
    stats = {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in crawler.stats.get_stats().items()
    }
    Path(SPEC["stats_path"]).write_text(json.dumps(stats, default=str), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
