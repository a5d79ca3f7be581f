"""The reference model of issue #3: character n-gram TF-IDF + logistic regression, trained on
dev_ads, scored on every other labelled corpus next to the engine's rules alone.

    python bench/char_baseline.py [CORPUS ...]

Needs scikit-learn (the ``test`` extra). The engine's column is the rules alone (the learned
lexicon switched off): the learned lexicon is trained on these very
corpora, so its figures here would be in-sample; its held-out figures are the leave-one-corpus-out
ones that ``scamradar rules train`` prints (docs/rules.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from crawler.rules import load_engine
from crawler.rules.engine import Engine

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "tests" / "rules" / "data" / "dev_ads.jsonl"
FIELDS = ("title", "text", "advertiser", "url")


def read(path: Path) -> tuple[list[dict], list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    texts = [" ".join(str(r.get(k) or "") for k in FIELDS) for r in rows]
    return rows, texts, [r["label"] for r in rows]


def main(argv: list[str]) -> int:
    corpora = [Path(a) for a in argv] or sorted(
        p
        for p in [
            *(REPO / "tests" / "rules" / "data").glob("*.jsonl"),
            *(REPO / "bench" / "data").glob("*.jsonl"),
        ]
        if p.name != TRAIN.name
    )
    _, x_train, y_train = read(TRAIN)
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    model = LogisticRegression(max_iter=3000, C=10).fit(vec.fit_transform(x_train), y_train)
    engine = Engine(load_engine().ruleset, learned=False)
    print(f"trained on {TRAIN.name} ({len(y_train)} ads); macro-F1 on each corpus:")
    print(f"{'corpus':28} {'ads':>4} {'char n-gram LR':>15} {'rules alone':>12}")
    for path in corpora:
        rows, texts, gold = read(path)
        baseline = f1_score(gold, model.predict(vec.transform(texts)), average="macro")
        ours = f1_score(gold, [engine.classify(r).label for r in rows], average="macro")
        print(f"{path.name:28} {len(rows):>4} {baseline:>15.3f} {ours:>12.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
