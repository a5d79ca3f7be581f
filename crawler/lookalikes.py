"""The look-alike watch list for the brands' ``.kz`` domains, and the filter that uses it.

The watch list is data: ``crawler/data/lookalikes_kz.tsv``, one look-alike *label* per line
(the part of a domain before its public suffix: ``halyk-invest`` stands for
``halyk-invest.kz``, ``halyk-invest.online``, … whatever the TLD), with the brand and how it was
made::

    # label <TAB> brand <TAB> method <TAB> from
    halykbamk	halyk	dnstwist:replacement	halykbank
    xalyq-bonus	halyk	lure	xalyq

It holds, for every brand of the lexicon (``crawler/rules/data/brands.yaml``) with an official
``.kz`` domain:

- the permutations :mod:`dnstwist` makes of the official label, when it has at least
  :data:`MIN_PERMUTED` letters (addition, bitsquatting,
  hyphenation, insertion, omission, repetition, replacement, transposition, vowel swap, ASCII
  homoglyphs; IDN homoglyphs are left to the matcher, which decodes ``xn--`` and folds them);
- transliteration variants of the official label and of the brand stems (Kazakh Latin and
  Russian romanisations: halyk/xalyq/halyq/khalyk, kaspi/qaspi, kazatom/qazatom, …);
- brand + lure words (``invest``, ``bonus``, ``ipo``, ``dohod``, ``pay``, ``bank``, ``capital``):
  ``halykinvest``, ``halyk-invest``, ``invest-halyk``, ``halyk-invest-kz``.

Regenerate after editing the brand lexicon (the file is deterministic for one dnstwist
version)::

    python -m crawler.lookalikes generate            # rewrites crawler/data/lookalikes_kz.tsv
    python -m crawler.lookalikes expand --tld kz --tld online   # full domains, one a line

:class:`LookalikeFilter` is what the ``ctlog`` spider and the CertStream listener use: the rule
engine's :class:`~crawler.rules.domains.DomainMatcher` first (official domains are the brand,
stems and small edit distances are look-alikes), then an exact lookup of every label of the host
in the watch list.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawler.rules.brands import Brand
    from crawler.rules.domains import DomainMatcher, DomainVerdict

WATCHLIST_PATH = Path(__file__).resolve().parent / "data" / "lookalikes_kz.tsv"
LURE_WORDS = ("invest", "bonus", "ipo", "dohod", "pay", "bank", "capital")
# Likely TLDs for scam landings (for `expand`; matching ignores the TLD).
LIKELY_TLDS = (
    "kz",
    "com",
    "online",
    "site",
    "top",
    "pro",
    "org",
    "net",
    "info",
    "xyz",
    "store",
    "shop",
    "live",
    "click",
    "icu",
    "app",
    "space",
    "website",
    "fun",
    "io",
    "me",
)
DNSTWIST_FUZZERS = frozenset(
    {
        "addition",
        "bitsquatting",
        "hyphenation",
        "insertion",
        "omission",
        "repetition",
        "replacement",
        "transposition",
        "vowel-swap",
        "homoglyph",
        "plural",
        "various",
    }
)
# One Latin letter (or digraph) → the spellings the same sound gets in Kazakh Latin and in the
# usual romanisations of Russian. Applied to each occurrence independently.
TRANSLIT = {
    "h": ("h", "x", "kh"),
    "k": ("k", "q"),
    "q": ("q", "k"),
    "y": ("y", "i"),
    "c": ("c", "k", "ts"),
    "ts": ("ts", "c"),
    "kh": ("kh", "h", "x"),
    "x": ("x", "h", "kh"),
}
MAX_TRANSLIT = 24  # variants per base label (the product grows fast on long labels)
# dnstwist permutations of short labels are ordinary words or other brands (bcc → bbc, kaspi →
# kapsi): only labels of at least this length are permuted, and only permutations as long are
# kept. Short labels are left to the matcher's edit distance, which knows each brand's
# exceptions.
MIN_PERMUTED = 6
_TOKEN = re.compile(r"kh|ts|[a-z0-9]", re.IGNORECASE)
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True, slots=True)
class WatchEntry:
    label: str
    brand: str
    method: str
    origin: str  # the official label or stem it was made from


# --------------------------------------------------------------------------- generation


def translit_variants(label: str, limit: int = MAX_TRANSLIT) -> list[str]:
    """Spelling variants of a Latin label: ``halyk`` → ``xalyq``, ``halyq``, ``khalyk``, …"""
    tokens = _TOKEN.findall(label.lower())
    if "".join(tokens) != label.lower().replace("-", ""):
        tokens = list(label.lower())
    choices = [TRANSLIT.get(t, (t,)) for t in tokens]
    out: list[str] = []
    for combo in itertools.product(*choices):
        variant = "".join(combo)
        if variant != label and variant not in out:
            out.append(variant)
        if len(out) >= limit:
            break
    return out


def lure_labels(base: str, lures: Sequence[str] = LURE_WORDS) -> Iterator[str]:
    for lure in lures:
        if lure == base:
            continue
        yield from (f"{base}{lure}", f"{base}-{lure}", f"{lure}-{base}", f"{base}-{lure}-kz")


def _dnstwist_labels(domain: str) -> Iterator[tuple[str, str]]:
    import dnstwist

    from crawler.rules.domains import _extractor

    fuzzer = dnstwist.Fuzzer(domain)
    fuzzer.generate()
    for row in fuzzer.domains:
        kind = row["fuzzer"]
        name = row["domain"]
        if kind not in DNSTWIST_FUZZERS or name.startswith("xn--") or ".xn--" in name:
            continue
        ext = _extractor()(name)
        label = (ext.subdomain.replace(".", "") + ext.domain) if ext.subdomain else ext.domain
        yield label, kind


def _stem_label(text: str) -> str:
    """A stem as domains spell it: ASCII, lower case, letters and digits (not the matching
    normaliser, which folds spellings)."""
    from unidecode import unidecode

    return re.sub(r"[^a-z0-9]", "", unidecode(text).lower())


def generate(brands: Iterable[Brand]) -> list[WatchEntry]:
    """The watch list for every brand with an official ``.kz`` domain (sorted, unique labels)."""
    from crawler.rules.domains import _extractor

    entries: dict[str, WatchEntry] = {}
    official: set[str] = set()

    def add(label: str, brand: str, method: str, origin: str) -> None:
        label = label.lower().strip("-")
        if label in official or not _LABEL.match(label) or len(label) < 4:
            return
        if method.startswith("dnstwist") and (
            min(len(label), len(origin)) < MIN_PERMUTED
            or origin.startswith(label)
            or origin.endswith(label)  # vigroup → igroup, vigrou
        ):
            return
        entries.setdefault(label, WatchEntry(label, brand, method, origin))

    brands = list(brands)
    for brand in brands:
        for domain in brand.domains:
            official.add(_extractor()(domain).domain)
    for brand in brands:
        kz = [d for d in brand.domains if d.endswith(".kz")]
        if not kz:
            continue
        bases: list[str] = []
        for domain in kz:
            label = _extractor()(domain).domain
            bases.append(label)
            for variant, kind in _dnstwist_labels(domain):
                add(variant, brand.key, f"dnstwist:{kind}", label)
        for stem in brand.stems:
            norm = _stem_label(stem)
            if len(norm) >= 4 and norm not in bases:
                bases.append(norm)
        for base in [b for b in bases if len(b) >= 5]:
            for variant in translit_variants(base):
                add(variant, brand.key, "translit", base)
                bases.append(variant)
        for base in dict.fromkeys(b for b in bases if len(b) >= 3):
            for label in lure_labels(base):
                add(label, brand.key, "lure", base)
    return sorted(entries.values(), key=lambda e: (e.brand, e.label))


def write_watchlist(entries: Iterable[WatchEntry], path: Path = WATCHLIST_PATH) -> int:
    import dnstwist

    rows = list(entries)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("# Look-alike labels of the brands' .kz domains (crawler/lookalikes.py).\n")
        out.write(
            f"# Generated with dnstwist {dnstwist.__version__}; regenerate with "
            "`python -m crawler.lookalikes generate`.\n"
        )
        out.write("# label\tbrand\tmethod\tfrom\n")
        for e in rows:
            out.write(f"{e.label}\t{e.brand}\t{e.method}\t{e.origin}\n")
    return len(rows)


# --------------------------------------------------------------------------- using it


def read_watchlist(path: Path = WATCHLIST_PATH) -> dict[str, WatchEntry]:
    """label → entry. A missing file is an empty watch list (the matcher still works)."""
    out: dict[str, WatchEntry] = {}
    if not path.exists():
        return out
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                raise ValueError(f"{path}:{number}: expected 4 tab-separated fields")
            out[parts[0]] = WatchEntry(*parts)
    return out


@lru_cache(maxsize=4)
def _cached_watchlist(path: str) -> dict[str, WatchEntry]:
    return read_watchlist(Path(path))


class LookalikeFilter:
    """Is this host one of ours (``official``), a look-alike of a brand (``lookalike``), or
    neither? The rule engine's domain matcher, then the watch list."""

    def __init__(
        self, matcher: DomainMatcher, watchlist: dict[str, WatchEntry] | None = None
    ) -> None:
        self.matcher = matcher
        self.watchlist = watchlist if watchlist is not None else {}

    @classmethod
    def default(cls, rules_dir: str | None = None) -> LookalikeFilter:
        """With the bundled (or ``rules_dir``) brand lexicon and the bundled watch list."""
        from crawler.rules import load_engine

        return cls(load_engine(rules_dir).domains, _cached_watchlist(str(WATCHLIST_PATH)))

    def check(self, host: str) -> DomainVerdict:
        from crawler.rules.domains import DomainVerdict

        verdict = self.matcher.check(host)
        if verdict.kind or not self.watchlist:
            return verdict
        for label in verdict.domain.split("."):
            entry = self.watchlist.get(label)
            if entry is not None:
                return DomainVerdict(
                    verdict.domain,
                    verdict.registrable,
                    entry.brand,
                    "lookalike",
                    f"watch list: {entry.method} of {entry.origin!r}",
                )
        return verdict


def clean_domain(name: str) -> str | None:
    """A certificate name as a host: lower case, no wildcard, no trailing dot; None when it is
    not a host name (an e-mail address, an IP, a bare label)."""
    host = name.strip().lower().rstrip(".")
    while host.startswith("*."):
        host = host[2:]
    if not host or "." not in host or "@" in host or " " in host or "*" in host:
        return None
    if host.replace(".", "").isdigit() or ":" in host:
        return None
    return host


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m crawler.lookalikes",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="rewrite the watch list from the brand lexicon")
    gen.add_argument("--output", type=Path, default=WATCHLIST_PATH)
    exp = sub.add_parser("expand", help="print the watch list as full domains")
    exp.add_argument("--tld", action="append", help="TLDs (default: the likely ones)")
    args = parser.parse_args(argv)
    if args.command == "generate":
        from crawler.rules import load_engine

        count = write_watchlist(generate(load_engine().ruleset.brands), args.output)
        print(f"{args.output}: {count} look-alike labels")
        return 0
    try:
        for label in read_watchlist():
            for tld in args.tld or LIKELY_TLDS:
                sys.stdout.write(f"{label}.{tld}\n")
        sys.stdout.flush()
    except BrokenPipeError:  # `… expand | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
