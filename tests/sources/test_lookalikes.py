"""The .kz look-alike watch list, the look-alike filter and the CertStream update filter."""

from __future__ import annotations

import json

import pytest
from sources.support import fixture

from crawler.apis.certstream import UpdateFilter, synthetic_stream
from crawler.lookalikes import (
    LookalikeFilter,
    clean_domain,
    generate,
    read_watchlist,
    translit_variants,
)
from crawler.rules import load_engine


@pytest.fixture(scope="module")
def lookalikes() -> LookalikeFilter:
    return LookalikeFilter.default()


def test_transliteration_variants_cover_kazakh_latin_spellings():
    assert {"xalyq", "halyq", "xalyk", "khalyk"} <= set(translit_variants("halyk"))
    assert "qaspi" in translit_variants("kaspi")


def test_watch_list_holds_translit_lure_and_dnstwist_labels_for_kz_brands():
    watch = read_watchlist()
    for label, brand in [
        ("xalyq", "halyk"),
        ("halyq", "halyk"),
        ("qaspi", "kaspi"),
        ("halyk-invest", "halyk"),
        ("kaspi-bonus", "kaspi"),
        ("kaspipay", "kaspi"),
        ("halyk-dohod-kz", "halyk"),
        ("kaspi-ipo", "kaspi"),
    ]:
        assert watch[label].brand == brand, label
    methods = {e.method.split(":")[0] for e in watch.values()}
    assert methods == {"dnstwist", "translit", "lure"}
    official = {"halykbank", "kaspi", "bcc", "kazatomprom"}
    assert not official & set(watch)
    assert "bbc" not in watch and "igroup" not in watch  # short or truncated permutations


def test_generated_watch_list_covers_every_brand_with_a_kz_domain():
    brands = load_engine().ruleset.brands
    entries = generate(brands)
    kz_brands = {b.key for b in brands if any(d.endswith(".kz") for d in b.domains)}
    assert {e.brand for e in entries} == kz_brands
    stored = read_watchlist()
    assert {e.brand for e in stored.values()} == kz_brands


def test_filter_knows_official_domains_and_flags_lookalikes(lookalikes):
    assert lookalikes.check("online.halykbank.kz").kind == "official"
    assert lookalikes.check("kaspi.kz").kind == "official"
    verdict = lookalikes.check("xalyq-bonus.online")
    assert (verdict.kind, verdict.brand) == ("lookalike", "halyk")
    assert lookalikes.check("shop.almaty-flowers.kz").kind is None


def test_watch_list_is_consulted_when_the_matcher_finds_nothing():
    from crawler.rules.domains import DomainVerdict

    class BlindMatcher:
        def check(self, host: str) -> DomainVerdict:
            return DomainVerdict(host, host, None, None)

    flt = LookalikeFilter(BlindMatcher(), read_watchlist())  # type: ignore[arg-type]
    verdict = flt.check("cabinet.halyk-invest.top")
    assert (verdict.kind, verdict.brand) == ("lookalike", "halyk")
    assert verdict.reason.startswith("watch list: ")
    assert flt.check("almaty-flowers.kz").kind is None


@pytest.mark.parametrize(
    ("name", "host"),
    [
        ("*.halykinvest-kz.site", "halykinvest-kz.site"),
        ("Kaspi-Pay.TOP.", "kaspi-pay.top"),
        ("admin@halyk.kz", None),
        ("192.168.1.1", None),
        ("localhost", None),
    ],
)
def test_certificate_names_are_cleaned_into_hosts(name, host):
    assert clean_domain(name) == host


def test_certstream_filter_skips_heartbeats_and_reports_each_lookalike_once(lookalikes):
    flt = UpdateFilter(lookalikes)
    frames = fixture("certstream_messages.jsonl").decode().splitlines()
    found = [m for frame in frames + frames for m in flt.feed(frame)]
    assert [m.host for m in found] == ["kaspi-invest-kz.online"]
    assert found[0].brand == "kaspi"
    assert found[0].certificate["serial_number"] == "05A1B2C3D4E5F60718293A4B5C6D7E8F9A0B"
    assert flt.stats.heartbeats == 2 and flt.stats.updates == 4


def test_certstream_filter_survives_garbage_frames(lookalikes):
    flt = UpdateFilter(lookalikes)
    for frame in ("not json", "[]", json.dumps({"message_type": "certificate_update"}), "{}"):
        assert flt.feed(frame) == []
    assert flt.stats.bad_messages == 3 and flt.stats.other == 1


def test_synthetic_stream_names_fresh_hosts_and_some_lookalikes(lookalikes):
    frames = synthetic_stream(
        fixture("certstream_messages.jsonl").decode().splitlines(), 2000, lookalike_share=0.05
    )
    flt = UpdateFilter(lookalikes)
    matches = [m for f in frames for m in flt.feed(f)]
    assert flt.stats.updates == 1998 and flt.stats.heartbeats == 2
    assert 50 <= len(matches) <= 150  # one per look-alike certificate, whatever its SANs


def test_service_prefixes_of_a_harmless_host_are_skipped_but_never_hide_a_lookalike(lookalikes):
    flt = UpdateFilter(lookalikes)
    harmless = [
        "example-shop.kz",
        "mail.example-shop.kz",
        "autodiscover.example-shop.kz",
        "kaspi.example-shop.kz",
    ]
    found = flt.match_domains(harmless)
    assert flt.stats.skipped_infra == 2
    assert [m.host for m in found] == ["kaspi.example-shop.kz"]  # a brand label is checked
    assert [m.host for m in flt.match_domains(["mail.qaspi-bonus.top"])] == ["mail.qaspi-bonus.top"]
