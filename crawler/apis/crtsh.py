"""crt.sh certificate-transparency search: queries, response parsing, de-duplication.

``GET https://crt.sh/?q=%25halyk%25&output=json&exclude=expired`` answers a JSON array of
``{issuer_ca_id, issuer_name, common_name, name_value, id, entry_timestamp, not_before,
not_after, serial_number}`` (unknown keys are ignored). What this module knows:

- a precertificate and its final certificate are two rows with the same ``serial_number`` (and
  issuer): one certificate (:func:`dedupe_certificates`);
- ``name_value`` holds every SAN, one a line, ``*.`` wildcards included: each name is stripped of
  its wildcard, lower-cased and de-duplicated (:func:`domains_of`);
- under load crt.sh answers 502/503/504 with an HTML page, or 429: not JSON means a transient
  error (:class:`~crawler.apis.errors.ApiError` with ``Action.RETRY``), never a parse crash;
- timestamps carry no time zone: they are UTC.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from crawler.apis.errors import Action, ApiError, snippet
from crawler.lookalikes import clean_domain

if TYPE_CHECKING:
    from crawler.rules.brands import Brand

API = "crt.sh"
DEFAULT_BASE_URL = "https://crt.sh"
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
MIN_QUERY_LEN = 4  # %bcc% would return every certificate with "bcc" anywhere: too broad


@dataclass(frozen=True, slots=True)
class Certificate:
    id: int
    issuer_ca_id: int | None
    issuer_name: str
    common_name: str
    serial_number: str
    names: tuple[str, ...]  # cleaned host names (wildcards stripped), in order, unique
    not_before: datetime | None
    not_after: datetime | None
    entry_timestamp: datetime | None
    ids: tuple[int, ...] = field(default=())  # every crt.sh id merged into this certificate

    @property
    def key(self) -> tuple[int | None, str]:
        return (self.issuer_ca_id, self.serial_number.lower())

    def link(self, base_url: str = DEFAULT_BASE_URL) -> str:
        return f"{base_url.rstrip('/')}/?id={self.id}"


def search_url(query: str, base_url: str = DEFAULT_BASE_URL) -> str:
    """The JSON search URL for ``query`` (``%`` is crt.sh's wildcard, sent as ``%25``)."""
    return f"{base_url.rstrip('/')}/?q={quote(query, safe='')}&output=json&exclude=expired"


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def parse_search(body: bytes, status: int = 200) -> list[Certificate]:
    """The certificates of one crt.sh JSON answer, one per row (see :func:`dedupe_certificates`).

    Raises :class:`ApiError`: ``RETRY`` for 429/5xx and for any body that is not a JSON array
    (crt.sh's error pages are HTML); ``FAIL`` for other HTTP errors."""
    if status in TRANSIENT_STATUSES:
        raise ApiError(API, Action.RETRY, f"HTTP {status}: {snippet(body)}", status=status)
    if status >= 400:
        raise ApiError(API, Action.FAIL, f"HTTP {status}: {snippet(body)}", status=status)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(
            API, Action.RETRY, f"not JSON (crt.sh overloaded?): {snippet(body)}", status=status
        ) from None
    if not isinstance(data, list):
        raise ApiError(
            API, Action.RETRY, f"expected a JSON array, got {type(data).__name__}", status=status
        )
    out = []
    for row in data:
        if not isinstance(row, dict):
            continue
        cid = _int(row.get("id"))
        if cid is None:
            continue
        raw_names = [str(row.get("common_name") or "")]
        raw_names += str(row.get("name_value") or "").split("\n")
        names = tuple(dict.fromkeys(n for n in map(clean_domain, raw_names) if n))
        out.append(
            Certificate(
                id=cid,
                issuer_ca_id=_int(row.get("issuer_ca_id")),
                issuer_name=str(row.get("issuer_name") or ""),
                common_name=str(row.get("common_name") or ""),
                serial_number=str(row.get("serial_number") or f"id:{cid}"),
                names=names,
                not_before=_timestamp(row.get("not_before")),
                not_after=_timestamp(row.get("not_after")),
                entry_timestamp=_timestamp(row.get("entry_timestamp")),
                ids=(cid,),
            )
        )
    return out


def dedupe_certificates(certs: Iterable[Certificate]) -> list[Certificate]:
    """One certificate per (issuer, serial): the precertificate and the leaf are merged (the
    earliest log entry is kept as the certificate's id; names and ids are united)."""
    merged: dict[tuple[int | None, str], Certificate] = {}
    for cert in certs:
        known = merged.get(cert.key)
        if known is None:
            merged[cert.key] = cert
            continue
        first, other = (known, cert) if _earlier(known, cert) else (cert, known)
        merged[cert.key] = Certificate(
            id=first.id,
            issuer_ca_id=first.issuer_ca_id,
            issuer_name=first.issuer_name,
            common_name=first.common_name,
            serial_number=first.serial_number,
            names=tuple(dict.fromkeys(first.names + other.names)),
            not_before=first.not_before,
            not_after=first.not_after,
            entry_timestamp=first.entry_timestamp,
            ids=tuple(sorted(set(first.ids + other.ids))),
        )
    return list(merged.values())


def _earlier(a: Certificate, b: Certificate) -> bool:
    if a.entry_timestamp and b.entry_timestamp and a.entry_timestamp != b.entry_timestamp:
        return a.entry_timestamp < b.entry_timestamp
    return a.id <= b.id


def domains_of(certs: Iterable[Certificate]) -> dict[str, Certificate]:
    """Every host name of these certificates → the first certificate that names it."""
    out: dict[str, Certificate] = {}
    for cert in sorted(
        certs, key=lambda c: (c.entry_timestamp or datetime.max.replace(tzinfo=UTC), c.id)
    ):
        for name in cert.names:
            out.setdefault(name, cert)
    return out


# --------------------------------------------------------------------------- default queries


def _latin(text: str) -> str:
    """A brand term as it is spelled in domain names: ASCII, lower case, letters and digits.
    (Not the rule engine's matching normaliser: that one folds spellings, ``halyk`` → ``halik``,
    which is right for matching and wrong for a search query.)"""
    from unidecode import unidecode

    return re.sub(r"[^a-z0-9]", "", unidecode(text).lower())


# Kazakh Latin spellings of one sound, applied to every occurrence at once (halyk → halyq,
# xalyk, xalyq; kaspi → qaspi): the variants scammers register, without the combinatorial
# explosion of the full watch list (crt.sh substring queries are expensive).
QUERY_TRANSLIT = (("k", "q"), ("h", "x"))


def _query_variants(term: str) -> list[str]:
    out = [term]
    for src, dst in QUERY_TRANSLIT:
        if src in term:
            out += [v.replace(src, dst) for v in list(out)]
    return out


def default_queries(brands: Sequence[Brand], *, translit: bool = True) -> list[str]:
    """``%term%`` crt.sh queries for every brand: its stems and its official domain labels
    (normalised, at least :data:`MIN_QUERY_LEN` letters), with their Kazakh Latin variants
    (``halyq``, ``xalyk``, ``qaspi``), minus every term a shorter one already covers
    (``%halyk%`` finds ``halykinvest``)."""
    from crawler.rules.domains import _extractor

    terms: list[str] = []
    for brand in brands:
        found = [_latin(s) for s in brand.stems]
        found += [_latin(_extractor()(d).domain) for d in brand.domains]
        for term in dict.fromkeys(found):
            if len(term) < MIN_QUERY_LEN:
                continue
            terms.extend(_query_variants(term) if translit and len(term) >= 5 else [term])
    unique = sorted(dict.fromkeys(terms), key=lambda t: (len(t), t))
    kept: list[str] = []
    for term in unique:
        if not any(k in term for k in kept):
            kept.append(term)
    return [f"%{t}%" for t in kept]
