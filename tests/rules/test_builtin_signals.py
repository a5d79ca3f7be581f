"""Built-in signals: quoted names vs cited claims, growth over a named period, Kazakh consonant
alternation in the lexicon, and words the learned lexicon reads apart by script."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from crawler.rules.engine import Engine, document
from crawler.rules.lexicon import TermSpec, alternations, plural_key


@pytest.fixture(scope="module")
def rules(engine) -> Engine:
    return Engine(engine.ruleset, learned=False)


def _signals(rules: Engine, text: str) -> set[str]:
    found, _doc = rules.signals({"text": text})
    return set(found)


@pytest.mark.parametrize(
    "text",
    [
        "Проект «Пассивный доход 2.0» открыл набор, вклад от 20 000",
        "Платформа «Гарантированный доход» платит каждую пятницу",
        "«Пассивный доход» — закрытый клуб для своих, вход по ссылке",
        "Жоба «Пассивті табыс» жаңа қатысушыларды күтеді",
    ],
)
def test_a_quoted_scheme_name_is_not_a_cited_claim(rules, text) -> None:
    assert "quoted_claim" not in _signals(rules, text)


@pytest.mark.parametrize(
    "text",
    [
        "Полиция: мошенники обещают «пассивный доход» и просят перевести деньги.",
        "Не верьте тем, кто обещает «доход 3% в день», — предупреждает банк.",
    ],
)
def test_a_cited_claim_still_counts(rules, text) -> None:
    assert "quoted_claim" in _signals(rules, text)


@pytest.mark.parametrize(
    "text",
    [
        "Ставлю 100к утром, вечером снимаю 112к",
        "за месяц с 60 тысяч вышло 84, пиши",
        "Week 1: 500 → 590, week 2: 590 → 690",
        "Таңертең 100 мың салам, кешке 115 шешемін",
        "Вложил 100 000 — через 7 дней получаешь 115 000",
        # two bare figures: a stake and what it becomes (said, not written with an arrow)
        "100 салсаң, айдың соңында 250 болады",
        "кладёшь 50, через неделю 90 получаешь",
    ],
)
def test_growth_over_a_short_named_period_is_period_growth(rules, text) -> None:
    assert "period_growth" in _signals(rules, text)


@pytest.mark.parametrize(
    "text",
    [
        "Вклад: 1 000 000 ₸ через год станут 1 150 000 ₸, гарантия КФГД",
        "Комплектовщики: 12 000–15 000 ₸ за смену, выплаты еженедельно",
        "Курьеры: от 15 000 до 17 000 ₸ в день",
        # two bare figures with no word of what the later one becomes
        "Смена 12 часов, через неделю 14 смен в графике",
    ],
)
def test_deposits_pay_ranges_and_prices_are_not_period_growth(rules, text) -> None:
    assert "period_growth" not in _signals(rules, text)


@pytest.mark.parametrize(
    "text",
    [
        "• стрижка — 3 000 ₸\n• окрашивание — 18 000 ₸\n• кератин — 25 000 ₸",
        "1) Уборка территории — 8 950 000 ₸\n2) Поставка компьютеров — 214 000 000 ₸",
        "Баня +15 000 ₸\nбудни 45 000 ₸/сутки",
        # one line: a price per unit, then the next tariff
        "Rates: 25,000 KZT/night, 140,000 KZT/week",
        "Репетитор: 6 000 ₸/час, пакет из 8 занятий — 44 000 ₸",
    ],
)
def test_amounts_of_two_items_of_a_list_are_no_growth(rules, text) -> None:
    assert {"growth", "period_growth"}.isdisjoint(_signals(rules, text))


@pytest.mark.parametrize(
    "text",
    [
        "День 1: пополнила 80 000 ₸\nДень 8: баланс 246 900 ₸",
        "Вложила 50 000 ₸, через неделю на счёте 140 000 ₸",
        "Week 1 — deposit $200\nWeek 3 — balance $900",
    ],
)
def test_growth_on_one_line_or_down_a_dated_diary_is_growth(rules, text) -> None:
    assert "growth" in _signals(rules, text)


def test_two_prices_next_to_a_day_are_period_growth_but_not_a_scam(rules) -> None:
    # The signal cannot tell a price list from a return; the rules need more than it.
    text = "Доставка 2 500 ₸, заказ до 18:00, на следующий день 2 700 ₸ с подъёмом"
    assert "period_growth" in _signals(rules, text)
    assert rules.classify({"text": text}).label == "legit"


def test_a_stem_ending_in_a_voiceless_consonant_finds_its_kazakh_voiced_form() -> None:
    assert alternations(TermSpec(("salik",), True)) == [
        "saliga",
        "salige",
        "saligi",
        "saligo",
        "saligu",
    ]
    assert alternations(TermSpec(("salik",), False)) == []  # whole words are exact
    assert alternations(TermSpec(("tabis",), True)) == []


def test_the_english_plural_of_a_stem_in_t_is_found_though_ts_folds_into_c() -> None:
    assert plural_key(TermSpec(("specialist",), True)) == "specialisc"
    assert plural_key(TermSpec(("specialist",), False)) is None  # whole words are exact
    assert plural_key(TermSpec(("agent",), True)) == "agenc"
    assert plural_key(TermSpec(("tabis",), True)) is None


def test_chargeback_specialists_are_a_recovery_actor(rules) -> None:
    assert "recovery_actor" in _signals(rules, "Our chargeback specialists file the dispute")


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("Ұтысты алу үшін салығын төлеңіз", "fee_request"),  # салық* → салығын
        ("Жабық тобына қосылыңыз", "passive_income"),  # жабық топ* → жабық тобына
        ("Жинағыңызды көбейтіңіз", "invest"),  # жинақ* → жинағыңызды
    ],
)
def test_kazakh_consonant_alternation_needs_no_extra_terms(rules, text, signal) -> None:
    assert signal in _signals(rules, text)


def test_the_lexicon_reads_a_cyrillic_false_friend_apart(rules) -> None:
    assert "портфолио" in rules.ruleset.decision.learned_script_words or (
        "portfolio" in rules.ruleset.decision.learned_script_words
    )
    ru = rules.model_input(document({"text": "Присылайте портфолио и резюме"})[0], "")
    en = rules.model_input(document({"text": "Send your portfolio"})[0], "")
    assert "portfoliocyr" in ru.split() and "portfolio" not in ru.split()
    assert "portfolio" in en.split()


def test_signals_near_each_other_are_near_only_within_one_field(rules) -> None:
    one_field = rules.signals({"text": "Следователь Ахметов: свяжитесь со мной"})[0]
    assert "actor_contact" in one_field
    # «свяжитесь» ends the text and the advertiser is an investigator: two fields, not a phrase
    two_fields = rules.signals(
        {"text": "Если вы стали жертвой, свяжитесь", "advertiser": "Следователь Ахметов"}
    )[0]
    assert {"contact_request", "recovery_actor"} <= set(two_fields)
    assert "actor_contact" not in two_fields


@pytest.mark.parametrize(
    ("text", "guaranteed"),
    [
        ("Доход не гарантирован: прошлые результаты не гарантируют будущих", False),
        ("Табысқа кепілдік берілмейді, 14% жылдық — болжам", False),
        ("We do not guarantee returns of 12% a year", False),
        ("Гарантированный доход 12% в месяц, без риска", True),
        ("Банк вам такого не даст, а у нас доход гарантирован: 12% в месяц", True),
    ],
)
def test_a_guarantee_inside_a_disclaimer_is_masked(rules, text, guaranteed) -> None:
    found = _signals(rules, text)
    assert ("guarantee" in found) is guaranteed
    assert ("guaranteed_return" in found) is guaranteed


def test_a_rule_scores_its_weights_as_decimals(rules) -> None:
    """0.3 + 2.5 + 0.3 + 0.9 is 3.9999999999999996 summed in float order (Python 3.11) and 4.0
    with Python 3.12's compensated sum(): the score is the decimal sum on every version."""
    rule = dataclasses.replace(
        rules.rules[0], id="test.decimal", brands=(), require_all=(), require_any=()
    )
    sigs = ("a", "b", "c", "d")
    engine = copy.copy(rules)
    engine._weight_cols = {rule.id: (sigs, (0.3, 2.5, 0.3, 0.9))}
    assert engine.rule_score(rule, set(sigs), set()) == 4.0


