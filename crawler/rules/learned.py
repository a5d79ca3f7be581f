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

import heapq
import json
import math
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress, islice
from pathlib import Path
from typing import Any

MODEL_FILE = "learned_lexicon.json"
RULE_ID = "learned.lexicon"
FORMAT = 1
WORD_RE = re.compile(r"[a-z0-9]+")


DOC_SEP = "\n\n\n\n"  # the engine's field separator (the url is the document's last field)


def url_host(url: str) -> str:
    """The lower-case host of a url, with or without a scheme."""
    u = url.strip().lower()
    i = u.find("://")
    if i >= 0:
        u = u[i + 3 :]
    for ch in "/?#":
        j = u.find(ch)
        if j >= 0:
            u = u[:j]
    return u.rsplit("@", 1)[-1].split(":", 1)[0]


def model_text(norm_text: str, url: str, platforms: Collection[str] = ()) -> str:
    """What the model reads: the normalised title, text and advertiser, and the url's host labels.

    The scheme and the path of the url are left out: whether an ad has a url, and its path, say
    more about how a corpus was collected than about the ad. So is the host of a ``platforms``
    url (t.me, vk.com …): there the url is the post's own address on the platform the spider
    reads, the same for every post, and says nothing of the ad.
    """
    if not url:
        return norm_text
    cut = norm_text.rfind(DOC_SEP)
    base = norm_text[:cut] if cut >= 0 else ""
    host = url_host(url)
    if any(host == p or host.endswith("." + p) for p in platforms):
        return base
    labels = [w for w in WORD_RE.findall(host) if w != "www"]
    return base + DOC_SEP + " ".join(labels)


_CYRILLIC_RE = re.compile(r"[\u0400-\u052f]")


def mark_script_words(norm: Any, words: tuple[str, ...]) -> str:
    """The normalised text with ``words`` written in Cyrillic in the original marked apart.

    Transliteration makes some words of two languages one skeleton (Russian «портфолио», work
    samples, and English "portfolio", investments); for the lexicon, a listed word whose original
    spelling is Cyrillic reads ``<word>cyr``. ``norm`` is a :class:`~crawler.rules.normalize.
    Normalized` (its spans map back to the original).
    """
    text = norm.text
    if not words or not any(w in text for w in words):
        return text
    edits: list[tuple[int, int, str]] = []
    for m in WORD_RE.finditer(text):
        w = m.group()
        if w in words:
            s, e = norm.span(m.start(), m.end())
            if _CYRILLIC_RE.search(norm.original, s, e):
                edits.append((m.start(), m.end(), w + "cyr"))
    for s, e, rep in reversed(edits):
        text = text[:s] + rep + text[e:]
    return text


def ngrams(text: str) -> list[str]:
    """The word unigrams and bigrams of a normalised text (the training analyzer, verbatim)."""
    toks = WORD_RE.findall(text)
    return toks + list(map(" ".join, zip(toks, toks[1:], strict=False)))


# (idf², idf·w0, idf·w1, idf·w2, (idf, push toward label 0, 1, 2) or None if norm only)
_Row = tuple[float, float, float, float, "tuple[float, float, float, float] | None"]


@dataclass(frozen=True)
class Prediction:
    probs: tuple[float, ...]  # one per label, in ``LearnedLexicon.labels`` order
    counts: Mapping[str, int]  # the document's n-grams and their counts
    inv_norm: float  # 1 / the L2 norm of the document's tf-idf vector
    known: int  # distinct n-grams of the document that the model knows
    found: Sequence[tuple[str, _Row]] = ()  # the known n-grams with their rows, in text order


