"""Official and look-alike domains.

``DomainMatcher.check("kaspi-invest.top")`` → ``DomainVerdict(brand="kaspi", kind="lookalike")``.

* an official domain of a brand, or any subdomain of one, is that brand and legitimate;
* a domain is a look-alike of a brand when, after IDNA decoding (``xn--``), homoglyph folding,
  transliteration and leetspeak (the text normaliser), one of its labels (or all of them glued, or
  a hyphen-separated part):
  - contains a brand stem (``kaspi-invest``, ``halykdohod``, ``vigroupinvest``), or
  - is within a small edit distance of an official label (``kazpi``, ``halykbnk``, ``bcc-kz``), or
  - is an official label plus/minus lure words (``bccinvest-pro``).

Registrable domains come from :mod:`tldextract` with its bundled public-suffix snapshot, offline.
Use it on a bare domain (the certificate-transparency spider does) or on a URL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import tldextract
from rapidfuzz.distance import Levenshtein
from unidecode import unidecode

from crawler.rules.brands import Brand, MatchingSettings
from crawler.rules.normalize import _confusables, normalize_term


@dataclass(frozen=True)
class DomainVerdict:
    domain: str  # the host as given, lower case, IDNA-decoded
    registrable: str  # e.g. kaspi-invest.top
    brand: str | None
    kind: str | None  # "official" | "lookalike" | None
    reason: str = ""


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    # suffix_list_urls=() : never fetch the public suffix list, use the snapshot in the package.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def host_of(url_or_domain: str) -> str:
    """The lower-case host of a URL or bare domain, IDNA (``xn--``) labels decoded."""
    s = url_or_domain.strip().lower()
    if "//" in s:
        try:
            s = urlsplit(s).hostname or ""
        except ValueError:  # a malformed URL ("http://[x") has no usable host
            s = s.split("//", 1)[1].split("/", 1)[0].strip("[]")
    else:
        s = s.split("/", 1)[0].split("?", 1)[0]
        s = s.rsplit("@", 1)[-1].split(":", 1)[0]
    s = s.strip(".")
    labels = []
    for label in s.split("."):
        if label.startswith("xn--"):
            try:
                label = label.encode("ascii").decode("idna")
            except UnicodeError:
                try:
                    label = label[4:].encode("ascii").decode("punycode")
                except UnicodeError:
                    pass
        labels.append(label)
    return ".".join(labels)


# Small additions to the confusables table for letters it maps to no Latin letter.
_DOMAIN_EXTRA = {"ь": "b", "Ь": "b", "ԍ": "g", "ɡ": "g"}


def latin_lookalike(label: str) -> str:
    """The Latin a label imitates: each letter through the Unicode confusables table, else
    transliterated (``каѕрі`` → ``kaspi``, ``һсѕьк`` → ``hcsbk``)."""
    table = _confusables()["latin"]
    return "".join(
        c if c.isascii() else table.get(c) or _DOMAIN_EXTRA.get(c) or unidecode(c) for c in label
    ).lower()


class DomainMatcher:
    def __init__(self, brands: Sequence[Brand], settings: MatchingSettings):
        self.settings = settings
        self._official: dict[str, str] = {}
        self._labels: list[tuple[str, str]] = []  # (normalised official label, brand)
        self._stems: list[tuple[str, str]] = []
        for b in brands:
            for d in b.domains:
                reg = self.registrable(d)
                self._official[reg] = b.key
                label = self._label_of(reg)
                if label:
                    self._labels.append((label, b.key))
            for s in b.stems:
                ns = normalize_term(s).replace(" ", "")
                if len(ns) >= 4:
                    self._stems.append((ns, b.key))
            for n in b.names:
                nn = re.sub(r"[^a-z0-9]", "", normalize_term(n))
                if len(nn) >= 5 and (nn, b.key) not in self._stems:
                    self._stems.append((nn, b.key))
        self._stems.sort(key=lambda t: -len(t[0]))
        lures = {re.sub(r"[^a-z0-9]", "", normalize_term(w)) for w in settings.lure_words}
        self._lures = tuple(sorted((w for w in lures if w), key=len, reverse=True))

    @staticmethod
    def registrable(domain: str) -> str:
        ext = _extractor()(domain)
        if ext.suffix and ext.domain:
            return f"{ext.domain}.{ext.suffix}"
        return domain

    def _label_of(self, registrable: str) -> str:
        ext = _extractor()(registrable)
        return re.sub(r"[^a-z0-9]", "", normalize_term(ext.domain))

    def check(self, url_or_domain: str) -> DomainVerdict:
        host = host_of(url_or_domain)
        if not host or "." not in host:
            return DomainVerdict(host, host, None, None)
        return self._check_host(host)

    @lru_cache(maxsize=65536)  # noqa: B019 - one matcher per engine, bounded
    def _check_host(self, host: str) -> DomainVerdict:
        ext = _extractor()(host)
        reg = f"{ext.domain}.{ext.suffix}" if ext.suffix and ext.domain else host
        if reg in self._official:
            return DomainVerdict(host, reg, self._official[reg], "official", "official domain")
        # Also allow official domains that are themselves under a public suffix (baiterek.gov.kz).
        for off, brand in self._official.items():
            if host == off or host.endswith("." + off):
                return DomainVerdict(host, reg, brand, "official", "official domain")
        labels = [lab for lab in ext.subdomain.split(".") if lab and lab != "www"] + [ext.domain]
        # An IDN label written in look-alike letters (каѕрі, кмԍ) reads as the Latin it imitates.
        candidates: list[str] = [
            re.sub(r"[^a-z0-9]", "", latin_lookalike(lab)) for lab in labels if not lab.isascii()
        ]
        for lab in labels:
            n = normalize_term(lab)
            candidates.append(re.sub(r"[^a-z0-9]", "", n))
            candidates.extend(p for p in re.split(r"[^a-z0-9]+", n) if p)
        candidates.append(re.sub(r"[^a-z0-9]", "", normalize_term("".join(labels))))
        for cand in candidates:
            for stem, brand in self._stems:
                if stem in cand:
                    return DomainVerdict(host, reg, brand, "lookalike", f"contains {stem!r}")
        for cand in candidates:
            stripped = self._strip_lures(cand)
            for c in {cand, stripped}:
                if len(c) < 2:
                    continue
                for label, brand in self._labels:
                    maxd = self.settings.domain_distance(len(label))
                    if abs(len(c) - len(label)) > maxd:
                        continue
                    if len(label) <= 3 and c[:1] != label[:1] and c[-1:] != label[-1:]:
                        continue
                    d = Levenshtein.distance(c, label, score_cutoff=maxd)
                    if d <= maxd and (d > 0 or reg not in self._official):
                        return DomainVerdict(
                            host, reg, brand, "lookalike", f"{c!r} is {d} edit(s) from {label!r}"
                        )
        return DomainVerdict(host, reg, None, None)

    def _strip_lures(self, cand: str) -> str:
        changed = True
        while changed and len(cand) > 3:
            changed = False
            for lure in self._lures:
                if cand.endswith(lure) and len(cand) - len(lure) >= 2:
                    cand, changed = cand[: -len(lure)], True
                    break
                if cand.startswith(lure) and len(cand) - len(lure) >= 2:
                    cand, changed = cand[len(lure) :], True
                    break
        return cand


def check_domain(url_or_domain: str, data_dir: str | None = None) -> DomainVerdict:
    """Brand and kind (``official`` / ``lookalike`` / ``None``) of a bare domain or URL, with the
    bundled brand lexicon (or the one in ``data_dir``)."""
    from crawler.rules import load_engine

    return load_engine(data_dir).domains.check(url_or_domain)
