from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.errors import UserError
from storage.allowlist import (
    add_entry,
    allowlisted,
    allowlisted_clause,
    is_allowlisted,
    list_entries,
    remove_entry,
)
from storage.models import Ad
from storage.runs import get_or_create_source
from storage.sightings import AdSighting, record_sightings


def test_allowlisted_returns_normalised_domains_and_advertisers(session: Session) -> None:
    add_entry(session, "domain", "https://WWW.Partner-Bank.kz/promo", created_by="t")
    add_entry(session, "advertiser", "  Kaspi   Bank ", created_by="t")
    again = add_entry(session, "domain", "partner-bank.kz", created_by="t")
    assert len(list_entries(session)) == 2 and again.value == "partner-bank.kz"
    domains, advertisers = allowlisted(session)
    assert domains == {"partner-bank.kz"} and advertisers == {"kaspi bank"}


def test_a_domain_covers_its_subdomains_and_advertisers_match_case_blind() -> None:
    domains, advertisers = frozenset({"partner-bank.kz"}), frozenset({"kaspi bank"})
    assert is_allowlisted(domains, advertisers, landing="https://shop.partner-bank.kz/x")
    assert is_allowlisted(domains, advertisers, landing="partner-bank.kz")
    assert not is_allowlisted(domains, advertisers, landing="https://partner-bank.kz.evil.top/")
    assert not is_allowlisted(domains, advertisers, landing="https://notpartner-bank.kz/")
    assert is_allowlisted(domains, advertisers, advertiser="KASPI  bank")
    assert not is_allowlisted(domains, advertisers, advertiser="Kaspi Bank Invest")
    assert not is_allowlisted(domains, advertisers)


@pytest.mark.parametrize("value", ["t.me", "https://vk.com/club1", "m.youtube.com", "wa.me"])
def test_platform_domains_cannot_be_allowlisted(session: Session, value: str) -> None:
    with pytest.raises(UserError, match="platform"):
        add_entry(session, "domain", value, created_by="t")


def test_bad_entries_are_refused(session: Session) -> None:
    for kind, value in (("domain", "not a domain"), ("advertiser", "   "), ("phone", "+7701")):
        with pytest.raises(UserError):
            add_entry(session, kind, value, created_by="t")


def test_the_sql_clause_agrees_with_the_python_test(session: Session) -> None:
    src = get_or_create_source(session, "allow-src", "landing")
    out = record_sightings(
        session,
        src.id,
        [
            AdSighting(spider="landing", text="a", landing_url="https://partner-bank.kz/"),
            AdSighting(spider="landing", text="b", landing_url="https://shop.partner-bank.kz/"),
            AdSighting(spider="landing", text="c", landing_url="https://notpartner-bank.kz/"),
            AdSighting(spider="landing", text="d", advertiser="Kaspi Bank"),
            AdSighting(spider="landing", text="e", advertiser="Kaspi Bank Invest"),
        ],
    )
    ids = [o.ad_id for o in out]
    entry = add_entry(session, "domain", "partner-bank.kz", created_by="t")
    add_entry(session, "advertiser", "Kaspi Bank", created_by="t")
    covered = set(session.scalars(select(Ad.id).where(Ad.id.in_(ids), allowlisted_clause())))
    assert covered == {ids[0], ids[1], ids[3]}
    assert remove_entry(session, entry.id)
    covered = set(session.scalars(select(Ad.id).where(Ad.id.in_(ids), allowlisted_clause())))
    assert covered == {ids[3]}
