"""Training the learned lexicon (``scamradar rules train``); needs scikit-learn (the dev extra).

The model is fitted on the engine's normalised document of every labelled ad (see
:func:`crawler.rules.engine.document`), with the analyzer of :func:`crawler.rules.learned.ngrams`,
so training and the pure-Python inference see exactly the same n-grams. Leave-one-corpus-out
scores (each corpus scored by a model that never saw it) are computed first and stored in the
model file's metadata; then the shipped model is fitted on every corpus.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.rules.evaluation import Evaluation
from crawler.rules.learned import FORMAT, LearnedLexicon, blend, ngrams
from crawler.rules.model import LABELS

PARAMS: dict[str, Any] = {
    "analyzer": "word uni+bigrams of [a-z0-9]+ tokens of the normalised title, text, advertiser "
    "and url host labels (learned.model_text)",
    "sublinear_tf": True,
    "smooth_idf": True,
    "norm": "l2",
    # An n-gram seen in one training ad only is left out: the model is 0.75 MB instead of 3.4 MB
    # (66,000 n-grams -> 15,500), loads and predicts faster, and scores the same leave-one-
    # corpus-out (docs/rules.md, lexicon v15).
    "min_df": 2,
    "C": 30.0,
    "solver": "lbfgs (multinomial)",
    "max_iter": 5000,
    "prune_below": 0.02,
}


@dataclass
class Corpus:
    name: str
    path: str
    sha256: str
    texts: list[str]  # normalised documents
    labels: list[str]
    rules: list[str]  # the rules' own verdicts (no lexicon)
    ids: list[object]


def _rows(path: Path, raw: bytes) -> list[dict[str, Any]]:
    """The labelled ads of a JSONL file, or of a test module's ``CASES = [(label, text), ...]``."""
    if path.suffix == ".py":
        import importlib.util

        spec = importlib.util.spec_from_file_location(f"_cases_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise ValueError(f"{path}: cannot import")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return [
            {"id": f"{path.stem}:{i}", "text": text, "label": label}
            for i, (label, text) in enumerate(module.CASES)
        ]
    return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]


def read_corpus(path: Path, rules_engine) -> Corpus:  # type: ignore[no-untyped-def]
    """Read labelled ads (JSONL, or a test module's CASES); normalise each ad and record the
    rules' own verdict."""
    from crawler.rules.engine import document

    raw = path.read_bytes()
    texts, labels, rules, ids = [], [], [], []
    for ad in _rows(path, raw):
        if ad.get("label") not in LABELS:
            continue
        url = ad.get("url")
        texts.append(rules_engine.model_input(document(ad)[0], str(url) if url else ""))
        labels.append(ad["label"])
        rules.append(rules_engine.classify(ad).label)
        ids.append(ad.get("id"))
    return Corpus(path.stem, str(path), hashlib.sha256(raw).hexdigest(), texts, labels, rules, ids)


def fit(texts: Sequence[str], labels: Sequence[str], params: Mapping[str, Any] = PARAMS):  # type: ignore[no-untyped-def]
    """(vectorizer, classifier) fitted with scikit-learn."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(
        analyzer=ngrams,
        sublinear_tf=params["sublinear_tf"],
        smooth_idf=params["smooth_idf"],
        norm=params["norm"],
        min_df=params["min_df"],
    )
    x = vec.fit_transform(texts)
    clf = LogisticRegression(C=params["C"], max_iter=params["max_iter"])
    clf.fit(x, list(labels))
    return vec, clf


def _f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    ev = Evaluation()
    for g, p in zip(gold, pred, strict=True):
        ev.add(g, p)
    return ev.macro_f1()


def leave_one_out(
    corpora: Sequence[Corpus], w: float, params: Mapping[str, Any] = PARAMS, min_known: int = 0
) -> dict[str, dict[str, float]]:
    """Per corpus: macro-F1 of rules only, model only and the blend, the model not seeing it."""
    out: dict[str, dict[str, float]] = {}
    for i, held in enumerate(corpora):
        texts = [t for j, c in enumerate(corpora) if j != i for t in c.texts]
        labels = [lab for j, c in enumerate(corpora) if j != i for lab in c.labels]
        vec, clf = fit(texts, labels, params)
        probs = clf.predict_proba(vec.transform(held.texts))
        classes = [str(c) for c in clf.classes_]
        model = [classes[max(range(len(p)), key=p.__getitem__)] for p in probs]
        vocab = vec.vocabulary_
        blended = [
            blend(p, classes, r, w, sum(1 for g in set(ngrams(t)) if g in vocab), min_known)[0]
            for p, r, t in zip(probs.tolist(), held.rules, held.texts, strict=True)
        ]
        out[held.name] = {
            "n": len(held.labels),
            "rules": round(_f1(held.labels, held.rules), 4),
            "model": round(_f1(held.labels, model), 4),
            "blend": round(_f1(held.labels, blended), 4),
        }
    return out


def export(
    vec, clf, params: Mapping[str, Any], meta: dict[str, Any], version: int
) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The JSON model: per n-gram its idf and weights (pruned: tiny weights keep idf only)."""
    classes = [str(c) for c in clf.classes_]
    coef = clf.coef_
    idf = vec.idf_
    terms: dict[str, list[float]] = {}
    norm_only: dict[str, float] = {}
    cut = params["prune_below"]
    for term, j in sorted(vec.vocabulary_.items()):
        ws = [float(coef[k, j]) for k in range(len(classes))]
        if max(abs(v) for v in ws) >= cut:
            terms[term] = [_round(float(idf[j])), *(_round(v) for v in ws)]
        else:
            norm_only[term] = _round(float(idf[j]))
    return {
        "format": FORMAT,
        "version": version,
        "labels": classes,
        "intercept": [_round(float(b)) for b in clf.intercept_],
        "meta": {**meta, "params": dict(params), "terms": len(terms), "norm_only": len(norm_only)},
        "terms": terms,
        "norm_only": norm_only,
    }


def _round(v: float) -> float:
    return float(f"{v:.5g}") if math.isfinite(v) else v


def max_prob_difference(model: LearnedLexicon, vec, clf, texts: Sequence[str]) -> float:  # type: ignore[no-untyped-def]
    """Largest |p_python - p_sklearn| over ``texts`` (pruning and rounding make it non-zero)."""
    probs = clf.predict_proba(vec.transform(list(texts)))
    classes = [str(c) for c in clf.classes_]
    worst = 0.0
    for t, row in zip(texts, probs.tolist(), strict=True):
        mine = model.predict(t).probs
        for k, lab in enumerate(classes):
            worst = max(worst, abs(mine[model.labels.index(lab)] - row[k]))
    return worst
