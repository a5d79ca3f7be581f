"""Official domains are the brand and legit; dnstwist typo-squats are look-alikes of that brand."""

from __future__ import annotations

import dnstwist
import pytest

from crawler.rules.domains import host_of


def _official(engine) -> list[tuple[str, str]]:
    return [(d, b.key) for b in engine.ruleset.brands for d in b.domains]


def test_every_official_domain_and_its_subdomains_are_the_brand_and_official(engine) -> None:
    for domain, brand in _official(engine):
        for host in (domain, f"www.{domain}", f"https://m.{domain}/path?q=1"):
            v = engine.domains.check(host)
            assert (v.brand, v.kind) == (brand, "official"), host


def test_an_official_domain_named_in_the_text_is_no_look_alike_of_itself(engine) -> None:
    # the skeleton of halykbank.kz is "halikbank.kz", one letter from it: read as written only
    for domain, _brand in _official(engine):
        found, _doc = engine.signals({"text": f"Подробнее на {domain}. Условия на сайте."})
        assert "lookalike_domain" not in found, domain
    # a look-alike that only extends an official name is still one
    found, _doc = engine.signals({"text": "Выплаты на halykbank.kz.ru до пятницы"})
    assert "lookalike_domain" in found


def test_an_ad_on_an_official_domain_is_legit(engine) -> None:
    for domain, brand in _official(engine):
        v = engine.classify(
            {
                "text": "Откройте счёт в приложении. Условия и тарифы на сайте.",
                "url": f"https://{domain}/",
            }
        )
        assert v.label == "legit"
        assert brand in v.brands


@pytest.mark.parametrize(
    ("domain", "brand"),
    [
        ("kaspi-invest.top", "kaspi"),
        ("halyk-bonus.online", "halyk"),
        ("xn--kspi-invest-yij.online", "kaspi"),
        ("halykdohod-kz.site", "halyk"),
        ("kazpi-autodohod.app", "kaspi"),
        ("vigroupinvest.online", "vi_group"),
        ("qazatomprom-fund.com", "kazatomprom"),
        ("centrkredit-capital.site", "bcc"),
        ("freedom-broker-premium.site", "freedom"),
    ],
)
def test_brand_plus_lure_and_typo_domains_are_look_alikes(engine, domain, brand) -> None:
    v = engine.domains.check(domain)
    assert (v.brand, v.kind) == (brand, "lookalike")


def test_unrelated_domains_are_not_look_alikes(engine) -> None:
    for d in (
        "google.com",
        "eotinish.kz",
        "kase.kz",
        "zanger-partners.kz",
        "t.me",
        "instagram.com",
    ):
        assert engine.domains.check(d).kind is None, d


def test_dnstwist_look_alikes_in_an_ad_url_are_recognised_as_the_brand(engine) -> None:
    total = found = 0
    misses: list[str] = []
    for domain, brand in _official(engine):
        fuzz = dnstwist.Fuzzer(domain)
        fuzz.generate()
        for entry in fuzz.domains:
            name = entry["domain"]
            if entry.get("fuzzer") == "*original" or name == domain:
                continue
            total += 1
            v = engine.classify(
                {"text": "Зарегистрируйтесь по ссылке", "url": f"https://{name}/reg"}
            )
            ok = brand in v.brands and "lookalike_domain" in v.signals
            found += ok
            if not ok:
                misses.append(f"{name} ({host_of(name)})")
    assert total > 1000
    assert found / total >= 0.95, f"{found}/{total}; e.g. {misses[:20]}"


def test_check_domain_works_on_a_bare_domain() -> None:
    from crawler.rules.domains import check_domain

    assert (check_domain("kaspi.kz").brand, check_domain("kaspi.kz").kind) == ("kaspi", "official")
    v = check_domain("xn--80att7fg.kz")  # каѕрі.kz, all look-alike letters
    assert (v.brand, v.kind) == ("kaspi", "lookalike")
    assert check_domain("example.org").kind is None
