"""The rule engine: signals from every field, weighted rules, one explained verdict per ad."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from itertools import compress
from typing import NamedTuple

from crawler.rules import signals as builtin
from crawler.rules.brands import NameMatcher
from crawler.rules.domains import DomainMatcher
from crawler.rules.learned import RULE_ID as LEARNED_RULE
from crawler.rules.learned import LearnedLexicon, blend, mark_script_words, model_text
from crawler.rules.lexicon import TermScanner
from crawler.rules.loader import RuleSet
from crawler.rules.model import FiredRule, Match, Rule, Verdict
from crawler.rules.normalize import Normalized, normalize, whole_word_starts
from crawler.rules.prefilter import PatternGate

FIELDS = ("title", "text", "advertiser", "url")
MAX_FIELD = 200_000  # characters of one field that are analysed (1 MB ads are cut, not refused)
_DIGIT_RE = re.compile(r"\d")
_HASHTAG_RE = re.compile(r"#([a-z0-9_]{4,})")
_BRAND_SIGNALS = ("brand", "brand_weak", "brand_glued", "lookalike_domain", "official_domain")


class _Hit(NamedTuple):
    start: int  # in the normalised document (or in the original document when ``mapped``)
    end: int
    brand: str | None = None
    mapped: bool = False


class _Doc(NamedTuple):
    """The ad's fields joined: the normalised text and where each field sits in the original."""

    norm: Normalized
    fields: tuple[tuple[str, int, int], ...]

    def locate(self, h: _Hit) -> tuple[str, int, int, str]:
        """(field, start, end, text) of a hit in the original field."""
        if h.mapped:
            s, e = h.start, h.end
        else:
            # A stem hit ("ежемесячн*") is shown up to the end of its word.
            text, end = self.norm.text, h.end
            while end < len(text) and text[end].isalnum() and end - h.end < 30:
                end += 1
            s, e = self.norm.span(h.start, end)
        for field, fs, fe in self.fields:
            if fs <= s <= fe:
                e = min(e, fe)
                return field, s - fs, e - fs, self.norm.original[s:e]
        return "", s, e, self.norm.original[s:e]


_NAME_SIGNAL = {"person": "person", "weak": "brand_weak", "glued": "brand_glued"}
_DOC_SEP = "\n\n\n\n"  # longer than any phrase gap (3 characters): phrases never cross fields
_MAX_HITS = 64  # hits kept per signal (1 MB ads stay linear)
_LEARNED_EVIDENCE = 5  # n-grams of the learned lexicon shown as evidence


