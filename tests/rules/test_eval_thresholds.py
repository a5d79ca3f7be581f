"""Regression floors on the development corpora (copies of ../shared/corpus/ in data/) and on the
held-out corpora of bench/data/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.rules.engine import Engine
from crawler.rules.evaluation import Evaluation

from .conftest import read_jsonl


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


BENCH = Path(__file__).resolve().parents[2] / "bench" / "data"

# Floors a little under what the corpora score now (docs/rules.md, "holdout20 to holdout22 and
# genre4"):
# a change to the rule data that loses more than an ad or two here is a regression.
RULES_ALONE_FLOORS = {
    "holdout4_wild": 0.96,
    "holdout5_wild": 0.90,
    "holdout7_wild": 0.97,
    "holdout8_ads": 0.97,
    "holdout9_mixed": 0.94,
    "holdout10_wild": 0.89,
    "holdout11_mixed": 0.89,
    "holdout12_wild": 0.95,
    "holdout13_mixed": 0.97,
    "holdout14_mixed": 0.96,
    "holdout15_ads": 0.94,
    "holdout16_wild": 0.95,
    "holdout17_mixed": 0.92,
    "holdout18_wild": 0.96,
    "holdout19_ads": 0.97,
    "holdout20_wild": 0.93,
    "holdout21_ads": 0.97,
    "holdout22_mixed": 0.90,
    "holdout23_wild": 0.95,
    "holdout24_ads": 0.97,
    "everyday_test": 0.96,
    "genre_test": 0.96,
    "genre2_test": 0.85,
    "genre3_test": 0.87,
    "genre4_test": 0.88,
    "genre5_train": 0.75,
}
# Corpora the learned lexicon is not trained on: the shipped engine (rules + lexicon) there.
BLIND_BLEND_FLOORS = {
    "holdout5_wild": 0.97,
    "holdout11_mixed": 0.97,
    "holdout15_ads": 0.97,
    "holdout17_mixed": 0.95,
    "holdout22_mixed": 0.97,
    "everyday_test": 0.97,
    "genre_test": 0.97,
    "genre2_test": 0.97,
    "genre3_test": 0.96,
    "genre4_test": 0.96,
    "genre5_train": 0.93,
}


def _bench_rows(name: str) -> list[dict]:
    with (BENCH / f"{name}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def rules_alone(engine) -> Engine:
    return Engine(engine.ruleset, learned=False)


@pytest.mark.parametrize("name", sorted(RULES_ALONE_FLOORS))
def test_the_rules_alone_keep_their_floor_on_the_held_out_corpora(rules_alone, name) -> None:
    ev = _evaluate(rules_alone, _bench_rows(name))
    assert ev.macro_f1() >= RULES_ALONE_FLOORS[name], ev.report()


@pytest.mark.parametrize("name", sorted(BLIND_BLEND_FLOORS))
def test_the_engine_keeps_its_floor_on_the_corpora_it_never_trained_on(engine, name) -> None:
    ev = _evaluate(engine, _bench_rows(name))
    assert ev.macro_f1() >= BLIND_BLEND_FLOORS[name], ev.report()


@pytest.mark.parametrize(
    ("name", "rules_most", "engine_most"), [("everyday_train", 2, 2), ("genre_train", 6, 2)]
)
def test_ordinary_texts_are_not_flagged(engine, rules_alone, name, rules_most, engine_most) -> None:
    """All legit: 240 everyday ads (rentals, cars, shops, bank SMS, vacancies …) and 200 texts of
    other genres (economic news, explainers, company news, saving stories …). Each has money,
    periods, percentages or bonuses in it, the raw material of the scam rules."""
    rows = _bench_rows(name)
    for eng, most in ((rules_alone, rules_most), (engine, engine_most)):
        flagged = [r["id"] for r in rows if eng.classify(r).label != "legit"]
        assert len(flagged) <= most, flagged


# Everyday words whose Latin skeleton is a rule term of another language (Russian «мин» minutes
# read as Kazakh «мың», «2х комнатная» as ×2, «лс» horsepower as ЛС, Kazakh «айлық» salary as
# Halyk …): the skeleton audit's sentences, each with its label (two are scams the collision
# would have hidden). See docs/rules.md, "Skeleton collisions".
SKELETON_COLLISIONS = read_jsonl("skeleton_collisions.jsonl")


@pytest.mark.parametrize("row", SKELETON_COLLISIONS, ids=[r["id"] for r in SKELETON_COLLISIONS])
def test_the_rules_alone_are_not_misled_by_a_skeleton_collision(rules_alone, row) -> None:
    verdict = rules_alone.classify(row)
    assert verdict.label == row["label"], (row["notes"], verdict.rules, verdict.signals)
