"""The analysts' allowlist: landing domains and advertisers declared legitimate.

An analyst who marks an ad a false positive in the console can add its landing domain or its
advertiser here. The contract for everyone else:

* :func:`allowlisted` returns ``(domains, advertisers)``, both normalised (see
  :func:`normalize_domain`, :func:`normalize_advertiser`). Read it once per crawl (or batch).
* :func:`is_allowlisted` says whether an ad with this landing domain/URL and advertiser is covered:
  a domain covers itself and its subdomains (``example.kz`` covers ``shop.example.kz``); an
  advertiser matches case-insensitively, spaces collapsed.
* The classify step of the pipeline stores an allowlisted ad as ``legit`` (its hit, if any, is
  cleared by :func:`storage.sightings.attach_hits`), and counts it as ``rules/allowlisted``.
* :func:`allowlisted_clause` is the same test as an SQL condition on ``ads`` (exact advertiser,
  domain or subdomain), used by the console to hide or mark ads flagged before the entry was made.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from sqlalchemy import ColumnElement, and_, delete, exists, literal, or_, select
from sqlalchemy.orm import Session

from crawler.errors import UserError
from storage.models import ALLOWLIST_KINDS, Ad, AllowlistEntry
from storage.sightings import registrable_host

_SPACE = re.compile(r"\s+")
# Platforms that carry everyone's ads (and shorteners): allowlisting one would hide every ad on it.
PLATFORM_DOMAINS = frozenset(
    {
        "t.me",
        "telegram.me",
        "telegram.org",
        "vk.com",
        "vk.ru",
        "vk.me",
        "ok.ru",
        "youtube.com",
        "youtu.be",
        "facebook.com",
        "fb.com",
        "fb.me",
        "instagram.com",
        "wa.me",
        "whatsapp.com",
        "tiktok.com",
        "x.com",
        "twitter.com",
        "google.com",
        "forms.gle",
        "linktr.ee",
        "bit.ly",
        "clck.ru",
        "tinyurl.com",
        "goo.gl",
        "taplink.cc",
        "2gis.kz",
        "olx.kz",
        "kolesa.kz",
        "krisha.kz",
    }
)


def is_platform_domain(domain: str | None) -> bool:
    if not domain:
        return False
    parts = domain.lower().split(".")
    return any(".".join(parts[i:]) in PLATFORM_DOMAINS for i in range(len(parts) - 1))


def normalize_domain(value: str) -> str:
    """``https://www.Example.kz/x`` and ``Example.KZ.`` both become ``example.kz``."""
    host = registrable_host(value.strip())
    if not host or "." not in host:
        raise UserError(f"{value!r} is not a domain name")
    return host


def normalize_advertiser(value: str) -> str:
    name = _SPACE.sub(" ", value).strip().casefold()
    if not name:
        raise UserError("an empty advertiser name cannot be allowlisted")
    return name


def allowlisted(session: Session) -> tuple[frozenset[str], frozenset[str]]:
    """Every allowlisted (domains, advertisers), normalised."""
    domains: set[str] = set()
    advertisers: set[str] = set()
    for kind, value in session.execute(select(AllowlistEntry.kind, AllowlistEntry.value)):
        if kind == "domain":
            domains.add(value)
        else:
            advertisers.add(normalize_advertiser(value))
    return frozenset(domains), frozenset(advertisers)


def is_allowlisted(
    domains: Collection[str],
    advertisers: Collection[str],
    *,
    landing: str | None = None,
    advertiser: str | None = None,
) -> bool:
    """Whether an ad whose landing domain or URL is ``landing`` and whose advertiser is
    ``advertiser`` is covered by the allowlist ``(domains, advertisers)``."""
    host = registrable_host(landing) if landing else None
    if host:
        parts = host.split(".")
        if any(".".join(parts[i:]) in domains for i in range(len(parts) - 1)):
            return True
    if advertiser and advertiser.strip():
        return normalize_advertiser(advertiser) in advertisers
    return False


def add_entry(
    session: Session,
    kind: str,
    value: str,
    *,
    created_by: str,
    note: str | None = None,
    source_ad_id: int | None = None,
) -> AllowlistEntry:
    """Allowlist a domain or an advertiser (idempotent: an existing entry is returned as is).
    Domains are stored normalised; advertisers as written (trimmed), compared case-folded."""
    if kind not in ALLOWLIST_KINDS:
        raise UserError(
            f"unknown allowlist kind {kind!r}; expected one of {', '.join(ALLOWLIST_KINDS)}"
        )
    if kind == "domain":
        stored = normalize_domain(value)
        if is_platform_domain(stored):
            raise UserError(
                f"{stored} is a platform that carries everyone's ads: "
                "allowlist the advertiser instead"
            )
    else:
        normalize_advertiser(value)
        stored = _SPACE.sub(" ", value).strip()[:500]
    found = session.scalar(
        select(AllowlistEntry).where(AllowlistEntry.kind == kind, AllowlistEntry.value == stored)
    )
    if found is not None:
        return found
    entry = AllowlistEntry(
        kind=kind, value=stored, note=note, created_by=created_by, source_ad_id=source_ad_id
    )
    session.add(entry)
    session.flush()
    return entry


def remove_entry(session: Session, entry_id: int) -> bool:
    return bool(
        session.execute(delete(AllowlistEntry).where(AllowlistEntry.id == entry_id)).rowcount
    )


def list_entries(session: Session) -> list[AllowlistEntry]:
    return list(
        session.scalars(select(AllowlistEntry).order_by(AllowlistEntry.kind, AllowlistEntry.value))
    )


def allowlisted_clause() -> ColumnElement[bool]:
    """True for ads covered by the allowlist: landing domain equal to (or a subdomain of) an
    allowlisted domain, or advertiser equal to an allowlisted advertiser as it was written."""
    domain_hit = and_(
        AllowlistEntry.kind == "domain",
        or_(
            Ad.landing_domain == AllowlistEntry.value,
            Ad.landing_domain.like(literal("%.") + AllowlistEntry.value),
        ),
    )
    advertiser_hit = and_(
        AllowlistEntry.kind == "advertiser", Ad.advertiser == AllowlistEntry.value
    )
    return exists().where(or_(domain_hit, advertiser_hit))
