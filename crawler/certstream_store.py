"""The CertStream listener's database side: one crawl run per heartbeat window, and the
look-alike hosts stored like the ``ctlog`` spider's (see :mod:`crawler.certstream`)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from crawler.apis.certstream import CertMatch
from crawler.apis.lookalike_item import lookalike_item
from crawler.items import AdItem, Capture

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from crawler.certstream import ListenerConfig
    from crawler.config import AppSettings
    from crawler.evidence import WarcStore
    from crawler.health import Webhook

logger = logging.getLogger("crawler.certstream")

SPIDER = "certstream"


@dataclass
class Window:
    """What happened during one heartbeat window."""

    started: float = field(default_factory=time.monotonic)
    messages: int = 0
    updates: int = 0
    heartbeats: int = 0
    matches: int = 0
    ads_new: int = 0
    ads_seen_again: int = 0
    hits: int = 0
    landing_queued: int = 0
    connected: bool = False
    connects: int = 0
    errors: list[str] = field(default_factory=list)

    def judge(self, *, complete: bool) -> tuple[str, str | None]:
        if self.updates:
            return "finished", None
        if not complete:
            return "interrupted", "the listener stopped during the window"
        if self.connected or self.connects:
            return "empty", f"connected, {self.heartbeats} heartbeats but no certificate update"
        why = "; ".join(dict.fromkeys(self.errors))[:1500] or "no connection"
        return "failed", f"no connection to the CertStream server: {why}"

    def stats(self) -> dict[str, Any]:
        return {
            "certstream/messages": self.messages,
            "certstream/updates": self.updates,
            "certstream/heartbeats": self.heartbeats,
            "certstream/matches": self.matches,
            "certstream/connects": self.connects,
            "certstream/errors": len(self.errors),
            "storage/landing_queued": self.landing_queued,
        }


class CertstreamStore:
    """The database side: the source row, one crawl run per window, the matches."""

    def __init__(self, app: AppSettings, config: ListenerConfig) -> None:
        from crawler.health import Webhook
        from crawler.pipelines.classify import Classifier
        from storage.db import check_connection, make_engine, session_factory
        from storage.migrate import require_current_schema
        from storage.runs import get_or_create_source

        self.app = app
        self.config = config
        self.engine: Engine = make_engine(app.database_url)
        check_connection(self.engine)
        require_current_schema(self.engine)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        self.classifier = Classifier()
        self.webhook: Webhook | None = Webhook(app.alert_webhook) if app.alert_webhook else None
        with self.sessions.begin() as session:
            row = get_or_create_source(
                session,
                config.source,
                SPIDER,
                {
                    "name": config.source,
                    "spider": SPIDER,
                    "url": config.url,
                    "interval": f"{int(config.interval_s)}s",
                },
            )
            self.source_id = row.id
        self.run_id: int | None = None
        self.warc: WarcStore | None = None

    def open_run(self) -> int:
        from crawler.evidence import WarcStore, run_file_name
        from storage.models import Source
        from storage.runs import open_crawl_run

        with self.sessions.begin() as session:
            source = session.get_one(Source, self.source_id)
            run = open_crawl_run(session, source, pid=_pid())
            self.run_id = run.id
        self.warc = WarcStore(
            self.app.evidence_dir,
            run_file_name(self.config.source, self.run_id),
            info={"source": self.config.source, "spider": SPIDER, "crawl-run": str(self.run_id)},
        )
        return self.run_id

    def close_run(self, window: Window, *, complete: bool) -> str:
        from crawler.health import evaluate_source
        from storage.runs import RunCounts, close_crawl_run

        assert self.run_id is not None
        status, error = window.judge(complete=complete)
        counts = RunCounts(
            items=window.matches,
            ads_new=window.ads_new,
            ads_seen_again=window.ads_seen_again,
            hits=window.hits,
            errors=len(window.errors),
        )
        if self.warc is not None:
            self.warc.close()
        event = None
        with self.sessions.begin() as session:
            close_crawl_run(session, self.run_id, status, counts, stats=window.stats(), error=error)
        with self.sessions.begin() as session:
            event = evaluate_source(session, self.source_id, after_runs=self.app.alert_after_runs)
        if event is not None and self.webhook is not None:
            self.webhook.send(event)
        level = logging.INFO if status == "finished" else logging.WARNING
        logger.log(
            level,
            "certstream run %d: %s (%d updates, %d look-alikes, %d new)%s",
            self.run_id,
            status,
            window.updates,
            window.matches,
            window.ads_new,
            f": {error}" if error else "",
        )
        self.run_id = None
        return status

    def store(self, matches: list[CertMatch], raw: bytes, window: Window) -> list[AdItem]:
        """Classify and store the matches of one message, through the crawl pipeline's own
        stages (allowlist, indicators, evidence rows and landing queue included); returns the
        items stored."""
        from crawler.pipelines.store import BatchWriter

        assert self.run_id is not None and self.warc is not None
        capture = Capture(
            url=str(matches[0].certificate.get("cert_link") or self.config.url),
            status=200,
            headers={"Content-Type": "application/json"},
            body=raw,
            fetched_at=datetime.now(UTC),
            kind="api",
        )
        ref = self.warc.write(capture)
        items = [
            lookalike_item(
                source=self.config.source,
                spider=SPIDER,
                host=m.host,
                brand=m.brand,
                reason=m.reason,
                certificate=m.certificate,
                url=m.certificate.get("cert_link"),
                names=m.certificate.get("all_domains", ()),
            )
            for m in matches
        ]
        counts: Counter[str] = Counter()
        for item in items:
            item.evidence = [ref]
            self.classifier.classify(item, counts, window.errors)
        writer = BatchWriter(
            self.sessions, self.source_id, self.run_id, self.classifier.ruleset_version, self.warc
        )
        counts.update(writer.write(items))
        window.ads_new += counts["storage/ads_new"]
        window.ads_seen_again += counts["storage/ads_seen_again"]
        window.hits += counts["storage/hits"]
        window.landing_queued += counts["storage/landing_queued"]
        for item in items:
            logger.info(
                "certstream: look-alike %s (%s)",
                item.external_id,
                item.extra["lookalike"]["reason"],
            )
        return items

    def close(self) -> None:
        if self.warc is not None:
            self.warc.close()
        if self.webhook is not None:
            self.webhook.join(timeout=10)
        self.engine.dispose()


def _pid() -> int:
    import os

    return os.getpid()


def check_heartbeat(
    session: Session, source: str, *, max_silence_s: float, now: datetime | None = None
) -> str | None:
    """Raise the source alarm when the listener has been silent too long: its newest run
    started (or, if closed, ended) more than ``max_silence_s`` ago, or it never ran. Returns the
    reason, or None when the listener is alive. A listener *process* that died writes nothing,
    so this check (``scamradar certstream --check``, from cron or the scheduler) is what sees
    it; the alarm clears itself at the next good window (:func:`crawler.health.evaluate_source`).
    """
    from sqlalchemy import select

    from storage.models import CrawlRun, Source, SourceAlert

    now = now or datetime.now(UTC)
    row = session.scalar(select(Source).where(Source.name == source))
    if row is None:
        return f"no source {source!r}: the CertStream listener never ran"
    last = session.scalar(
        select(CrawlRun)
        .where(CrawlRun.source_id == row.id)
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        .limit(1)
    )
    seen = (last.finished_at or last.started_at) if last is not None else row.created_at
    silence = (now - seen).total_seconds()
    if silence <= max_silence_s:
        return None
    reason = (
        f"the CertStream listener is silent: no heartbeat window for {int(silence)} s "
        f"(allowed {int(max_silence_s)} s); is `scamradar certstream` running?"
    )
    open_alert = session.scalar(
        select(SourceAlert).where(SourceAlert.source_id == row.id, SourceAlert.closed_at.is_(None))
    )
    if open_alert is None:
        session.add(SourceAlert(source_id=row.id, reason=reason, opened_at=now))
        logger.warning("source %s: alarm raised: %s", source, reason)
    return reason
