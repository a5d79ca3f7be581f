"""CPU µs per ad of each stage of the rule engine, on the dev corpus (in one process).

    python bench/rule_stages.py [--repeat 10] [--rounds 3] [--tree DIR]

Each stage is timed alone over the corpus repeated ``--repeat`` times, best of ``--rounds``
(CPU time, so that neighbours on a shared machine matter less; a stage timed alone runs with
warmer caches than inside ``classify``, so the stages add up to less than the whole). It also
runs on an older source tree (``cd OLD && python /path/to/bench/rule_stages.py``): attributes
that a version does not have are skipped or replaced by what that version did.
``--tree DIR`` times the engine of another source tree (``git archive BASE | tar -x -C DIR``).
"""

from __future__ import annotations

import argparse
import inspect
import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "rules" / "data" / "dev_ads.jsonl"


def _best(fn: Callable[[Any], object], items: Sequence[Any], rounds: int) -> float:
    for x in items[:50]:
        fn(x)
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for x in items:
            fn(x)
        best = min(best, time.process_time() - start)
    return best / len(items) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tree", type=Path, help="import the engine from this source tree")
    args = ap.parse_args()
    if args.tree:
        sys.path.insert(0, str(args.tree.resolve()))

    from crawler.rules import engine as E  # noqa: N812
    from crawler.rules import load_engine
    from crawler.rules import signals as builtin
    from crawler.rules.learned import ngrams
    from crawler.rules.stream import classify_stream

    eng = load_engine()
    print(f"engine from {Path(E.__file__).parents[2]}")
    raw = [ln for ln in CORPUS.read_bytes().splitlines() if ln.strip()] * args.repeat
    ads = [json.loads(ln) for ln in raw]
    docs = [E.document(a) for a in ads]
    texts = [d[0].norm.text for d in docs]
    r = args.rounds
    rows: list[tuple[str, float]] = []

    def stage(name: str, fn: Callable[[Any], object], items: Sequence[Any]) -> None:
        rows.append((name, _best(fn, items, r)))

    stage("json.loads (input line)", lambda ln: json.loads(ln.decode()), raw)
    stage("normalise (document)", E.document, ads)
    stage("term scan", eng.scanner.scan, texts)
    stage("brand finding (names.find)", lambda d: eng.names.find(d[0].norm), docs)

    if hasattr(eng, "_pattern_gate"):  # pyahocorasick gates and literal prefilters

        def patterns(text: str) -> None:
            for _n, pat in eng._pattern_gate.runnable(text):
                pat.search(text)
    else:

        def patterns(text: str) -> None:
            here = {g for g in eng._all_gates if g in text}
            for _n, pat, gate in eng.patterns:
                if gate and gate.isdisjoint(here):
                    continue
                pat.search(text)

    stage("patterns (gates included)", patterns, texts)

    # growth() reads the text since it knows lines (older trees: amounts only)
    growth_reads_text = len(inspect.signature(builtin.growth).parameters) > 2

    def amounts(text: str) -> None:
        if E._DIGIT_RE.search(text):
            found = builtin.amounts(text)
            if found:
                if growth_reads_text:
                    builtin.growth(found, eng.ruleset.growth, text)
                else:
                    builtin.growth(found, eng.ruleset.growth)
            next(builtin.PHONE_RE.finditer(text), None)
            if "%" in text:
                list(builtin.PCT_RE.finditer(text))

    stage("amounts, growth, pct, phone", amounts, texts)

    def domains(d: Any) -> None:
        for source in (d[0].norm.original, d[0].norm.text):
            for host, _s, _e in builtin.domains_in(source):
                eng.domains.check(host)
        if d[1]:
            eng.domains.check(d[1])

    stage("domains", domains, docs)
    stage("signals() in all", eng.signals, ads)
    lex = eng.learned
    inputs = [
        eng.model_input(d[0], str(a.get("url") or "")) for d, a in zip(docs, ads, strict=True)
    ]
    stage("learned: n-grams", ngrams, inputs)
    stage("learned: predict (n-grams included)", lex.predict, inputs)
    preds = [lex.predict(t) for t in inputs]
    stage("learned: top_terms", lambda p: lex.top_terms(p, "fake_investment", 10), preds)
    verdicts = [eng.classify(a) for a in ads]
    stage("verdict to_dict", lambda v: v.to_dict("x"), verdicts)
    dicts = [v.to_dict("x") for v in verdicts]
    try:
        from crawler.rules.stream import dumps_verdict
    except ImportError:

        def dumps_verdict(d: dict[str, Any]) -> str:
            return json.dumps(d, ensure_ascii=False)

    stage("verdict JSON line", dumps_verdict, dicts)
    stage("classify() in all", eng.classify, ads)
    data = b"\n".join(raw) + b"\n"
    start = time.process_time()
    for _ in range(r):
        classify_stream(eng, io.BytesIO(data), io.StringIO(), lambda _n, _m: None)
    whole = (time.process_time() - start) / r / len(raw) * 1e6
    rows.append(("classify_stream (JSONL in, JSONL out), mean", whole))
    for name, us in rows:
        print(f"{name:44} {us:7.1f} µs")


if __name__ == "__main__":
    main()
