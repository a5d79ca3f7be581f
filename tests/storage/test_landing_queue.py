from __future__ import annotations

from sqlalchemy.orm import Session

from storage.landing import mark_landing_target, pending_landing_targets, queue_landing_targets


def test_a_landing_url_is_queued_once_and_leaves_the_queue_when_fetched(session: Session) -> None:
    urls = ["https://halyk-invest.top/?sub1=a", "https://kaspi-bonus.online/"]
    assert queue_landing_targets(session, urls, origin="ad") == 2
    assert queue_landing_targets(session, [urls[0], " "], origin="ctlog") == 0
    pending = pending_landing_targets(session)
    assert [t.url for t in pending] == urls
    assert pending[0].domain == "halyk-invest.top"
    mark_landing_target(session, urls[0], "fetched")
    session.expire_all()
    assert [t.url for t in pending_landing_targets(session)] == urls[1:]