class Engine:
    """Classifies ads with a :class:`~crawler.rules.loader.RuleSet`. Thread-safe for reading."""

    def __init__(self, ruleset: RuleSet, *, learned: bool = True):
        self.ruleset = ruleset
        # The learned lexicon (data/learned_lexicon.json) blended with the rules' verdict, with the
        # weight decision.learned_weight; ``learned=False`` gives the rules alone.
        self.learned: LearnedLexicon | None = None
        self.learned_weight = ruleset.decision.learned_weight
        self.min_known = ruleset.decision.learned_min_terms
        if learned and self.learned_weight < 1.0:
            self.learned = ruleset.learned_model
        self.ruleset_version = ruleset.version
        self.rules: tuple[Rule, ...] = tuple(r for r in ruleset.rules if r.status != "deprecated")
        self.names = NameMatcher(ruleset.brands, ruleset.people, ruleset.matching)
        self.domains = DomainMatcher(ruleset.brands, ruleset.matching)
        self.scanner = TermScanner({s.name: s.terms for s in ruleset.signals})
        self.patterns = [
            (s.name, p, frozenset(gate)) for s in ruleset.signals for p, gate in s.patterns
        ]
        # Which patterns can match an ad: their gates and literal prefilters, in one pass.
        self._pattern_gate = PatternGate(self.patterns)
        self._masks = [(s.name, s.masked_by) for s in ruleset.signals if s.masked_by]
        # Each rule's weights as two columns, summed over the signals present at C speed.
        self._weight_cols = {
            r.id: (tuple(sig for sig, _w in r.weights), tuple(w for _sig, w in r.weights))
            for r in self.rules
        }
        # Signals that some rule counts (name@2, name@3): only these need distinct-hit counting.
        self.max_evidence = ruleset.decision.max_evidence_per_rule
        self._evidence_order = {
            r.id: sorted(
                ((sig, w) for sig, w in r.weights if w > 0 and "@" not in sig),
                key=lambda sw: (sw[0] not in _BRAND_SIGNALS, -sw[1]),
            )
            for r in self.rules
        }
        self._counted = {w.split("@", 1)[0] for r in self.rules for w, _ in r.weights if "@" in w}
        self.precedence = ruleset.decision.precedence
        self.scale = ruleset.decision.score_scale
        self.hashtag_min = ruleset.decision.hashtag_min_len

    # -- signals ------------------------------------------------------------------------------
    def signals(self, ad: Mapping[str, object]) -> tuple[dict[str, list[_Hit]], _Doc]:
        """Every signal of the ad with its hits.

        The fields are analysed as one document (title, text, advertiser and url joined by a
        separator no phrase can cross), so each step runs once per ad; hits are attributed back to
        their field when a verdict is explained.
        """
        doc, url_value = document(ad)
        norm = doc.norm
        pos = len(norm.original)
        original = norm.original
        text = norm.text
        found: dict[str, list[_Hit]] = {}

        def add(sig: str, hit: _Hit) -> None:
            bucket = found.get(sig)
            if bucket is None:
                found[sig] = [hit]
            elif len(bucket) < _MAX_HITS:
                bucket.append(hit)

        for h in self.scanner.scan(text):
            add(h.signal, _Hit(h.start, h.end))
        for word in norm.joined:
            # Letters written apart run words together (F.i.n.a.n.c.i.a.l R_e_c_o_v_e_r_y):
            # look for terms inside.
            base = text.find(word)
            if base >= 0 and len(word) >= 2 * self.hashtag_min:
                for h in self.scanner.scan(word, infix=True):
                    if h.end - h.start >= self.hashtag_min:
                        add(h.signal, _Hit(base + h.start, base + h.end))
        if "#" in text:
            # Hashtags glue words together (#пассивныйдоход): look for terms inside them.
            for hm in _HASHTAG_RE.finditer(text):
                base = hm.start(1)
                for h in self.scanner.scan(hm.group(1), infix=True):
                    if h.end - h.start >= self.hashtag_min:
                        add(h.signal, _Hit(base + h.start, base + h.end))
        if url_value:
            v = self.domains.check(url_value)
            if v.kind:
                sig = "official_domain" if v.kind == "official" else "lookalike_domain"
                add(sig, _Hit(pos - len(url_value), pos, v.brand, True))
        for nh in self.names.find(norm):
            add(_NAME_SIGNAL.get(nh.kind, "brand"), _Hit(nh.start, nh.end, nh.key, nh.mapped))
            if nh.glued_word:
                # kaspismartinvest, halykdohod: the words glued to the brand count too.
                gs, ge = nh.glued_word
                for h in self.scanner.scan(text[gs:ge], infix=True):
                    if h.end - h.start >= self.hashtag_min:
                        add(h.signal, _Hit(gs + h.start, gs + h.end))
        for name, pat in self._pattern_gate.runnable(text):
            m = pat.search(text)
            if m:
                add(name, _Hit(m.start(), m.end()))
        # Masks apply in the order of signals.yaml: a hit dropped by one mask covers nothing later.
        for sig, by in self._masks:
            if sig in found:
                _mask(found, sig, [h for b in by for h in found.get(b, ())])
        minutes = _russian_minutes(norm) if "min" in text else None
        if minutes:
            # «мин» (minutes) and Kazakh «мың» (thousand) are one skeleton, "min": the spelling
            # as written tells them apart.
            words = [h for h in found.get("money_words", ()) if (h.start, h.end) not in minutes]
            if words:
                found["money_words"] = words
            else:
                found.pop("money_words", None)
        if _DIGIT_RE.search(text) is not None:
            amounts = builtin.amounts(text)
            if minutes:
                amounts = [a for a in amounts if not _ends_in(minutes, a[1], a[2])]
            g = None
            if amounts:
                for a in amounts:
                    add("money", _Hit(a[1], a[2]))
                g = builtin.growth(amounts, self.ruleset.growth, text)
            if g:
                add("growth", _Hit(g[0], g[1]))
            if self.ruleset.growth_periods and not g:
                # Below the general ratio only: a multiple is "growth" whatever the period.
                pg = self._period_growth(text, amounts, found)
                if pg:
                    add("period_growth", _Hit(pg[0], pg[1]))
            if "%" in text or "procent" in text or "paiiz" in text or "paiz" in text:
                for pm in builtin.PCT_RE.finditer(text):
                    add("pct", _Hit(pm.start(), pm.end()))
            for m in builtin.PHONE_RE.finditer(text):
                if not (m.start() and text[m.start() - 1].isdigit()):
                    add("phone", _Hit(m.start(), m.end()))
                    break
        hs = builtin.handle(text)
        if hs:
            add("handle", _Hit(hs[0], hs[1]))
        # Domains in the text as written, and as normalised (a TLD in look-alike letters: .сliсk).
        # A host already read as written is not read again from the skeleton, where the official
        # halykbank.kz becomes "halikbank.kz", one letter away from itself.
        seen_lookalike = False
        as_written: list[tuple[int, int]] = []
        for source, mapped in ((original, True), (text, False)):
            for host, hs, he in builtin.domains_in(source):
                if sum(1 for lab in host.split(".") if len(lab) == 1) >= 2:
                    continue  # H.a.l.y.k is a spaced word, not a domain
                if mapped:
                    as_written.append((hs, he))
                elif as_written:
                    os_, oe = norm.span(hs, he)
                    if any(os_ < e and s < oe for s, e in as_written):
                        continue
                v = self.domains.check(host)
                if v.kind == "lookalike":
                    add("lookalike_domain", _Hit(hs, he, v.brand, mapped))
                    seen_lookalike = True
            if seen_lookalike:
                break
        for nd in self.ruleset.near:
            hit = self._near(nd, found, text)
            if hit is not None:
                add(nd.name, hit)
        for sig in self.ruleset.quoted_of:
            for h in found.get(sig, ()):
                quote = None if h.mapped else _quote_around(text, h.start, h.end)
                if quote is None:
                    continue
                # A first-person story in quotes is a testimonial, not a citation.
                if any(quote[0] <= t.start < quote[1] for t in found.get("testimonial", ())):
                    continue
                # The scheme's own name (проект «Финансовая свобода») is not a citation either.
                if self._is_name(text, quote, found):
                    continue
                add("quoted_claim", _Hit(h.start, h.end))
                break
        return found, doc

    def _is_name(self, text: str, quote: tuple[int, int], found: dict[str, list[_Hit]]) -> bool:
        """Whether a quotation names something rather than cites it.

        A name follows a word that introduces one (``quoted_claim.name_after``: проект «…»,
        платформа «…», жоба «…»), or is a short heading: a quote of at most four words and no
        figures that opens its line and is followed by a colon or a dash («ЗОЛОТОЙ ПУЛ» — …).
        """
        qs, qe = quote
        for sig in self.ruleset.quoted_name_after:
            for h in found.get(sig, ()):
                if not h.mapped and 0 <= qs - h.end <= 3 and not text[h.end : qs].strip(" "):
                    return True
        line_start = text.rfind("\n", 0, qs) + 1
        inner = text[qs + 1 : qe - 1]
        if text[line_start:qs].strip(" -–—*•") or _DIGIT_RE.search(inner) or len(inner.split()) > 4:
            return False
        rest = text[qe : qe + 4].lstrip(" ")
        return rest[:1] in (":", "—", "–", "-")

    def _period_growth(
        self, text: str, amounts: list[tuple[float, int, int]], found: dict[str, list[_Hit]]
    ) -> tuple[int, int] | None:
        """Growth below the general ratio, counted when a short period is named next to it.

        ``growth.periods`` maps a period signal to the ratio that is already a scam over that
        period (+8 % by the evening or in a week, +25 % in a month), while +15 % a year (a
        deposit) stays below every ratio. A bare figure after an amount takes the amount's unit
        (с 60 тысяч вышло 210; 100 мың салам, кешке 115), and two bare figures count when an
        arrow joins them (500 → 590); ranges (12 000–15 000, от … до …) never do.
        """
        params = self.ruleset.growth
        pw = int(params.get("period_window", 40))
        bare: list[tuple[float, int, int]] | None = None
        for sig, ratio in self.ruleset.growth_periods:
            hits = [h for h in found.get(sig, ()) if not h.mapped]
            if not hits:
                continue
            if bare is None:
                bare = builtin.bare_numbers(text, amounts)
            for s, e in builtin.growth_pairs(text, amounts, bare, params, ratio):
                if any(s - pw <= h.start and h.end <= e + pw for h in hits):
                    return s, e
        return None

    @staticmethod
    def _near(nd, found: dict[str, list[_Hit]], text: str) -> _Hit | None:  # type: ignore[no-untyped-def]
        """Two signals at most ``nd.window`` characters apart, in the same field and, unless
        ``nd.across_lines``, on the same line (not two items of a list)."""
        firsts = [h for sig in nd.first for h in found.get(sig, ()) if not h.mapped]
        if not firsts:
            return None
        thens = [h for sig in nd.then for h in found.get(sig, ()) if not h.mapped]
        for a in firsts:
            for b in thens:
                if 0 <= b.start - a.end <= nd.window:
                    gap = (a.end, b.start)
                elif nd.either_order and 0 <= a.start - b.end <= nd.window:
                    gap = (b.end, a.start)
                else:
                    continue
                between = text[gap[0] : gap[1]]
                if _DOC_SEP not in between and (nd.across_lines or "\n" not in between):
                    return _Hit(min(a.start, b.start), max(a.end, b.end))
        return None

    def model_input(self, doc: _Doc, url: str) -> str:
        """What the learned lexicon reads of an ad (training reads the same)."""
        dec = self.ruleset.decision
        text = mark_script_words(doc.norm, dec.learned_script_words)
        return model_text(text, url, dec.learned_platform_hosts)

    # -- verdict ------------------------------------------------------------------------------
    def rule_score(self, rule: Rule, present: set[str], brands: set[str]) -> float | None:
        """The rule's score, or ``None`` when its requirements are not met."""
        if rule.brands and not brands.intersection(rule.brands):
            return None
        if rule.require_all and not present.issuperset(rule.require_all):
            return None
        for group in rule.require_any:
            if present.isdisjoint(group):
                return None
        sigs, weights = self._weight_cols[rule.id]
        # Rounded: weights are decimals, and a sum that is the threshold in decimals fires whatever
        # the float order of summation (Python 3.12 changed sum() of floats).
        return round(math.fsum(compress(weights, map(present.__contains__, sigs))), 9)

    def present_signals(self, found: Mapping[str, list[_Hit]], doc: _Doc) -> set[str]:
        """Signal names present, plus ``name@2`` / ``name@3`` for 2 or 3 distinct matched words."""
        present = set(found)
        for sig in self._counted.intersection(found):
            hits = found[sig]
            if len(hits) < 2:
                continue
            words = set()
            for h in hits:
                words.add((h.start,) if h.mapped else doc.norm.text[h.start : h.end])
                if len(words) >= 3:
                    break
            if len(words) >= 2:
                present.add(sig + "@2")
            if len(words) >= 3:
                present.add(sig + "@3")
        return present

    def classify(self, ad: Mapping[str, object]) -> Verdict:
        found, doc = self.signals(ad)
        present = self.present_signals(found, doc)
        brand_order: list[str] = []
        for sig in _BRAND_SIGNALS:
            for h in found.get(sig, ()):
                if h.brand and h.brand not in brand_order and not self.names.is_person(h.brand):
                    brand_order.append(h.brand)
        brands = set(brand_order)
        fired: list[tuple[Rule, float]] = []
        best_unfired = -math.inf
        for rule in self.rules:
            s = self.rule_score(rule, present, brands)
            if s is None:
                continue
            z = (s - rule.threshold) / self.scale
            if s >= rule.threshold:
                fired.append((rule, z))
            else:
                best_unfired = max(best_unfired, z)
        label = "legit"
        for lab in self.precedence:
            if any(r.label == lab for r, _ in fired):
                label = lab
                break
        if label == "legit":
            score = 1.0 - _sigmoid(best_unfired) if best_unfired > -math.inf else 1.0
        else:
            score = _sigmoid(max(z for r, z in fired if r.label == label))
        learned_terms: list[tuple[str, float]] = []
        if self.learned is not None:
            lex = self.learned
            url = ad.get("url")
            pred = lex.predict(self.model_input(doc, str(url) if url else ""))
            rules_label = label
            label, score = blend(
                pred.probs, lex.labels, label, self.learned_weight, pred.known, self.min_known
            )
            model_label = lex.labels[max(range(len(pred.probs)), key=pred.probs.__getitem__)]
            # The lexicon is shown when it decided (changed the rules' label) or backs a flag.
            if label != rules_label or (label != "legit" and model_label == label):
                learned_terms = lex.top_terms(pred, label, 2 * _LEARNED_EVIDENCE)
        fired.sort(key=lambda rz: (rz[0].label != label, -rz[1]))
        # Evidence: per fired rule, its strongest signals present (brands and domains first), one
        # hit each (two for brands); a span already shown for an earlier rule is not repeated.
        matches: list[Match] = []
        mapped: dict[_Hit, tuple[str, int, int, str]] = {}
        shown: set[tuple[str, _Hit]] = set()
        limit = self.max_evidence
        for rule, _z in fired:
            n = 0
            for sig, _w in self._evidence_order[rule.id]:
                if sig not in found or n >= limit:
                    continue
                n += 1
                for h in found[sig][: 2 if sig in _BRAND_SIGNALS else 1]:
                    if (sig, h) in shown:
                        continue
                    shown.add((sig, h))
                    if h not in mapped:
                        mapped[h] = doc.locate(h)
                    field, s, e, txt = mapped[h]
                    matches.append(Match(rule.id, h.brand, field, s, e, txt, sig))
        fired_rules = [FiredRule(r.id, r.version) for r, _ in fired]
        if learned_terms:
            shown_terms = 0
            # The strongest n-grams, words of one or two letters (в, i) shown last.
            for term, _push in sorted(learned_terms, key=lambda tp: len(tp[0]) < 3):
                loc = _locate_term(doc, term)
                if loc is not None:
                    matches.append(Match(LEARNED_RULE, None, *loc, term))
                    shown_terms += 1
                    if shown_terms >= _LEARNED_EVIDENCE:
                        break
            if shown_terms:
                assert self.learned is not None
                # After the rules of the verdict's label (``fired`` lists those first).
                at = sum(1 for r, _ in fired if r.label == label)
                fired_rules.insert(at, FiredRule(LEARNED_RULE, self.learned.version))
        return Verdict(
            label=label,
            score=score,
            brands=tuple(brand_order),
            rules=tuple(fired_rules),
            matches=tuple(matches),
            signals=tuple(sorted(present)),
        )


