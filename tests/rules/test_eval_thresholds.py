"""Regression floors on the development corpora (copies of ../shared/corpus/ in data/)."""

from __future__ import annotations

from crawler.rules.evaluation import Evaluation


def _evaluate(engine, rows) -> Evaluation:
    ev = Evaluation()
    for row in rows:
        ev.add(row["label"], engine.classify(row).label, row["id"])
    return ev


def test_dev_ads_macro_f1_and_scam_precision_reach_the_acceptance_bar(engine, dev_ads) -> None:
    ev = _evaluate(engine, dev_ads)
    per = ev.per_label()
    assert ev.macro_f1() >= 0.97, ev.report()
    assert per["fake_investment"]["precision"] >= 0.97, ev.report()
    assert per["recovery_scam"]["precision"] >= 0.97, ev.report()


def test_dev_wild_does_not_regress_below_its_floor(engine, dev_wild) -> None:
    ev = _evaluate(engine, dev_wild)
    per = ev.per_label()
    assert ev.macro_f1() >= 0.97, ev.report()
    assert per["fake_investment"]["precision"] >= 0.97, ev.report()
    assert per["recovery_scam"]["precision"] >= 0.97, ev.report()


def test_every_verdict_explains_itself(engine, dev_ads) -> None:
    for row in dev_ads:
        v = engine.classify(row)
        if v.label != "legit":
            assert v.rules and v.matches, row["id"]
            for m in v.matches:
                original = str(row.get(m.field) or "")
                assert original[m.start : m.end] == m.text, (row["id"], m)
