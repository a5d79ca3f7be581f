from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.errors import UserError
from storage.models import Ad, Hit, Review
from storage.reviews import append_review
from storage.runs import RunCounts, close_crawl_run, get_or_create_source, open_crawl_run
from storage.sightings import AdSighting, HitData, attach_hit, link_indicators, record_sightings

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def _ad(**kw: object) -> AdSighting:
    fields = {"spider": "telegram", "text": "Халық Инвест: 300 000 ₸ в месяц", "seen_at": T0}
    fields.update(kw)
    return AdSighting(**fields)  # type: ignore[arg-type]


def test_the_same_ad_recorded_twice_is_one_row_seen_twice(session: Session) -> None:
    source = get_or_create_source(session, "tg-demo", "telegram")
    first = record_sightings(session, source.id, [_ad(external_id="chan/1")])
    later = T0 + timedelta(hours=3)
    second = record_sightings(session, source.id, [_ad(external_id="chan/1", seen_at=later)])

    assert first[0].is_new and not second[0].is_new
    assert first[0].ad_id == second[0].ad_id
    ad = session.get_one(Ad, first[0].ad_id)
    session.refresh(ad)
    assert ad.times_seen == 2
    assert ad.first_seen == T0
    assert ad.last_seen == later
    assert session.scalar(select(func.count()).select_from(Ad)) == 1


def test_an_ad_without_external_id_is_deduplicated_by_content(session: Session) -> None:
    source = get_or_create_source(session, "landing", "landing")
    a = record_sightings(session, source.id, [_ad(text="Kaspi  Invest\n 50%")])
    b = record_sightings(session, source.id, [_ad(text="kaspi invest 50%")])
    assert a[0].ad_id == b[0].ad_id and b[0].times_seen == 2


def test_the_same_text_from_two_sources_stays_two_ads(session: Session) -> None:
    one = get_or_create_source(session, "tg-a", "telegram")
    two = get_or_create_source(session, "vk-b", "vk")
    a = record_sightings(session, one.id, [_ad()])
    b = record_sightings(session, two.id, [_ad(spider="vk")])
    assert a[0].ad_id != b[0].ad_id
    assert a[0].is_new and b[0].is_new


def test_a_batch_with_repeats_counts_each_sighting(session: Session) -> None:
    source = get_or_create_source(session, "tg", "telegram")
    out = record_sightings(
        session, source.id, [_ad(external_id="1"), _ad(external_id="2"), _ad(external_id="1")]
    )
    assert [o.is_new for o in out] == [True, True, False]
    assert out[0].ad_id == out[2].ad_id and out[2].times_seen == 2
    session.expire_all()
    assert session.get_one(Ad, out[0].ad_id).times_seen == 2


def test_a_hit_sets_the_ads_label_and_brands_and_is_kept_when_seen_again(session: Session) -> None:
    source = get_or_create_source(session, "tg", "telegram")
    [o] = record_sightings(session, source.id, [_ad()])
    verdict = HitData(
        label="fake_investment",
        score=0.93,
        ruleset_version="r1",
        brands=["halyk"],
        rules=[("fake_platform_brand", 2)],
        matches=[
            {
                "rule": "fake_platform_brand",
                "brand": "halyk",
                "field": "text",
                "start": 0,
                "end": 5,
                "text": "Халық",
            }
        ],
    )
    first = attach_hit(session, o.ad_id, verdict)
    again = attach_hit(session, o.ad_id, verdict)
    assert first is not None and first == again
    ad = session.get_one(Ad, o.ad_id)
    session.refresh(ad)
    assert (ad.label, ad.score, ad.hit_id) == ("fake_investment", 0.93, first)
    hit = session.get_one(Hit, first)
    assert [b.brand for b in hit.brands] == ["halyk"]
    assert [(r.rule_id, r.rule_version) for r in hit.rules] == [("fake_platform_brand", 2)]


def test_a_legit_verdict_clears_the_current_hit(session: Session) -> None:
    source = get_or_create_source(session, "tg", "telegram")
    [o] = record_sightings(session, source.id, [_ad()])
    attach_hit(session, o.ad_id, HitData("recovery_scam", 0.8, "r1"))
    assert attach_hit(session, o.ad_id, HitData("legit", 0.1, "r2")) is None
    ad = session.get_one(Ad, o.ad_id)
    session.refresh(ad)
    assert ad.label == "legit" and ad.hit_id is None


def test_indicators_link_ads_of_one_campaign(session: Session) -> None:
    source = get_or_create_source(session, "tg", "telegram")
    a, b = record_sightings(session, source.id, [_ad(external_id="a"), _ad(external_id="b")])
    assert link_indicators(session, a.ad_id, [("phone", "+77000000001"), ("domain", "x.top")]) == 2
    assert link_indicators(session, b.ad_id, [("phone", "+77000000001")]) == 1
    assert link_indicators(session, a.ad_id, [("phone", "+77000000001")]) == 0


def test_reviews_are_appended_and_the_latest_is_the_ads_status(session: Session) -> None:
    source = get_or_create_source(session, "tg", "telegram")
    [o] = record_sightings(session, source.id, [_ad()])
    append_review(session, o.ad_id, "confirmed", reviewer="aigerim", note="bank notified")
    append_review(session, o.ad_id, "taken_down", reviewer="aigerim")
    ad = session.get_one(Ad, o.ad_id)
    session.refresh(ad)
    assert ad.status == "taken_down"
    assert (
        session.scalar(select(func.count()).select_from(Review).where(Review.ad_id == o.ad_id)) == 2
    )
    with pytest.raises(UserError, match="unknown review status"):
        append_review(session, o.ad_id, "maybe", reviewer="aigerim")


def test_a_crawl_run_is_opened_and_closed_with_its_counts(session: Session) -> None:
    source = get_or_create_source(session, "tg", "telegram")
    run = open_crawl_run(session, source, pid=42)
    assert run.status == "running"
    closed = close_crawl_run(
        session,
        run.id,
        "finished",
        RunCounts(items=3, ads_new=2, ads_seen_again=1, hits=1),
        stats={"finish_time": T0, "item_scraped_count": 3},
    )
    assert closed.status == "finished" and closed.finished_at is not None
    assert closed.stats["finish_time"] == T0.isoformat()
    with pytest.raises(ValueError):
        close_crawl_run(session, run.id, "running", RunCounts())


def test_a_landing_pages_cloaking_verdict_is_kept_on_the_ad(session: Session) -> None:
    source = get_or_create_source(session, "landing", "landing")
    cloaked, plain, unknown = record_sightings(
        session,
        source.id,
        [
            _ad(spider="landing", external_id="a", extra={"cloaked": True}),
            _ad(spider="landing", external_id="b", extra={"cloaked": False}),
            _ad(external_id="c"),
        ],
    )
    assert [session.get_one(Ad, o.ad_id).cloaked for o in (cloaked, plain, unknown)] == [
        True,
        False,
        None,
    ]
