"""The ad-like record of a look-alike domain found in a certificate (crt.sh or CertStream).

One record per host (``www.`` and ``*.`` stripped): ``external_id`` is the host, so the same
domain seen again in a later certificate moves ``last_seen`` instead of adding a row. Its
``landing_url`` (and ``links``) is ``https://<host>/``: the store pipeline queues it for the
``landing`` spider, which captures the page as evidence. The text names the host, the brand it
imitates and the certificate, so the rules (``lookalike_domain`` on the URL) and an analyst
both see what it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from crawler.items import AdItem, Capture


def landing_url_of(host: str) -> str:
    return f"https://{host}/"


def lookalike_item(
    *,
    source: str,
    spider: str,
    host: str,
    brand: str,
    reason: str,
    certificate: Mapping[str, Any],
    url: str | None,
    names: Sequence[str] = (),
    published_at: datetime | None = None,
    captures: Sequence[Capture] = (),
) -> AdItem:
    landing = landing_url_of(host)
    issuer = certificate.get("issuer") or certificate.get("issuer_name") or "an unknown issuer"
    since = certificate.get("not_before") or "?"
    others = [n for n in names if n != host][:20]
    lines = [
        host,
        f"New TLS certificate for a look-alike of {brand}: {host} ({reason}).",
        f"Issued by {issuer}, valid from {since}.",
    ]
    if others:
        lines.append("Other names on the certificate: " + ", ".join(others))
    return AdItem(
        source=source,
        spider=spider,
        text="\n".join(lines),
        title=host,
        external_id=host,
        url=url,
        landing_url=landing,
        advertiser=None,
        language="en",
        published_at=published_at,
        links=[landing],
        extra={
            "lookalike": {"brand": brand, "reason": reason, "host": host},
            "certificate": dict(certificate),
        },
        captures=list(captures),
    )
