"""Precision / recall / F1 per label, macro-F1 and the confusion matrix."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from crawler.rules.model import LABELS


@dataclass
class Evaluation:
    labels: tuple[str, ...] = LABELS
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self, truth: str, predicted: str, ad_id: object = None, rules: list[str] | None = None
    ) -> None:
        self.confusion[(truth, predicted)] += 1
        if truth != predicted:
            self.errors.append(
                {"id": ad_id, "label": truth, "predicted": predicted, "rules": rules or []}
            )

    @property
    def total(self) -> int:
        return sum(self.confusion.values())

    def per_label(self) -> dict[str, dict[str, float]]:
        out = {}
        for lab in self.labels:
            tp = self.confusion[(lab, lab)]
            fp = sum(self.confusion[(t, lab)] for t in self.labels if t != lab)
            fn = sum(self.confusion[(lab, p)] for p in self.labels if p != lab)
            p = tp / (tp + fp) if tp + fp else 0.0
            r = tp / (tp + fn) if tp + fn else 0.0
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            out[lab] = {"precision": p, "recall": r, "f1": f1, "support": tp + fn}
        return out

    def macro_f1(self) -> float:
        pl = self.per_label()
        return sum(v["f1"] for v in pl.values()) / len(pl)

    def accuracy(self) -> float:
        return (
            sum(self.confusion[(lab, lab)] for lab in self.labels) / self.total
            if self.total
            else 0.0
        )

    def to_dict(self, ruleset_version: str = "") -> dict[str, Any]:
        return {
            "ruleset_version": ruleset_version,
            "n": self.total,
            "accuracy": round(self.accuracy(), 4),
            "macro_f1": round(self.macro_f1(), 4),
            "per_label": {
                k: {m: round(v, 4) for m, v in d.items()} for k, d in self.per_label().items()
            },
            "confusion": {t: {p: self.confusion[(t, p)] for p in self.labels} for t in self.labels},
            "errors": self.errors,
        }

    def report(self, ruleset_version: str = "", *, errors: bool = False) -> str:
        lines = [f"{self.total} ads, rule set {ruleset_version}", ""]
        lines.append(f"{'label':<17}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
        for lab, d in self.per_label().items():
            lines.append(
                f"{lab:<17}{d['precision']:>10.3f}{d['recall']:>10.3f}{d['f1']:>10.3f}{int(d['support']):>10}"
            )
        lines.append(f"{'macro-F1':<17}{'':>20}{self.macro_f1():>10.3f}")
        lines.append(f"{'accuracy':<17}{'':>20}{self.accuracy():>10.3f}")
        lines.append("")
        lines.append("confusion (rows: truth, columns: predicted)")
        short = {"fake_investment": "fake_inv", "recovery_scam": "recovery", "legit": "legit"}
        lines.append(f"{'':<17}" + "".join(f"{short.get(p, p):>10}" for p in self.labels))
        for t in self.labels:
            lines.append(f"{t:<17}" + "".join(f"{self.confusion[(t, p)]:>10}" for p in self.labels))
        if errors and self.errors:
            lines.append("")
            lines.append("errors:")
            for e in self.errors:
                lines.append(f"  {e['id']}: {e['label']} -> {e['predicted']} {e['rules']}")
        return "\n".join(lines)
