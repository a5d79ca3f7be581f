"""Indicators that link ads into campaigns: phones, IBANs, cards, handles, domains, e-mails.

``extract_indicators(text)`` returns :class:`Indicator` objects with normalised values:

* ``phone``     E.164 (``+77470002890``), found with :mod:`phonenumbers` (region KZ);
* ``whatsapp``  E.164 of a ``wa.me`` link or of a phone written next to "WhatsApp"/"ватсап";
* ``telegram``  lower-case handle without ``@`` (``@handle``, ``t.me/handle``);
* ``iban``      compact upper-case IBAN, checksum-validated (:mod:`stdnum.iban`), ``KZ..``
                and others;
* ``card``      13–19 digits passing the Luhn check (:mod:`stdnum.luhn`);
* ``domain``    lower-case registrable domain (``kaspi-invest.top``), IDNA decoded;
* ``email``     lower-case address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from stdnum import iban as std_iban
from stdnum import luhn

from crawler.rules.domains import _extractor, host_of

KINDS = ("phone", "iban", "card", "whatsapp", "telegram", "domain", "email")


@dataclass(frozen=True)
class Indicator:
    kind: str
    value: str
    start: int
    end: int


_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}")
_TG_LINK_RE = re.compile(
    r"(?:https?://)?(?:t|telegram)\.me/(?:s/)?([A-Za-z0-9_]{4,32})", re.IGNORECASE
)
_HANDLE_RE = re.compile(r"(?<![\w@.])@([A-Za-z][A-Za-z0-9_]{3,31})(?![\w@])")
_WA_LINK_RE = re.compile(
    r"(?:https?://)?(?:wa\.me|api\.whatsapp\.com/send\?phone=)/?\+?(\d{10,15})", re.IGNORECASE
)
_WA_WORD_RE = re.compile(
    r"whats\s?app|ватс[аa]п|вотс[аa]п|уатсап|ватсап|wa(?=[\s:])", re.IGNORECASE
)
_IBAN_RE = re.compile(
    r"(?<![A-Z0-9])([A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?)(?![A-Z0-9])"
)
_CARD_RE = re.compile(r"(?<![\d*])(\d{4}(?:[ -]?\d{4}){2}[ -]?\d{1,7})(?![\d])")
_URL_RE = re.compile(r"(?:https?://)[^\s<>\"'«»]+", re.IGNORECASE)
_DOMAIN_RE = re.compile(
    r"(?<![\w@.\-/])((?:[a-z0-9\u0400-\u04ff](?:[a-z0-9\u0400-\u04ff\-]{0,61}[a-z0-9\u0400-\u04ff])?\.)+"
    r"(?:[a-z]{2,12}|xn--[a-z0-9\-]{2,30}|қаз))(?![\w\-])",
    re.IGNORECASE,
)


# Cheap tests that spare most texts the costly passes: a phone number has seven digits or more
# (separated by at most three spaces, dots, dashes or brackets); a bare domain has a letter or
# digit, a dot and two letters.
_PHONE_HINT_RE = re.compile(r"\d(?:[\s().\-]{0,3}\d){6}")
_DOMAIN_HINT_RE = re.compile(r"[a-z0-9\u0400-\u04ff]\.(?:[a-z]{2}|xn--|қаз)", re.IGNORECASE)


@lru_cache(maxsize=1)
def _known_suffixes() -> frozenset[str]:
    return frozenset(s.rsplit(".", 1)[-1] for s in _extractor().tlds)


def _domain(candidate: str) -> str | None:
    host = host_of(candidate)
    if "." not in host or any(len(lab) == 0 for lab in host.split(".")):
        return None
    ext = _extractor()(host)
    if not ext.suffix or not ext.domain:
        return None
    return f"{ext.domain}.{ext.suffix}"


def extract_indicators(text: str) -> list[Indicator]:
    """Every indicator in ``text``, in order of appearance (spans are of ``text``)."""
    if not text:
        return []
    out: list[Indicator] = []
    taken: list[tuple[int, int]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    for m in _EMAIL_RE.finditer(text):
        out.append(Indicator("email", m.group().lower(), m.start(), m.end()))
        taken.append(m.span())
    for m in _WA_LINK_RE.finditer(text):
        out.append(Indicator("whatsapp", "+" + m.group(1), m.start(), m.end()))
        taken.append(m.span())
    for m in _TG_LINK_RE.finditer(text):
        out.append(Indicator("telegram", m.group(1).lower(), m.start(), m.end()))
        taken.append(m.span())
    for m in _HANDLE_RE.finditer(text):
        if free(*m.span()):
            out.append(Indicator("telegram", m.group(1).lower(), m.start(), m.end()))
            taken.append(m.span())
    for m in _IBAN_RE.finditer(text):
        compact = re.sub(r"\s", "", m.group(1))
        if std_iban.is_valid(compact):
            out.append(Indicator("iban", compact, m.start(1), m.end(1)))
            taken.append(m.span(1))
    for m in _CARD_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group(1))
        if 13 <= len(digits) <= 19 and free(*m.span(1)) and luhn.is_valid(digits):
            out.append(Indicator("card", digits, m.start(1), m.end(1)))
            taken.append(m.span(1))
    wa_words = [m.end() for m in _WA_WORD_RE.finditer(text)]
    phones = (
        phonenumbers.PhoneNumberMatcher(text, "KZ", leniency=phonenumbers.Leniency.POSSIBLE)
        if _PHONE_HINT_RE.search(text)
        else ()
    )
    for pm in phones:
        s, e = pm.start, pm.end
        if not free(s, e):
            continue
        e164 = phonenumbers.format_number(pm.number, phonenumbers.PhoneNumberFormat.E164)
        out.append(Indicator("phone", e164, s, e))
        taken.append((s, e))
        if any(0 <= s - w <= 40 for w in wa_words):
            out.append(Indicator("whatsapp", e164, s, e))
    for m in _URL_RE.finditer(text):
        d = _domain(m.group())
        if d:
            out.append(Indicator("domain", d, m.start(), m.end()))
            taken.append(m.span())
    suffixes = _known_suffixes()
    for m in _DOMAIN_RE.finditer(text) if _DOMAIN_HINT_RE.search(text) else ():
        if not free(*m.span(1)):
            continue
        tld = m.group(1).rsplit(".", 1)[-1].lower()
        if tld not in suffixes and not tld.startswith("xn--"):
            continue
        d = _domain(m.group(1))
        if d:
            out.append(Indicator("domain", d, m.start(1), m.end(1)))
    out.sort(key=lambda i: (i.start, i.kind))
    return out
