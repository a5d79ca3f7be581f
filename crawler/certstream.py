"""The CertStream listener: a long-running websocket client that stores new look-alike domains.

``scamradar certstream`` connects to a CertStream server (``--url``, or
``SCAMRADAR_CERTSTREAM_URL``; default the public ``wss://certstream.calidog.io/``), filters every
``certificate_update`` through the look-alike filter (:mod:`crawler.apis.certstream`), and
stores each new look-alike host the way the ``ctlog`` spider does: an ad-like row (spider
``certstream``, ``external_id`` = the host) classified by the rule engine, the message kept as
WARC evidence, and ``https://<host>/`` queued for the ``landing`` spider.

**Reconnects**: a dropped or refused connection is retried after ``1 s, 2 s, 4 s, …`` (±25 %
jitter) up to ``--backoff-max`` (default 5 min); the delay starts again from 1 s once a
connection has delivered messages.

**Heartbeats = crawl runs**: the listener writes one crawl run per window (``--interval``,
default 5 min) for its source (``--source``, default ``certstream``):

- ``finished``: certificate updates arrived in the window (matches or not: the stream is alive);
- ``empty``: connected, but no certificate update (only heartbeats, or silence);
- ``failed``: no connection at all during the window (the error is recorded);
- ``interrupted``: the listener was stopped in the middle of a quiet window.

After each window the source's health is evaluated (:func:`crawler.health.evaluate_source`): a
stream that stays dead for ``SCAMRADAR_ALERT_AFTER`` windows raises the source alarm (and the
webhook, if configured) and clears it when updates flow again. A listener *process* that died
writes no runs at all: its last run stays ``running`` (see docs/sources.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.apis.certstream import CertMatch, UpdateFilter
from crawler.apis.lookalike_item import lookalike_item
from crawler.items import AdItem, Capture

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from crawler.config import AppSettings
    from crawler.evidence import WarcStore
    from crawler.health import Webhook
    from crawler.rules.engine import Engine as RuleEngine

logger = logging.getLogger(__name__)

DEFAULT_URL = "wss://certstream.calidog.io/"
SPIDER = "certstream"


@dataclass(frozen=True)
class ListenerConfig:
    url: str = DEFAULT_URL
    source: str = "certstream"
    interval_s: float = 300.0
    backoff_base_s: float = 1.0
    backoff_max_s: float = 300.0
    open_timeout_s: float = 30.0
    duration_s: float | None = None  # stop after this long (None: until stopped)
    max_size: int = 16 * 1024 * 1024


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
        from crawler.rules import load_engine
        from storage.db import check_connection, make_engine, session_factory
        from storage.migrate import require_current_schema
        from storage.runs import get_or_create_source

        self.app = app
        self.config = config
        self.engine: Engine = make_engine(app.database_url)
        check_connection(self.engine)
        require_current_schema(self.engine)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        self.rules: RuleEngine = load_engine()
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
        """Classify and store the matches of one message; returns the items stored."""
        from sqlalchemy import insert

        from storage.landing import queue_landing_targets
        from storage.models import Evidence
        from storage.sightings import AdSighting, HitData, attach_hits, record_sightings

        assert self.run_id is not None and self.warc is not None
        now = datetime.now(UTC)
        capture = Capture(
            url=str(matches[0].certificate.get("cert_link") or self.config.url),
            status=200,
            headers={"Content-Type": "application/json"},
            body=raw,
            fetched_at=now,
            kind="api",
        )
        ref = self.warc.write(capture)
        self.warc.sync()
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
        for item in items:
            item.verdict = self.rules.classify(
                {
                    "title": item.title or "",
                    "text": item.text,
                    "url": item.landing_url or "",
                    "advertiser": "",
                    "source": SPIDER,
                }
            )
        sightings = [
            AdSighting(
                spider=SPIDER,
                text=i.text,
                title=i.title,
                external_id=i.external_id,
                url=i.url,
                landing_url=i.landing_url,
                language=i.language,
                seen_at=now,
                extra=i.extra,
            )
            for i in items
        ]
        with self.sessions.begin() as session:
            outcomes = record_sightings(session, self.source_id, sightings, run_id=self.run_id)
            verdicts = [
                (
                    o.ad_id,
                    HitData(
                        label=i.verdict.label,
                        score=float(i.verdict.score),
                        ruleset_version=self.rules.ruleset_version,
                        brands=tuple(i.verdict.brands),
                        rules=tuple((r.id, r.version) for r in i.verdict.rules),
                        matches=tuple(i.verdict.to_dict(o.ad_id)["matches"]),
                    ),
                )
                for i, o in zip(items, outcomes, strict=True)
            ]
            attach_hits(session, verdicts)
            session.execute(insert(Evidence), [ref.row(o.ad_id, self.run_id) for o in outcomes])
            for item, outcome in zip(items, outcomes, strict=True):
                window.landing_queued += queue_landing_targets(
                    session, item.links, origin=SPIDER, origin_ad_id=outcome.ad_id
                )
        window.ads_new += sum(o.is_new for o in outcomes)
        window.ads_seen_again += sum(not o.is_new for o in outcomes)
        window.hits += sum(1 for i in items if i.verdict.label != "legit")
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


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """``base * 2**attempt`` with ±25 % jitter, at most ``cap`` seconds."""
    delay = min(base * 2 ** min(attempt, 30), cap)
    return min(delay * random.uniform(0.75, 1.25), cap)


class Listener:
    """Connects, reconnects, feeds the filter, rolls the heartbeat windows."""

    def __init__(self, config: ListenerConfig, flt: UpdateFilter, store: CertstreamStore) -> None:
        self.config = config
        self.filter = flt
        self.store = store
        self.stop = asyncio.Event()
        self.window = Window()
        self.attempt = 0
        self.windows_closed: list[str] = []

    async def run(self) -> list[str]:
        """Listen until stopped (or ``duration_s``); returns the statuses of the windows."""
        self.store.open_run()
        roller = asyncio.ensure_future(self._roll_windows())
        timer = (
            asyncio.get_running_loop().call_later(self.config.duration_s, self.stop.set)
            if self.config.duration_s
            else None
        )
        try:
            while not self.stop.is_set():
                await self._connect_once()
                if self.stop.is_set():
                    break
                delay = backoff_delay(
                    self.attempt, self.config.backoff_base_s, self.config.backoff_max_s
                )
                self.attempt += 1
                logger.info("certstream: reconnecting in %.1f s", delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), delay)
        finally:
            if timer is not None:
                timer.cancel()
            roller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await roller
            elapsed = time.monotonic() - self.window.started
            complete = elapsed >= self.config.interval_s * 0.9 or bool(self.config.duration_s)
            self.windows_closed.append(self.store.close_run(self.window, complete=complete))
        return self.windows_closed

    async def _roll_windows(self) -> None:
        while True:
            await asyncio.sleep(self.config.interval_s)
            window, self.window = self.window, Window(connected=self.window.connected)
            self.windows_closed.append(self.store.close_run(window, complete=True))
            self.store.open_run()

    async def _connect_once(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        try:
            async with connect(
                self.config.url,
                open_timeout=self.config.open_timeout_s,
                max_size=self.config.max_size,
                ping_interval=20,
                ping_timeout=20,
                close_timeout=5,
            ) as ws:
                logger.info("certstream: connected to %s", self.config.url)
                self.window.connected = True
                self.window.connects += 1
                received = 0
                stopper = asyncio.ensure_future(self.stop.wait())
                try:
                    while not self.stop.is_set():
                        getter = asyncio.ensure_future(ws.recv())
                        done, _ = await asyncio.wait(
                            {getter, stopper}, return_when=asyncio.FIRST_COMPLETED
                        )
                        if getter not in done:
                            getter.cancel()
                            with contextlib.suppress(asyncio.CancelledError, WebSocketException):
                                await getter
                            break
                        raw = getter.result()
                        received += 1
                        if received == 1:
                            self.attempt = 0
                        self._handle(raw)
                finally:
                    stopper.cancel()
        except (OSError, TimeoutError, WebSocketException) as exc:
            message = f"{type(exc).__name__}: {exc}"
            self.window.errors.append(message[:300])
            logger.warning(
                "certstream: connection to %s lost or refused: %s", self.config.url, message
            )
        finally:
            self.window.connected = False

    def _handle(self, raw: str | bytes) -> None:
        window = self.window
        stats = self.filter.stats
        before_updates, before_heartbeats = stats.updates, stats.heartbeats
        window.messages += 1
        matches = self.filter.feed(raw)
        window.updates += stats.updates - before_updates
        window.heartbeats += stats.heartbeats - before_heartbeats
        if not matches:
            return
        window.matches += len(matches)
        body = raw.encode("utf-8") if isinstance(raw, str) else raw
        try:
            self.store.store(matches, body, window)
        except Exception as exc:  # boundary: one bad write must not end the listener
            logger.error("certstream: could not store %d matches", len(matches), exc_info=True)
            window.errors.append(f"storage: {type(exc).__name__}: {exc}"[:300])


def run(app: AppSettings, config: ListenerConfig, *, rules_dir: str | None = None) -> list[str]:
    """Listen (blocking) until SIGINT/SIGTERM or ``config.duration_s``; returns the window
    statuses."""
    import signal

    from crawler.lookalikes import LookalikeFilter

    store = CertstreamStore(app, config)
    flt = UpdateFilter(LookalikeFilter.default(rules_dir))
    listener = Listener(config, flt, store)

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, listener.stop.set)
        return await listener.run()

    try:
        return asyncio.run(main())
    finally:
        store.close()


def replay_messages(path: Path) -> list[str]:
    """The frames of a recorded stream (one JSON message per line)."""
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