_RU_MINUTES_RE = re.compile(r"(?<![^\W\d_])[мМ][иИ][нН](?![^\W\d_])")
_MIN_WORD_RE = re.compile(r"(?<![a-z])min(?![a-z])")


def _russian_minutes(norm: Normalized) -> set[tuple[int, int]]:
    """Spans of the skeleton's word "min" that are written «мин» (Russian minutes), not «мың»."""
    if _RU_MINUTES_RE.search(norm.original) is None:
        return set()
    out = set()
    for m in _MIN_WORD_RE.finditer(norm.text):
        s, e = norm.span(m.start(), m.end())
        if _RU_MINUTES_RE.fullmatch(norm.original, s, e):
            out.add((m.start(), m.end()))
    return out


def _mask(found: dict[str, list[_Hit]], sig: str, covers: list[_Hit]) -> None:
    """Drop the hits of ``sig`` inside one of ``covers`` (and the signal if none is left)."""
    if not covers:
        return
    kept = [h for h in found[sig] if not any(c.start <= h.start and h.end <= c.end for c in covers)]
    if kept:
        found[sig] = kept
    else:
        del found[sig]


def _ends_in(spans: set[tuple[int, int]], start: int, end: int) -> bool:
    """Whether the amount [start, end) ends with one of ``spans`` (its unit), spaces aside."""
    return any(start < s and e <= end + 1 for s, e in spans)


