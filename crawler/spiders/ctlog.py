"""Certificate transparency through crt.sh: new look-alike domains of the brands.

Parameters (sources.yaml): ``queries`` (crt.sh queries, ``%`` is the wildcard; default built
from the brand lexicon by :func:`crawler.apis.crtsh.default_queries`: every brand's stems and
official labels with their Kazakh Latin variants, ``%halyk%``, ``%halyq%``, ``%xalyk%``,
``%kaspi%``, ``%qaspi%``, …), ``landing_template`` (the URL queued for the landing spider,
default ``https://{host}/``). ``base_url`` defaults to ``https://crt.sh``.

Each query is one ``?q=<query>&output=json&exclude=expired`` request, one at a time (crt.sh
substring searches are expensive; it answers 502/503 HTML under load: retried with back-off,
never parsed as data). Precertificate + leaf pairs are merged (same issuer and serial), the
names of ``name_value`` are split, stripped of ``*.``/``www.`` and de-duplicated. Every host
that the look-alike filter (:class:`crawler.lookalikes.LookalikeFilter`: the rule engine's
domain matcher, then the ``.kz`` watch list) calls a look-alike — official domains and
unrelated names are dropped — becomes one item: ``external_id`` = the host, ``url`` = the
certificate on crt.sh, ``landing_url``/``links`` = ``https://<host>/`` (queued for the
``landing`` spider by the store pipeline), ``extra.certificate`` (crt.sh ids, issuer, serial,
validity, names) and ``extra.lookalike`` (brand, reason). The same host seen in a later run is
the same ad, seen again.

Stats: ``ctlog/certificates``, ``ctlog/duplicates``, ``ctlog/hosts``, ``ctlog/lookalikes``,
``ctlog/official``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from scrapy.http import Response

from crawler.apis import crtsh
from crawler.apis.errors import ApiError
from crawler.apis.lookalike_item import lookalike_item
from crawler.apis.spider import ApiSpider
from crawler.lookalikes import LookalikeFilter

DEFAULT_LANDING_TEMPLATE = "https://{host}/"


class CtlogSpider(ApiSpider):
    name = "ctlog"
    default_base_url = crtsh.DEFAULT_BASE_URL
    custom_settings: ClassVar[dict[str, Any]] = {
        "ROBOTSTXT_OBEY": False,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,  # serialised: one expensive query at a time
        "DOWNLOAD_TIMEOUT": 180,  # substring searches can take minutes
        "DOWNLOAD_MAXSIZE": 128 * 1024 * 1024,  # a popular term returns tens of thousands of rows
        "DOWNLOAD_WARNSIZE": 32 * 1024 * 1024,
    }

    def __init__(self, source: Any = None, config: str | None = None, **kwargs: Any) -> None:
        super().__init__(source, config, **kwargs)
        self.filter: LookalikeFilter | None = None
        self.landing_template = str(
            self.source.param("landing_template") or DEFAULT_LANDING_TEMPLATE
        )
        self.reported: set[str] = set()

    def queries(self) -> list[str]:
        configured = self.source.param("queries")
        if configured:
            return list(configured)
        from crawler.rules import load_engine

        rules_dir = self.crawler.settings.get("SCAMRADAR_RULES_DIR") or None
        return crtsh.default_queries(load_engine(rules_dir).ruleset.brands)

    async def start(self) -> AsyncIterator[Any]:
        self.filter = LookalikeFilter.default(
            self.crawler.settings.get("SCAMRADAR_RULES_DIR") or None
        )
        for query in self.queries():
            yield self.api_request(
                crtsh.search_url(query, self.base_url), self.parse_search, query=query
            )

    async def parse_search(self, response: Response) -> AsyncIterator[Any]:
        try:
            rows = crtsh.parse_search(response.body, response.status)
        except ApiError as exc:
            async for request in self.api_error(exc, response):
                yield request
            return
        certs = crtsh.dedupe_certificates(rows)
        stats = self.crawler.stats
        stats.inc_value("ctlog/certificates", len(certs))
        stats.inc_value("ctlog/duplicates", len(rows) - len(certs))
        assert self.filter is not None
        ordered = sorted(certs, key=lambda c: (c.entry_timestamp is None, c.entry_timestamp, c.id))
        for cert in ordered:
            reported: set[str] = set()  # registrable domains already reported for this cert
            hosts = sorted(
                {h[4:] if h.startswith("www.") else h for h in cert.names},
                key=lambda h: (len(h), h),
            )
            for host in hosts:
                item = self._lookalike(host, cert, reported, response)
                if item is not None:
                    yield item

    def _lookalike(
        self, host: str, cert: crtsh.Certificate, reported: set[str], response: Response
    ) -> Any:
        stats = self.crawler.stats
        assert self.filter is not None
        if host in self.reported:
            return None
        self.reported.add(host)
        stats.inc_value("ctlog/hosts")
        verdict = self.filter.check(host)
        if verdict.kind == "official":
            stats.inc_value("ctlog/official")
            return None
        if verdict.kind != "lookalike" or not verdict.brand or verdict.registrable in reported:
            return None
        reported.add(verdict.registrable)
        stats.inc_value("ctlog/lookalikes")
        item = lookalike_item(
            source=self.source.name,
            spider=self.name,
            host=host,
            brand=verdict.brand,
            reason=verdict.reason,
            certificate=_certificate(cert, self.base_url, response.meta.get("query")),
            url=cert.link(self.base_url),
            names=cert.names,
            published_at=cert.entry_timestamp,
            captures=[self.capture(response)],
        )
        item.landing_url = self.landing_template.format(host=host)
        item.links = [item.landing_url]
        return item


def _certificate(cert: crtsh.Certificate, base_url: str, query: str | None) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "crtsh_ids": list(cert.ids),
        "issuer": cert.issuer_name,
        "issuer_ca_id": cert.issuer_ca_id,
        "serial_number": cert.serial_number,
        "common_name": cert.common_name,
        "names": list(cert.names),
        "not_before": iso(cert.not_before),
        "not_after": iso(cert.not_after),
        "entry_timestamp": iso(cert.entry_timestamp),
        "link": cert.link(base_url),
        "query": query,
    }
