"""The learned lexicon: a linear model over word n-grams of the normalised text, as data.

A multinomial logistic regression (trained by ``scamradar rules train`` with scikit-learn) over
TF-IDF weighted word unigrams and bigrams of the engine's normalised document (title, text,
advertiser and url joined, folded to the lower-case Latin skeleton of
:mod:`crawler.rules.normalize`: homoglyphs, leetspeak and transliteration already meet there).
At run time this module needs neither scikit-learn nor numpy: the model is a JSON file
(``data/learned_lexicon.json``) holding, per n-gram, its idf and one weight per label.

Inference reproduces scikit-learn's ``TfidfVectorizer(sublinear_tf=True, norm="l2")`` followed
by ``LogisticRegression.predict_proba``: ``x = (1 + log tf) * idf`` over the n-grams of the
vocabulary, L2-normalised, then ``softmax(W x + b)``. The n-grams of the vocabulary whose weights
were pruned (too small to matter) are kept with their idf only, so the norm stays exact.

Every contribution is explainable: :meth:`LearnedLexicon.top_terms` gives the n-grams that pushed
hardest toward a label, which the engine shows as evidence spans in the original text.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL_FILE = "learned_lexicon.json"
RULE_ID = "learned.lexicon"
FORMAT = 1
WORD_RE = re.compile(r"[a-z0-9]+")


def ngrams(text: str) -> list[str]:
    """The word unigrams and bigrams of a normalised text (the training analyzer, verbatim)."""
    toks = WORD_RE.findall(text)
    return toks + [a + " " + b for a, b in zip(toks, toks[1:], strict=False)]


@dataclass(frozen=True)
class Prediction:
    probs: tuple[float, ...]  # one per label, in ``LearnedLexicon.labels`` order
    terms: tuple[tuple[str, float], ...]  # (n-gram, tf-idf value after L2 norm) of weighted terms


class LearnedLexicon:
    """The model of one JSON file; thread-safe for reading."""

    def __init__(self, data: dict[str, Any], path: str = ""):
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}: unsupported learned lexicon format {data.get('format')!r}")
        self.path = path
        self.labels: tuple[str, ...] = tuple(data["labels"])
        self.version = int(data["version"])
        self.intercept: tuple[float, ...] = tuple(float(b) for b in data["intercept"])
        k = len(self.labels)
        # term -> (idf, weights per label) ; weights None for norm-only terms.
        vocab: dict[str, tuple[float, tuple[float, ...] | None]] = {}
        for term, row in data["terms"].items():
            if len(row) != k + 1:
                raise ValueError(f"{path}: term {term!r} needs idf and {k} weights")
            vocab[term] = (float(row[0]), tuple(float(w) for w in row[1:]))
        for term, idf in data.get("norm_only", {}).items():
            vocab[term] = (float(idf), None)
        self.vocab = vocab
        self.meta: dict[str, Any] = data.get("meta", {})

    @classmethod
    def load(cls, path: Path | str) -> LearnedLexicon:
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh), str(path))

    def predict(self, text: str) -> Prediction:
        """Class probabilities for a normalised text (``Normalized.text``)."""
        vocab = self.vocab
        counts: dict[str, int] = {}
        toks = WORD_RE.findall(text)
        for t in toks:
            if t in vocab:
                counts[t] = counts.get(t, 0) + 1
        for a, b in zip(toks, toks[1:], strict=False):
            g = a + " " + b
            if g in vocab:
                counts[g] = counts.get(g, 0) + 1
        z = list(self.intercept)
        if not counts:
            return Prediction(_softmax(z), ())
        sq = 0.0
        vals: list[tuple[str, float, tuple[float, ...] | None]] = []
        log = math.log
        for term, tf in counts.items():
            idf, ws = vocab[term]
            v = (1.0 + log(tf)) * idf
            sq += v * v
            vals.append((term, v, ws))
        inv = 1.0 / math.sqrt(sq) if sq > 0 else 0.0
        k = len(z)
        terms: list[tuple[str, float]] = []
        for term, v, ws in vals:
            if ws is None:
                continue
            x = v * inv
            terms.append((term, x))
            for i in range(k):
                z[i] += x * ws[i]
        return Prediction(_softmax(z), tuple(terms))

    def top_terms(self, pred: Prediction, label: str, n: int = 5) -> list[tuple[str, float]]:
        """The ``n`` n-grams that pushed hardest toward ``label`` (against the other labels)."""
        i = self.labels.index(label)
        k = len(self.labels)
        out = []
        for term, x in pred.terms:
            ws = self.vocab[term][1]
            assert ws is not None
            push = x * (ws[i] - (sum(ws) - ws[i]) / (k - 1))
            if push > 0:
                out.append((term, push))
        out.sort(key=lambda tp: -tp[1])
        return out[:n]


def _softmax(z: list[float]) -> tuple[float, ...]:
    m = max(z)
    e = [math.exp(v - m) for v in z]
    s = sum(e)
    return tuple(v / s for v in e)


def load_for(data_dir: Path) -> LearnedLexicon | None:
    """The learned lexicon of a rule data directory, or ``None`` if it has none."""
    path = Path(data_dir) / MODEL_FILE
    return LearnedLexicon.load(path) if path.is_file() else None
