"""Scams keep their label under homoglyphs, leetspeak, spacing, translit and script noise."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "obfuscate", Path(__file__).with_name("obfuscate.py")
)
assert _spec and _spec.loader
obfuscate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(obfuscate)


@pytest.mark.parametrize("variant", sorted(obfuscate.VARIANTS))
@pytest.mark.parametrize("corpus", ["dev_ads", "dev_wild"])
def test_obfuscated_scams_keep_their_label_and_legit_ads_stay_legit(
    engine, request, corpus, variant
) -> None:
    rows = request.getfixturevalue(corpus)
    s = obfuscate.score(engine, rows, obfuscate.VARIANTS[variant], random.Random(20251121))
    assert s.kept / s.scams >= 0.92, f"{variant}: {s.kept}/{s.scams} scams kept"
    assert s.false_alarms / s.legit <= 0.05, (
        f"{variant}: {s.false_alarms}/{s.legit} legit ads flagged"
    )


@pytest.mark.parametrize(
    "text",
    [
        "K a s p i  I n v e s t: 5% в день, пишите в директ",
        "H.a.l.y.k Invest: 5% в день, пишите в директ",
        "Kаspі Іnvеst: 5% в день, пишите в директ",  # Cyrillic а, і, е
        "K4$pi Inv3st: 5% в день, пишите в директ",
        "Kaspi Invest: 5% v den, pishite v direkt",
        "Каспи Инвест: күніне 5% табыс, директке жазыңыз",
        "kaspiinvest: 5% в день, пишите в директ",
    ],
)
def test_an_obfuscated_brand_with_a_daily_return_is_a_fake_investment(engine, text) -> None:
    v = engine.classify({"text": text})
    assert v.label == "fake_investment"
    assert "kaspi" in v.brands or "halyk" in v.brands
