"""Load and validate the rule data (brands, people, signals, rules) with file:line problems.

:func:`load_ruleset` never stops at the first problem: it returns every problem it finds, so
``scamradar rules lint`` can show them all at once; :func:`crawler.rules.load_engine` refuses to
start when there is any.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.errors import ConfigError
from crawler.rules.brands import Brand, MatchingSettings, Person
from crawler.rules.lexicon import (
    TermSpec,
    expand_pattern,
    parse_term,
    pattern_refs,
    term_alternation,
)
from crawler.rules.model import LABELS, SCAM_LABELS, STATUSES, Example, Rule
from crawler.rules.normalize import normalize_term
from crawler.rules.signals import MACROS as BUILTIN_MACROS
from crawler.rules.yamlsrc import LDict, LList, line_of, load_yaml

DEFAULT_DATA_DIR = Path(__file__).parent / "data"

# Signals computed in code (crawler.rules.signals); rules may use them like lexicon signals.
BUILTIN_SIGNALS = {
    "brand": "a brand named by a strong alias, glued into a word, or fuzzily",
    "brand_weak": "a brand named only by a weak alias (colour, product, app)",
    "brand_glued": "a brand name glued into another word or handle (halykdohod)",
    "person": "a watched public figure (people.yaml) is named",
    "lookalike_domain": "a URL or domain that imitates a brand's official domain",
    "official_domain": "the ad's URL is on an official brand domain",
    "growth": "two amounts where the later is a multiple of the earlier (50к → 280к)",
    "period_growth": "amounts that grow over a named short period (200к утром → 228к вечером; "
    "growth.periods)",
    "money": "an amount of money",
    "pct": "a percentage",
    "phone": "a phone number",
    "quoted_claim": "a promised return or guarantee cited inside quotes (news, warnings)",
    "handle": "a messenger handle, bot or t.me / wa.me link",
}
_RULE_KEYS = {
    "id",
    "version",
    "status",
    "label",
    "description",
    "falsepositives",
    "signals",
    "threshold",
    "require_any",
    "require_all",
    "brands",
    "examples",
    "todo_positive",
    "todo_negative",
    "author",
    "references",
    "tags",
}
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class SignalDef:
    name: str
    description: str
    terms: tuple[TermSpec, ...]
    patterns: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]  # (regex, gate strings)
    # Hits inside a hit of one of these signals do not count («гарант» of «не гарантирован»).
    masked_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class NearDef:
    """A signal that holds when a hit of ``first`` is followed (or preceded) by ``then`` nearby."""

    name: str
    description: str
    first: tuple[str, ...]
    then: tuple[str, ...]
    window: int
    either_order: bool
    across_lines: bool = False  # whether the two may stand on different lines


@dataclass(frozen=True)
class Decision:
    precedence: tuple[str, ...]
    score_scale: float
    hashtag_min_len: int = 4
    max_evidence_per_rule: int = 8
    # Weight of the rules' verdict in the blend with the learned lexicon (1 = rules alone).
    learned_weight: float = 1.0
    # The lexicon may flag what the rules left legit only when it knows this many of the
    # document's distinct n-grams (short texts it barely knows are not evidence).
    learned_min_terms: int = 0
    # Hosts whose urls are a post's address on the platform read (t.me, vk.com): not model input.
    learned_platform_hosts: tuple[str, ...] = ()
    # Words (skeleton form) whose Cyrillic spelling is another word than their Latin one
    # (портфолио = work samples, portfolio = investments): the lexicon reads them apart.
    learned_script_words: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleSet:
    brands: tuple[Brand, ...]
    people: tuple[Person, ...]
    matching: MatchingSettings
    signals: tuple[SignalDef, ...]
    near: tuple[NearDef, ...]
    rules: tuple[Rule, ...]
    decision: Decision
    growth: Mapping[str, float]
    quoted_of: tuple[str, ...]
    version: str
    # Signals after which a quote is a name (проект «…»), not a citation (quoted_claim.name_after).
    quoted_name_after: tuple[str, ...] = ()
    # (signal, min_ratio): a period named near two amounts lowers the growth ratio needed
    # (growth.periods: 200к утром → 228к вечером is a scam, +14% a year is a deposit).
    growth_periods: tuple[tuple[str, float], ...] = ()
    files: tuple[str, ...] = field(default=())
    learned: str = ""  # path of the learned lexicon (learned_lexicon.json), "" if there is none
    learned_model: Any = None  # the LearnedLexicon, loaded when the blend uses it


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: Path | str, line: int, message: str) -> None:
        self.problems.append(Problem(str(path), line, message))


def _strs(value: Any, path: Path, line: int, what: str, c: _Collector) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        c.add(path, line, f"{what} must be a list of strings")
        return ()
    return tuple(str(v) for v in value)


def _load_brands(path: Path, c: _Collector) -> tuple[list[Brand], MatchingSettings | None]:
    data = load_yaml(path)
    if not isinstance(data, LDict) or not isinstance(data.get("brands"), LDict):
        c.add(path, line_of(data), "expected a mapping with 'brands'")
        return [], None
    m = data.get("matching")
    settings = None
    try:
        settings = MatchingSettings(
            fuzzy_min_len=int(m["fuzzy_min_len"]),
            fuzzy_max_len=int(m["fuzzy_max_len"]),
            fuzzy_cutoffs=tuple((int(a), float(b)) for a, b in m["fuzzy_cutoffs"]),
            domain_max_distance=tuple((int(a), int(b)) for a, b in m["domain_max_distance"]),
            lure_words=tuple(str(w) for w in m.get("lure_words") or ()),
            fuzzy_same_first_max_len=int(m.get("fuzzy_same_first_max_len", 0)),
        )
    except (TypeError, KeyError, ValueError) as exc:
        c.add(path, line_of(data, "matching"), f"bad 'matching' section: {exc!r}")
    brands = []
    bdata = data["brands"]
    for key, b in bdata.items():
        line = line_of(bdata, key)
        if not isinstance(b, LDict):
            c.add(path, line, f"brand {key!r} must be a mapping")
            continue
        for req in ("name", "names", "domains"):
            if not b.get(req):
                c.add(path, line, f"brand {key!r} has no {req!r}")
        unknown = set(b) - {
            "name",
            "names",
            "weak",
            "stems",
            "not_brand",
            "common_words",
            "domains",
            "accounts",
        }
        for u in sorted(unknown):
            c.add(path, line_of(b, u), f"brand {key!r}: unknown key {u!r}")
        domains = _strs(b.get("domains"), path, line_of(b, "domains"), "domains", c)
        for d in domains:
            if "." not in d or "/" in d or d != d.lower().strip():
                c.add(
                    path, line_of(b, "domains"), f"brand {key!r}: {d!r} is not a lower-case domain"
                )
        brands.append(
            Brand(
                key=str(key),
                name=str(b.get("name") or key),
                names=_strs(b.get("names"), path, line_of(b, "names"), "names", c),
                weak=_strs(b.get("weak"), path, line_of(b, "weak"), "weak", c),
                stems=_strs(b.get("stems"), path, line_of(b, "stems"), "stems", c),
                not_brand=frozenset(_strs(b.get("not_brand"), path, line, "not_brand", c)),
                common_words=frozenset(_strs(b.get("common_words"), path, line, "common_words", c)),
                domains=domains,
                accounts=_strs(b.get("accounts"), path, line, "accounts", c),
            )
        )
    return brands, settings


def _load_people(path: Path, c: _Collector) -> list[Person]:
    data = load_yaml(path)
    if not isinstance(data, LDict) or not isinstance(data.get("people"), LDict):
        c.add(path, line_of(data), "expected a mapping with 'people'")
        return []
    out = []
    for key, p in data["people"].items():
        line = line_of(data["people"], key)
        if not isinstance(p, LDict) or not p.get("names") or not p.get("role"):
            c.add(path, line, f"person {key!r} needs 'role' and 'names'")
            continue
        out.append(Person(str(key), str(p["role"]), _strs(p["names"], path, line, "names", c)))
    return out


_NEAR_OPERANDS_BUILTIN = {"money", "pct"}
_NEAR_KEYS = {"description", "first", "then", "window", "either_order", "across_lines"}
_SIGNAL_KEYS = {"description", "terms", "patterns", "masked_by"}


def _load_near(data: LDict, path: Path, lexicon: set[str], c: _Collector) -> list[NearDef]:
    out = []
    near = data.get("near") or LDict()
    for name, d in near.items():
        line = line_of(near, name)
        if not isinstance(d, LDict):
            c.add(path, line, f"near signal {name!r} must be a mapping")
            continue
        if name in lexicon or name in BUILTIN_SIGNALS:
            c.add(path, line, f"near signal {name!r} duplicates a signal name")
        for key in set(d) - _NEAR_KEYS:
            c.add(path, line_of(d, key), f"near signal {name!r}: unknown key {key!r}")
        first = _strs(d.get("first"), path, line, "first", c)
        then = _strs(d.get("then"), path, line, "then", c)
        for op in (*first, *then):
            if op not in lexicon and op not in _NEAR_OPERANDS_BUILTIN:
                c.add(path, line, f"near signal {name!r}: unknown operand {op!r}")
        if not first or not then:
            c.add(path, line, f"near signal {name!r} needs 'first' and 'then'")
        out.append(
            NearDef(
                str(name),
                str(d.get("description") or ""),
                first,
                then,
                int(d.get("window", 30)),
                bool(d.get("either_order", False)),
                bool(d.get("across_lines", False)),
            )
        )
    return out


def _load_signals(
    path: Path, c: _Collector
) -> tuple[
    list[SignalDef],
    Decision | None,
    dict[str, float],
    list[NearDef],
    tuple[str, ...],
    dict[str, Any],
]:
    data = load_yaml(path)
    if not isinstance(data, LDict) or not isinstance(data.get("signals"), LDict):
        c.add(path, line_of(data), "expected a mapping with 'signals'")
        return [], None, {}, [], (), {}
    refs: dict[str, str] = dict(BUILTIN_MACROS)
    macros = data.get("macros") or LDict()
    vocab = data.get("vocab") or LDict()
    for name, body in macros.items():
        refs[str(name)] = str(body)
    for name, terms in vocab.items():
        specs = [s for s in (parse_term(str(t)) for t in terms or ()) if s]
        refs[str(name)] = term_alternation(specs)
    signals = []
    sdata = data["signals"]
    for name, s in sdata.items():
        line = line_of(sdata, name)
        if not isinstance(s, LDict):
            c.add(path, line, f"signal {name!r} must be a mapping")
            continue
        if name in BUILTIN_SIGNALS:
            c.add(path, line, f"signal {name!r} is a built-in signal name")
        for key in set(s) - _SIGNAL_KEYS:
            c.add(path, line_of(s, key), f"signal {name!r}: unknown key {key!r}")
        masked_by = _strs(s.get("masked_by"), path, line, "masked_by", c)
        for other in masked_by:
            if other not in sdata or other == name:
                c.add(path, line, f"signal {name!r}: masked_by {other!r} is no other signal")
        specs = []
        terms = s.get("terms") or LList()
        for i, t in enumerate(terms):
            spec = parse_term(str(t))
            if spec is None:
                c.add(
                    path,
                    line_of(terms, i),
                    f"signal {name!r}: term {t!r} is empty after normalisation",
                )
            else:
                specs.append(spec)
        pats = []
        plist = s.get("patterns") or LList()
        for i, p in enumerate(plist):
            pline = line_of(plist, i)
            gate: tuple[str, ...] = ()
            if isinstance(p, dict):
                gate = _strs(p.get("gate"), path, pline, "gate", c)
                p = p.get("regex", "")
            missing = [r for r in pattern_refs(str(p)) if r not in refs]
            if missing:
                c.add(path, pline, f"signal {name!r}: pattern refers to unknown {missing}")
                continue
            try:
                pats.append((re.compile(expand_pattern(str(p), refs)), gate))
            except re.error as exc:
                c.add(path, pline, f"signal {name!r}: bad pattern: {exc}")
        if not specs and not pats:
            c.add(path, line, f"signal {name!r} has no terms and no patterns")
        signals.append(
            SignalDef(
                str(name), str(s.get("description") or ""), tuple(specs), tuple(pats), masked_by
            )
        )
    dec = data.get("decision") or LDict()
    decision = None
    try:
        decision = Decision(
            precedence=tuple(str(x) for x in dec["precedence"]),
            score_scale=float(dec["score_scale"]),
            hashtag_min_len=int(dec.get("hashtag_min_len", 4)),
            max_evidence_per_rule=int(dec.get("max_evidence_per_rule", 8)),
            learned_weight=float(dec.get("learned_weight", 1.0)),
            learned_min_terms=int(dec.get("learned_min_terms", 0)),
            learned_platform_hosts=tuple(
                str(h).strip().lower() for h in dec.get("learned_platform_hosts") or ()
            ),
            learned_script_words=tuple(
                normalize_term(str(w)) for w in dec.get("learned_script_words") or ()
            ),
        )
        if not 0.0 <= decision.learned_weight <= 1.0:
            c.add(path, line_of(data, "decision"), "decision: learned_weight must be in [0, 1]")
        if decision.learned_min_terms < 0:
            c.add(path, line_of(data, "decision"), "decision: learned_min_terms must be 0 or more")
        for lab in decision.precedence:
            if lab not in SCAM_LABELS:
                c.add(path, line_of(data, "decision"), f"decision: unknown label {lab!r}")
    except (KeyError, TypeError, ValueError) as exc:
        c.add(path, line_of(data, "decision"), f"bad 'decision' section: {exc!r}")
    gdata = data.get("growth") or {}
    growth: dict[str, float] = {}
    periods: list[tuple[str, float]] = []
    try:
        for k, v in gdata.items():
            if k == "periods":
                periods = [(str(sig), float(r)) for sig, r in (v or {}).items()]
            else:
                growth[str(k)] = float(v)
    except (AttributeError, TypeError, ValueError) as exc:
        c.add(path, line_of(data, "growth"), f"bad 'growth' section: {exc!r}")
    near = _load_near(data, path, {s.name for s in signals}, c)
    q = data.get("quoted_claim") or {}
    quoted = _strs(q.get("of"), path, line_of(data, "quoted_claim"), "quoted_claim.of", c)
    name_after = _strs(
        q.get("name_after"), path, line_of(data, "quoted_claim"), "quoted_claim.name_after", c
    )
    known = {s.name for s in signals} | {n.name for n in near}
    for name in (*quoted, *name_after):
        if name not in known:
            c.add(path, line_of(data, "quoted_claim"), f"quoted_claim: unknown signal {name!r}")
    for name, _r in periods:
        if name not in known:
            c.add(path, line_of(data, "growth"), f"growth.periods: unknown signal {name!r}")
    extra = {"quoted_name_after": name_after, "growth_periods": tuple(periods)}
    return signals, decision, {**growth}, near, quoted, extra


def _examples(raw: Any, path: Path, what: str, c: _Collector, line: int) -> tuple[Example, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, LList):
        c.add(path, line, f"{what} must be a list")
        return ()
    out = []
    for i, item in enumerate(raw):
        iline = line_of(raw, i)
        if isinstance(item, str):
            out.append(Example({"text": item}, iline))
        elif isinstance(item, LDict) and any(k in item for k in ("text", "title", "url")):
            bad = set(item) - {"text", "title", "url", "advertiser", "source", "brands", "note"}
            if bad:
                c.add(path, iline, f"{what}[{i}]: unknown keys {sorted(bad)}")
            out.append(Example(dict(item), iline))
        else:
            c.add(path, iline, f"{what}[{i}] must be a string or a mapping with 'text'")
    return tuple(out)


def _load_rule(
    path: Path, known_signals: set[str], brand_keys: set[str], c: _Collector
) -> Rule | None:
    try:
        data = load_yaml(path)
    except ConfigError as exc:
        c.add(path, 0, str(exc))
        return None
    if not isinstance(data, LDict):
        c.add(path, 1, "a rule file must be a mapping")
        return None
    for key in sorted(set(data) - _RULE_KEYS):
        c.add(path, line_of(data, key), f"unknown key {key!r}")
    for req in (
        "id",
        "version",
        "status",
        "label",
        "description",
        "signals",
        "threshold",
        "examples",
    ):
        if req not in data:
            c.add(path, data.line, f"missing {req!r}")
    rid = str(data.get("id") or "")
    if rid and not _ID_RE.match(rid):
        c.add(path, line_of(data, "id"), f"id {rid!r} must be dotted lower-case words")
    version = data.get("version")
    if "version" in data and (not isinstance(version, int) or version < 1):
        c.add(path, line_of(data, "version"), "version must be a positive integer")
        version = 1
    status = str(data.get("status") or "")
    if "status" in data and status not in STATUSES:
        c.add(path, line_of(data, "status"), f"status must be one of {STATUSES}")
    label = str(data.get("label") or "")
    if "label" in data and label not in SCAM_LABELS:
        c.add(path, line_of(data, "label"), f"label must be one of {SCAM_LABELS}")
    weights: list[tuple[str, float]] = []
    sig = data.get("signals")
    if isinstance(sig, LDict):
        for name, w in sig.items():
            base, _, count = str(name).partition("@")
            if base not in known_signals or (count and count not in ("2", "3")):
                c.add(
                    path, line_of(sig, name), f"unknown signal {name!r} (name or name@2 / name@3)"
                )
            if not isinstance(w, (int, float)) or isinstance(w, bool):
                c.add(path, line_of(sig, name), f"weight of {name!r} must be a number")
                continue
            weights.append((str(name), float(w)))
    elif "signals" in data:
        c.add(path, line_of(data, "signals"), "signals must map signal names to weights")
    reqs: dict[str, tuple[str, ...]] = {}
    any_groups: list[tuple[str, ...]] = []
    raw_any = data.get("require_any")
    if isinstance(raw_any, list) and raw_any and all(isinstance(g, list) for g in raw_any):
        # require_any: [[a, b], [c, d]] -- one signal of each group
        for g in raw_any:
            any_groups.append(_strs(g, path, line_of(data, "require_any"), "require_any", c))
    elif raw_any is not None:
        any_groups.append(_strs(raw_any, path, line_of(data, "require_any"), "require_any", c))
    reqs["require_all"] = _strs(
        data.get("require_all"), path, line_of(data, "require_all"), "require_all", c
    )
    for key, vals in (
        ("require_any", [v for g in any_groups for v in g]),
        ("require_all", reqs["require_all"]),
    ):
        for v in vals:
            if v not in known_signals:
                c.add(path, line_of(data, key), f"{key}: unknown signal {v!r}")
    brands = _strs(data.get("brands"), path, line_of(data, "brands"), "brands", c)
    for b in brands:
        if b not in brand_keys:
            c.add(path, line_of(data, "brands"), f"unknown brand {b!r}")
    threshold = data.get("threshold")
    if "threshold" in data and (
        not isinstance(threshold, (int, float)) or isinstance(threshold, bool)
    ):
        c.add(path, line_of(data, "threshold"), "threshold must be a number")
        threshold = 0.0
    ex = data.get("examples")
    positive: tuple[Example, ...] = ()
    negative: tuple[Example, ...] = ()
    if isinstance(ex, LDict):
        positive = _examples(ex.get("positive"), path, "examples.positive", c, line_of(ex))
        negative = _examples(ex.get("negative"), path, "examples.negative", c, line_of(ex))
        if not positive:
            c.add(
                path,
                line_of(ex, "positive") if "positive" in ex else ex.line,
                "no positive example",
            )
        if not negative:
            c.add(
                path,
                line_of(ex, "negative") if "negative" in ex else ex.line,
                "no negative example",
            )
    elif "examples" in data:
        c.add(path, line_of(data, "examples"), "examples must have 'positive' and 'negative' lists")
    for kind, exs in (("positive", positive), ("negative", negative)):
        for e in exs:
            for b in e.ad.get("brands") or ():
                if b not in brand_keys:
                    c.add(path, e.line, f"examples.{kind}: unknown brand {b!r}")
    if not rid:
        return None
    return Rule(
        id=rid,
        version=int(version or 1),
        status=status,
        label=label,
        description=str(data.get("description") or ""),
        falsepositives=_strs(
            data.get("falsepositives"), path, line_of(data, "falsepositives"), "falsepositives", c
        ),
        weights=tuple(weights),
        require_any=tuple(g for g in any_groups if g),
        require_all=reqs["require_all"],
        brands=brands,
        threshold=float(threshold or 0.0),
        positive=positive,
        negative=negative,
        todo_positive=_examples(data.get("todo_positive"), path, "todo_positive", c, data.line),
        todo_negative=_examples(data.get("todo_negative"), path, "todo_negative", c, data.line),
        path=str(path),
        line=data.line,
    )


def load_ruleset(data_dir: Path | None = None) -> tuple[RuleSet | None, list[Problem]]:
    """Load every data file under ``data_dir``; return the rule set (if usable) and all problems."""
    base = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
    c = _Collector()
    files = [base / "brands.yaml", base / "people.yaml", base / "signals.yaml"]
    for f in files:
        if not f.is_file():
            c.add(f, 0, "missing data file")
    if c.problems:
        return None, c.problems
    try:
        brands, settings = _load_brands(files[0], c)
        people = _load_people(files[1], c)
        signals, decision, growth, near, quoted, extra = _load_signals(files[2], c)
    except ConfigError as exc:
        return None, [*c.problems, Problem("", 0, str(exc))]
    known = set(BUILTIN_SIGNALS) | {s.name for s in signals} | {n.name for n in near}
    brand_keys = {b.key for b in brands}
    rule_files = sorted((base / "rules").glob("*.yaml")) + sorted((base / "rules").glob("*.yml"))
    if not rule_files:
        c.add(base / "rules", 0, "no rule files")
    rules: list[Rule] = []
    seen: dict[str, Rule] = {}
    for f in rule_files:
        r = _load_rule(f, known, brand_keys, c)
        if r is None:
            continue
        if r.id in seen:
            first = seen[r.id]
            c.add(
                f,
                r.line,
                f"duplicate rule id {r.id!r} (first defined in {first.path}:{first.line})",
            )
            continue
        seen[r.id] = r
        rules.append(r)
    digest = hashlib.sha256()
    all_files = [*files, *rule_files]
    learned = base / "learned_lexicon.json"  # the learned lexicon is data too: in the version
    learned_model = None
    if learned.is_file():
        all_files.append(learned)
        if decision is not None and decision.learned_weight < 1.0:
            from crawler.rules.learned import LearnedLexicon

            try:
                learned_model = LearnedLexicon.load(learned)
                if set(learned_model.labels) != set(LABELS):
                    c.add(learned, 0, f"learned lexicon labels {learned_model.labels} != {LABELS}")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                c.add(learned, 0, f"bad learned lexicon: {exc}")
    for f in all_files:
        digest.update(f.name.encode())
        digest.update(f.read_bytes())
    if c.problems or settings is None or decision is None:
        return None, c.problems
    rs = RuleSet(
        brands=tuple(brands),
        people=tuple(people),
        matching=settings,
        signals=tuple(signals),
        near=tuple(near),
        rules=tuple(rules),
        decision=decision,
        growth=growth,
        quoted_of=quoted,
        quoted_name_after=extra["quoted_name_after"],
        growth_periods=extra["growth_periods"],
        version=digest.hexdigest()[:12],
        files=tuple(str(f) for f in all_files),
        learned=str(learned) if learned.is_file() else "",
        learned_model=learned_model,
    )
    _ = LABELS
    return rs, []