# (signal, text, whether the signal is found): tariffs, discounts and fees said not to be taken.
SIGNAL_CASES = [
    ("unit_price", "Студия посуточно: 15 000 ₸/сутки, 250 000 ₸/мес", True),
    ("unit_price", "Ет 3 800 ₸/кг, қымыз 1 500 ₸/л", True),
    ("unit_price", "Coworking hot desk 45,000 KZT/month, meeting room 4,000 KZT/hour", True),
    # a daily figure with a slash is how pitches write a return: no tariff
    ("unit_price", "NFT за 500 USDT приносит 40 USDT/day", False),
    ("discount", "Абонемент на 3 месяца 48 000 ₸ (−11%)", True),
    ("discount", "Студентам скидка 15%, экономия 13% при оплате за год", True),
    ("discount", "3 айға алсаңыз 10% жеңілдік", True),
    ("discount", "Black Friday: 20% off every plan", True),
    ("discount", "Платформа даёт +15% в месяц", False),  # a gain is no discount
    # a fee said not to be taken (no_fee masks fee_request)
    (
        "fee_request",
        "No registration fee, no paid training, no deposits: a demo lesson only",
        False,
    ),
    ("fee_request", "Выплаты детям на жильё — без всяких сборов и комиссий", False),
    ("fee_request", "Ешқандай жарна төлемейсіз, тіркелу тегін", False),
    ("fee_request", "Для вывода оплатите комиссию 5% и страховой сбор", True),
]


@pytest.mark.parametrize(("signal", "text", "found"), SIGNAL_CASES)
def test_tariffs_discounts_and_fees_said_not_to_be_taken(rules, signal, text, found) -> None:
    assert (signal in _signals(rules, text)) is found
