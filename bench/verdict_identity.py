"""Verdict identity: does ``scamradar classify`` still give exactly the same output?

A regression set for speed work on the rule engine. It is built deterministically from

* every JSONL corpus in ``tests/rules/data/``, ``bench/data/`` and ``../shared/corpus/`` (as
  given, byte for byte);
* obfuscated variants of each ad of those corpora (``tests/rules/obfuscate.py``: homoglyph,
  noise, leet, spacing, translit, and two of them chained), with a fixed seed;
* edge cases: an empty ad, empty fields, non-string fields, a 300,000-character text, one brand
  repeated over 300,000 characters, binary garbage, invalid UTF-8, non-object JSON lines, blank
  lines, deeply nested JSON.

``record`` runs the real ``scamradar classify`` process on it and stores its stdout, stderr and
exit code; ``check`` runs it again and compares every output line as parsed JSON (label, score,
brands, rules, rule versions, evidence: everything), and stderr and the exit code as text.

    python bench/verdict_identity.py record [--dir DIR]   # before a change
    python bench/verdict_identity.py check  [--dir DIR]   # after it: exit 1 on any difference

``--code TREE`` runs the classify of another source tree (``git archive BASE | tar -x -C TREE``),
so the baseline can be recorded from the commit before a series of changes.

The rule data must be the same for both runs (the set checks the code, not the data).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "rules"))

from obfuscate import VARIANTS  # noqa: E402

SEED = 20261121
FIELDS = ("title", "text", "advertiser")


def corpora() -> list[Path]:
    paths = sorted((ROOT / "tests" / "rules" / "data").glob("*.jsonl"))
    paths += sorted((ROOT / "bench" / "data").glob("*.jsonl"))
    paths += sorted((ROOT.parent / "shared" / "corpus").glob("*.jsonl"))
    return [p for p in paths if p.is_file()]


def _variants(ads: list[dict], rng: random.Random) -> list[dict]:
    chains = [(name,) for name in VARIANTS] + [("leet", "homoglyph"), ("spacing", "noise")]
    out = []
    for ad in ads:
        for chain in chains:
            v = dict(ad)
            for field in FIELDS:
                if isinstance(v.get(field), str):
                    for name in chain:
                        v[field] = VARIANTS[name](v[field], rng)
            v["id"] = f"{ad.get('id')}~{'+'.join(chain)}"
            out.append(v)
    return out


def _edge_cases(ads: list[dict]) -> list[bytes]:
    texts = " ".join(str(a.get("text") or "") for a in ads)
    long_text = (texts * (300_000 // max(1, len(texts)) + 1))[:300_000]
    dump = lambda o: json.dumps(o, ensure_ascii=False).encode()  # noqa: E731
    return [
        dump({}),
        dump({"id": "empty-fields", "title": "", "text": "", "advertiser": "", "url": ""}),
        dump({"id": "spaces", "title": "   ", "text": "\n\t "}),
        dump(
            {
                "id": "non-strings",
                "title": 123,
                "text": ["Kaspi", 5],
                "advertiser": {"a": 1},
                "url": 7.5,
            }
        ),
        dump({"id": "nulls", "title": None, "text": None, "url": None}),
        dump(
            {
                "id": "long-300k",
                "title": "Халык Инвест",
                "text": long_text,
                "url": "https://kaspi-invest.top/x",
            }
        ),
        dump({"id": "brand-300k", "text": "Kaspi " * 50_000}),
        dump({"id": "spaced-300k", "text": "K a s p i  " * 27_000}),
        dump({"id": "digits-300k", "text": "5 000 000 ₸ → 50 000 000 ₸ +7 777 123 45 67 " * 7_000}),
        dump({"id": "ascii-only", "text": "Kaspi invest 500% per month, write @kaspi_bot"}),
        dump({"id": "control", "text": "Kaspi\x00\x01\x02 доход\u200b\u00ad 100%"}),
        dump({"id": "emoji", "text": "🚀💰 Халык 𝐊𝐚𝐬𝐩𝐢 ＫＡＳＰＩ ﬁnance 1000% 🔥"}),
        bytes(range(256)),
        b"\xff\xfe\x00garbage\x80\x81",
        b'{"id": "bad-utf8", "text": "\xc3\x28 Kaspi"}',
        b"[1, 2, 3]",
        b'"just a string"',
        b"null",
        b"42",
        b"",
        b"   ",
        b'{"id": "truncated", "text": "Kaspi',
        b"[" * 100_000 + b"]" * 100_000,
        dump({"id": 123456789012345678901234567890, "text": "Kaspi 1000% за неделю"}),
        dump({"id": -(2**63) - 1, "text": "Halyk"}),
        dump({"id": 2**64, "text": "Halyk"}),
        dump({"id": 1.5, "text": "Halyk"}),
        b'{"id": NaN, "text": "Kaspi 1000%"}',
        b'{"id": Infinity, "text": "Kaspi 1000%"}',
        dump({"id": ["a", {"b": None}], "text": "Kaspi"}),
        dump({"id": True, "text": "Kaspi"}),
        b'{"id": "dup", "text": "a", "text": "Kaspi Gold 300%"}',
        dump({"id": "last", "text": "Kaspi Gold: доход 300% в месяц, пишите в WhatsApp"}),
    ]


def build_input(dst: Path) -> int:
    rng = random.Random(SEED)
    lines: list[bytes] = []
    all_ads: list[dict] = []
    for path in corpora():
        raw = [ln for ln in path.read_bytes().splitlines() if ln.strip()]
        lines += raw
        ads = [json.loads(ln) for ln in raw]
        all_ads += ads
        lines += [json.dumps(v, ensure_ascii=False).encode() for v in _variants(ads, rng)]
    lines += _edge_cases(all_ads)
    dst.write_bytes(b"\n".join(lines) + b"\n")
    return len(lines)


def classify(src: Path, out: Path, code: Path) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "crawler", "classify", "-i", str(src), "-o", str(out)],
        cwd=code,
        capture_output=True,
        check=False,
    )
    return proc.returncode, proc.stderr.decode("utf-8", "replace")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=("record", "check"))
    ap.add_argument("--dir", type=Path, default=ROOT / ".verdict-identity")
    ap.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="Run the classify of this source tree (e.g. an export of the commit before a change)",
    )
    args = ap.parse_args()
    d: Path = args.dir
    d.mkdir(parents=True, exist_ok=True)
    src = d / "input.jsonl"
    n = build_input(src)
    if args.mode == "record":
        code, err = classify(src, d / "baseline.jsonl", args.code)
        (d / "baseline.stderr").write_text(err, encoding="utf-8")
        (d / "baseline.code").write_text(str(code))
        print(f"recorded {n} input lines -> {d / 'baseline.jsonl'} (exit {code})")
        return 0
    code, err = classify(src, d / "current.jsonl", args.code)
    problems = []
    if code != int((d / "baseline.code").read_text()):
        problems.append(f"exit code {code}, baseline {(d / 'baseline.code').read_text()}")
    if err != (d / "baseline.stderr").read_text(encoding="utf-8"):
        problems.append("stderr differs")
    base = (d / "baseline.jsonl").read_text(encoding="utf-8").splitlines()
    cur = (d / "current.jsonl").read_text(encoding="utf-8").splitlines()
    if len(base) != len(cur):
        problems.append(f"{len(cur)} output lines, baseline {len(base)}")
    diff = [
        i for i, (a, b) in enumerate(zip(base, cur, strict=False)) if json.loads(a) != json.loads(b)
    ]
    for i in diff[:5]:
        problems.append(
            f"output line {i + 1} differs:\n  was {base[i][:400]}\n  now {cur[i][:400]}"
        )
    if len(diff) > 5:
        problems.append(f"... {len(diff)} output lines differ in all")
    if problems:
        print("DIFFERENT:\n" + "\n".join(problems))
        return 1
    print(f"identical: {len(cur)} verdicts of {n} input lines, stderr and exit code {code}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