class LearnedLexicon:
    """The model of one JSON file (three labels); thread-safe for reading."""

    def __init__(self, data: dict[str, Any], path: str = ""):
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}: unsupported learned lexicon format {data.get('format')!r}")
        self.path = path
        self.labels: tuple[str, ...] = tuple(data["labels"])
        if len(self.labels) != 3:
            raise ValueError(f"{path}: the learned lexicon must have three labels")
        self.version = int(data["version"])
        self.intercept: tuple[float, ...] = tuple(float(b) for b in data["intercept"])
        # Inference looks each of the document's n-grams up once, at C speed, in ``_rows``:
        # n-gram -> (idf squared, idf times each label's weight, evidence); the first four columns
        # of the rows found are then summed. ``evidence`` holds the n-gram's idf and its push
        # toward each label (its weight above the others' mean weight), so the evidence is ranked
        # among the rows already found, without a second look-up of each n-gram in a large dict.
        # N-grams with pruned weights count in the norm only (their evidence is ``None``).
        terms: dict[str, list[float]] = data["terms"]
        bad = next((t for t, row in terms.items() if len(row) != 4), None)
        if bad is not None:
            raise ValueError(f"{path}: term {bad!r} needs idf and 3 weights")
        self._rows: dict[str, _Row] = {
            t: (i * i, i * w0, i * w1, i * w2, (i, _push(row, 0), _push(row, 1), _push(row, 2)))
            for t, row in terms.items()
            for i, w0, w1, w2 in (row,)
        }
        rows = self._rows
        for t, i in data.get("norm_only", {}).items():
            row = rows.get(t)  # (a term listed twice keeps its evidence)
            rows[t] = (float(i) ** 2, 0.0, 0.0, 0.0, row[4] if row is not None else None)
        self.meta: dict[str, Any] = data.get("meta", {})

    @classmethod
    def load(cls, path: Path | str) -> LearnedLexicon:
        with open(path, encoding="utf-8") as fh:
            return cls(json.load(fh), str(path))

    def predict(self, text: str) -> Prediction:
        """Class probabilities for a normalised text (``Normalized.text``)."""
        grams = ngrams(text)
        counts = Counter(grams)
        rows = self._rows
        hits = list(map(rows.get, counts))
        found = list(filter(None, hits))
        if not found:
            return Prediction(_softmax(list(self.intercept)), counts, 0.0, 0)
        sq, z0, z1, z2 = map(sum, islice(zip(*found, strict=True), 4))
        if len(counts) != len(grams):
            # Sublinear tf: an n-gram seen tf times weighs idf * (1 + log tf), not idf.
            for g in compress(counts, map((1).__lt__, counts.values())):
                row = rows.get(g)
                if row is not None:
                    f = 1.0 + math.log(counts[g])
                    sq += row[0] * (f * f - 1.0)
                    z0 += row[1] * (f - 1.0)
                    z1 += row[2] * (f - 1.0)
                    z2 += row[3] * (f - 1.0)
        inv = 1.0 / math.sqrt(sq)
        b0, b1, b2 = self.intercept
        probs = _softmax([b0 + z0 * inv, b1 + z1 * inv, b2 + z2 * inv])
        known = list(zip(compress(counts, hits), found, strict=True))
        return Prediction(probs, counts, inv, len(found), known)

    def top_terms(self, pred: Prediction, label: str, n: int = 5) -> list[tuple[str, float]]:
        """The ``n`` n-grams that pushed hardest toward ``label`` (against the other labels'
        mean), with how much (tf-idf value times the weight difference)."""
        k, counts, log = self.labels.index(label) + 1, pred.counts, math.log
        scored = []
        for g, row in pred.found:
            ev = row[4]
            if ev is not None and ev[k] > 0:
                idf, push = ev[0], ev[k]
                tf = counts[g]
                scored.append(((idf * (1.0 + log(tf)) if tf > 1 else idf) * push, g))
        inv = pred.inv_norm
        return [(g, p * inv) for p, g in heapq.nlargest(n, scored)]


def _push(row: Sequence[float], k: int) -> float:
    """How much an n-gram's weight for label ``k`` exceeds the mean of the other two labels'."""
    _idf, w0, w1, w2 = row
    if k == 0:
        return w0 - (w1 + w2) / 2
    if k == 1:
        return w1 - (w0 + w2) / 2
    return w2 - (w0 + w1) / 2


def blend(
    probs: Sequence[float],
    labels: Sequence[str],
    rules_label: str,
    weight: float,
    known: int,
    min_known: int = 0,
) -> tuple[str, float]:
    """The verdict's (label, score): the argmax of ``(1 - weight) * probs + weight * the rules'
    label (one-hot)``.

    A lexicon that knows fewer than ``min_known`` of the document's n-grams has read too little to
    flag what the rules left legit (a short weather post in Kazakh: "day", "tomorrow" and a
    number are all it knows); it can still clear what the rules flagged.
    """
    scores = [
        (1.0 - weight) * p + (weight if lab == rules_label else 0.0)
        for lab, p in zip(labels, probs, strict=True)
    ]
    best = max(range(len(scores)), key=lambda i: (scores[i], labels[i] == rules_label))
    if rules_label == "legit" and labels[best] != "legit" and known < min_known:
        best = labels.index("legit")
    return labels[best], scores[best]


def _softmax(z: list[float]) -> tuple[float, ...]:
    m = max(z)
    e = [math.exp(v - m) for v in z]
    s = sum(e)
    return tuple(v / s for v in e)


def load_for(data_dir: Path) -> LearnedLexicon | None:
    """The learned lexicon of a rule data directory, or ``None`` if it has none."""
    path = Path(data_dir) / MODEL_FILE
    return LearnedLexicon.load(path) if path.is_file() else None