def document(ad: Mapping[str, object]) -> tuple[_Doc, str]:
    """The ad's fields joined into one normalised document, and the url as given.

    Title, text, advertiser and url are joined by a separator no phrase can cross; each field's
    span in the joined original is kept to attribute hits back to their field. The learned
    lexicon is trained and applied on this same document's normalised text.
    """
    parts: list[str] = []
    spans: list[tuple[str, int, int]] = []
    url_value = ""
    pos = 0
    for field in FIELDS:
        raw = ad.get(field)
        if raw is None or raw == "":
            continue
        value = raw if isinstance(raw, str) else str(raw)
        if len(value) > MAX_FIELD:
            value = value[:MAX_FIELD]
        if parts:
            parts.append(_DOC_SEP)
            pos += len(_DOC_SEP)
        parts.append(value)
        spans.append((field, pos, pos + len(value)))
        pos += len(value)
        if field == "url":
            url_value = value
    original = "".join(parts)
    return _Doc(normalize(original), tuple(spans)), url_value


_NEXT_WORD_RE = re.compile(r"[^a-z0-9]*([a-z0-9]+)")


def _locate_term(doc: _Doc, term: str) -> tuple[str, int, int, str] | None:
    """(field, start, end, original text) of the first occurrence of a word n-gram of the
    normalised document, or ``None`` if it spans two fields (or cannot be mapped back)."""
    first, *rest = term.split(" ")
    text = doc.norm.text
    for pos in whole_word_starts(text, first):
        end = pos + len(first)
        for w in rest:
            m = _NEXT_WORD_RE.match(text, end)
            if m is None or m.group(1) != w:
                break
            end = m.end(1)
        else:
            s, e = doc.norm.span(pos, end)
            for field, fs, fe in doc.fields:
                if fs <= s and e <= fe:
                    return (field, s - fs, e - fs, doc.norm.original[s:e]) if e > s else None
            return None
    return None


_OPEN_Q, _CLOSE_Q = "«“„\"'", "»”“\"'"


def _quote_around(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The quotation (on its line, at most 200 chars away) that ``text[start:end]`` stands in.

    A quote that holds most of the text is a forwarded message, not a citation: it does not count.
    """
    left = text.rfind("\n", 0, start) + 1
    lo = max(left, start - 200)
    before = text[lo:start]
    pos = max(before.rfind(q) for q in _OPEN_Q)
    if pos < 0:
        return None
    opener = before[pos]
    if opener in "\"'":
        # A straight quote opens only if an odd number of them precede on the line.
        if before.count(opener) % 2 == 0:
            return None
    elif any(c in before[pos + 1 :] for c in "»”"):
        return None
    after = text[end : end + 200]
    stop = after.find("\n")
    after = after if stop < 0 else after[:stop]
    close = min((after.find(c) for c in "»”“\"'" if c in after), default=-1)
    if close < 0:
        return None
    qs, qe = lo + pos, end + close + 1
    if qe - qs >= 0.6 * len(text.strip()):
        return None
    return qs, qe


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
