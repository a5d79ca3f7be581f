"""CertStream messages and the filter that picks the look-alike domains out of them.

A CertStream server (``wss://certstream.calidog.io/``, or a self-hosted certstream-server /
certstream-server-go) sends one JSON message per frame:

- ``{"message_type": "heartbeat", "timestamp": …}``;
- ``{"message_type": "certificate_update", "data": {"update_type", "leaf_cert": {"subject",
  "issuer"?, "not_before", "not_after", "serial_number"?, "fingerprint"?, "all_domains": […]},
  "cert_index", "cert_link", "seen", "source": {"url", "name"}}}`` (``issuer``,
  ``serial_number`` and ``fingerprint`` only from newer servers: optional).

:class:`UpdateFilter` runs every name of ``all_domains`` through the same
:class:`~crawler.lookalikes.LookalikeFilter` as the ``ctlog`` spider and reports each
look-alike host once per process (precertificate, leaf and the copies in other logs are the
same news). It is the hot path of the listener: ``scamradar bench certstream`` measures it.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crawler.lookalikes import LookalikeFilter, clean_domain

REMEMBER = 100_000  # hosts reported (or found harmless) kept to skip repeats


@dataclass(frozen=True, slots=True)
class CertMatch:
    host: str
    registrable: str
    brand: str
    reason: str
    certificate: dict[str, Any] = field(default_factory=dict)


@dataclass
class FilterStats:
    messages: int = 0
    heartbeats: int = 0
    updates: int = 0
    domains: int = 0
    matches: int = 0
    official: int = 0
    bad_messages: int = 0
    other: int = 0
    skipped_infra: int = 0


def _certificate(data: dict[str, Any], leaf: dict[str, Any]) -> dict[str, Any]:
    issuer = leaf.get("issuer")
    source = data.get("source") if isinstance(data.get("source"), dict) else {}
    subject = leaf.get("subject") if isinstance(leaf.get("subject"), dict) else {}

    def when(value: Any) -> str | None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC).isoformat()
        return None

    return {
        "update_type": data.get("update_type"),
        "subject": subject.get("aggregated"),
        "issuer": issuer.get("aggregated") if isinstance(issuer, dict) else None,
        "serial_number": leaf.get("serial_number"),
        "fingerprint": leaf.get("fingerprint"),
        "not_before": when(leaf.get("not_before")),
        "not_after": when(leaf.get("not_after")),
        "all_domains": [d for d in leaf.get("all_domains") or () if isinstance(d, str)][:50],
        "cert_index": data.get("cert_index"),
        "cert_link": data.get("cert_link"),
        "log": source.get("name"),
        "seen": when(data.get("seen")),
    }


class UpdateFilter:
    """Feed it raw messages; it returns the new look-alike hosts they name."""

    def __init__(self, lookalikes: LookalikeFilter, *, remember: int = REMEMBER) -> None:
        self.check = lookalikes.check
        self.remember = remember
        self.seen: OrderedDict[str, str | None] = OrderedDict()  # host → its verdict's kind
        self.stats = FilterStats()

    def feed(self, raw: str | bytes) -> list[CertMatch]:
        stats = self.stats
        stats.messages += 1
        try:
            message = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            stats.bad_messages += 1
            return []
        if not isinstance(message, dict):
            stats.bad_messages += 1
            return []
        kind = message.get("message_type")
        if kind == "heartbeat":
            stats.heartbeats += 1
            return []
        if kind != "certificate_update":
            stats.other += 1
            return []
        data = message.get("data")
        leaf = data.get("leaf_cert") if isinstance(data, dict) else None
        if not isinstance(leaf, dict):
            stats.bad_messages += 1
            return []
        stats.updates += 1
        return self.match_domains(leaf.get("all_domains") or (), data, leaf)

    def match_domains(
        self, names: Any, data: dict[str, Any] | None = None, leaf: dict[str, Any] | None = None
    ) -> list[CertMatch]:
        found: list[CertMatch] = []
        seen = self.seen
        hosts: list[str] = []
        for name in names:
            host = clean_domain(name) if isinstance(name, str) else None
            if host is not None:
                hosts.append(host[4:] if host.startswith("www.") else host)
        if len(hosts) > 1:
            hosts.sort(
                key=lambda h: (len(h), h)
            )  # the shortest name of a registrable domain speaks for it
        reported: set[str] = set()
        for host in hosts:
            if host in seen:
                continue
            bare = _strip_infra(host)
            if bare != host and bare in seen and seen[bare] != "lookalike":
                # mail.x.com, autodiscover.x.com … of a host already found harmless (or
                # official): the service prefix adds nothing. Look-alikes are still checked.
                self.stats.skipped_infra += 1
                continue
            self.stats.domains += 1
            verdict = self.check(host)
            seen[host] = verdict.kind
            if len(seen) > self.remember:
                seen.popitem(last=False)
            if verdict.kind == "official":
                self.stats.official += 1
                continue
            if verdict.kind != "lookalike" or verdict.brand is None:
                continue
            if verdict.registrable in reported:
                continue  # mail.x.online beside x.online on one certificate: one finding
            reported.add(verdict.registrable)
            self.stats.matches += 1
            cert = _certificate(data, leaf) if data is not None and leaf is not None else {}
            found.append(CertMatch(host, verdict.registrable, verdict.brand, verdict.reason, cert))
        return found


# Service prefixes that hosting panels (cPanel AutoSSL, Plesk) and mail setups put on every
# certificate beside the bare domain: they carry no brand of their own.
INFRA_LABELS = frozenset(
    {
        "www",
        "mail",
        "webmail",
        "cpanel",
        "webdisk",
        "autodiscover",
        "autoconfig",
        "cpcalendars",
        "cpcontacts",
        "whm",
        "ftp",
        "smtp",
        "imap",
        "pop",
        "pop3",
        "mx",
        "mta-sts",
        "api",
        "cdn",
        "static",
        "m",
    }
)


def _strip_infra(host: str) -> str:
    while True:
        label, dot, rest = host.partition(".")
        if not dot or label not in INFRA_LABELS or "." not in rest:
            return host
        host = rest


# --------------------------------------------------------------------------- benchmark


def synthetic_stream(
    templates: list[str], n: int, *, seed: int = 7, lookalike_share: float = 0.01
) -> list[str]:
    """``n`` certificate-update frames made from recorded ones, each naming fresh random hosts
    (1–4 SANs, like real certificates), ``lookalike_share`` of them brand look-alikes, with a
    heartbeat every 1 000 frames. Unique hosts defeat every cache: the worst case."""
    import copy
    import random
    import string

    rnd = random.Random(seed)
    updates = [
        m
        for m in (json.loads(t) for t in templates)
        if isinstance(m, dict) and m.get("message_type") == "certificate_update"
    ]
    heartbeat = json.dumps({"message_type": "heartbeat", "timestamp": 0.0})
    if not updates:
        raise ValueError("no certificate_update message to build the stream from")
    tlds = (
        "com",
        "net",
        "org",
        "kz",
        "ru",
        "de",
        "online",
        "io",
        "shop",
        "site",
        "xyz",
        "co.uk",
        "com.br",
        "top",
        "store",
    )
    subs = ("www", "mail", "api", "cdn", "shop", "app", "static", "portal")
    lures = ("invest", "bonus", "ipo", "dohod", "pay")
    brands = ("halyk", "kaspi", "qazatom", "vigroup", "centercredit", "xalyq")
    frames = []
    for i in range(n):
        if i % 1000 == 999:
            frames.append(heartbeat)
            continue
        message = copy.deepcopy(updates[i % len(updates)])
        if rnd.random() < lookalike_share:
            base = f"{rnd.choice(brands)}-{rnd.choice(lures)}{i}.{rnd.choice(tlds)}"
        else:
            word = "".join(rnd.choice(string.ascii_lowercase) for _ in range(rnd.randint(4, 14)))
            base = f"{word}{i}.{rnd.choice(tlds)}"
        names = [base] + [f"{rnd.choice(subs)}.{base}" for _ in range(rnd.randint(0, 3))]
        message["data"]["leaf_cert"]["all_domains"] = names
        frames.append(json.dumps(message))
    return frames


def benchmark(frames: list[str], lookalikes: LookalikeFilter) -> tuple[float, float, FilterStats]:
    """Wall-clock and CPU seconds to filter the frames in this one thread, and the counts.
    (CPU time is the fair figure on a busy machine: it is what one core spent.)"""
    import time

    flt = UpdateFilter(lookalikes)
    wall, cpu = time.perf_counter(), time.process_time()
    for frame in frames:
        flt.feed(frame)
    return time.perf_counter() - wall, time.process_time() - cpu, flt.stats
