"""Source health: a source whose last N runs all went wrong raises an alarm; it clears itself
when the source recovers.

An alarm is a ``source_alerts`` row (open while ``closed_at`` is null), a WARNING log line and,
when ``SCAMRADAR_ALERT_WEBHOOK`` is set, a JSON POST to that URL. The POST is retried with
back-off in a background thread, so a slow or dead receiver never holds up the scheduler.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from tenacity import retry, stop_after_attempt, wait_exponential

from storage.models import CrawlRun, Source, SourceAlert, utcnow

logger = logging.getLogger(__name__)

BAD_STATUSES = ("empty", "failed", "timeout")
WEBHOOK_TIMEOUT_S = 10
WEBHOOK_ATTEMPTS = 5


@dataclass(frozen=True)
class AlertEvent:
    """What changed: an alarm was ``raised`` or ``cleared`` for a source."""

    event: str
    source: str
    reason: str
    runs: list[int]
    at: datetime

    def payload(self) -> dict[str, object]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        data["service"] = "scamradar"
        return data


def evaluate_source(session: Session, source_id: int, *, after_runs: int) -> AlertEvent | None:
    """Open or close the alarm of a source from its finished runs; returns what changed."""
    runs = list(
        session.execute(
            select(CrawlRun.id, CrawlRun.status, CrawlRun.error)
            .where(CrawlRun.source_id == source_id, CrawlRun.status != "running")
            .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
            .limit(after_runs)
        )
    )
    if not runs:
        return None
    source = session.get_one(Source, source_id)
    alert = session.scalar(
        select(SourceAlert).where(
            SourceAlert.source_id == source_id, SourceAlert.closed_at.is_(None)
        )
    )
    now = utcnow()
    failing = len(runs) >= after_runs and all(r.status in BAD_STATUSES for r in runs)
    if failing and alert is None:
        statuses = ", ".join(r.status for r in runs)
        last_error = next((r.error for r in runs if r.error), None)
        reason = f"last {len(runs)} runs went wrong ({statuses})"
        if last_error:
            reason += f"; last error: {last_error[:300]}"
        session.add(SourceAlert(source_id=source_id, reason=reason, opened_at=now))
        logger.warning("source %s: alarm raised: %s", source.name, reason)
        return AlertEvent("raised", source.name, reason, [r.id for r in runs], now)
    if alert is not None and runs[0].status not in BAD_STATUSES:
        alert.closed_at = now
        reason = f"run {runs[0].id} ended {runs[0].status}"
        logger.warning("source %s: alarm cleared: %s", source.name, reason)
        return AlertEvent("cleared", source.name, reason, [runs[0].id], now)
    return None


class Webhook:
    """Posts alert events as JSON to one URL, from a background thread, with retries."""

    def __init__(self, url: str, *, attempts: int = WEBHOOK_ATTEMPTS) -> None:
        self.url = url
        self.attempts = attempts
        self._threads: list[threading.Thread] = []

    def send(self, event: AlertEvent) -> threading.Thread:
        thread = threading.Thread(
            target=self._deliver, args=(event,), name=f"webhook-{event.source}", daemon=True
        )
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        return thread

    def join(self, timeout: float | None = None) -> None:
        for thread in list(self._threads):
            thread.join(timeout)

    def _deliver(self, event: AlertEvent) -> None:
        body = json.dumps(event.payload(), ensure_ascii=False).encode("utf-8")

        @retry(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=0.5, max=30),
            reraise=True,
        )
        def post() -> None:
            request = urllib.request.Request(
                self.url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
                response.read()

        try:
            post()
        except OSError as exc:  # URLError, HTTPError, timeouts: all OSError
            logger.error(
                "alert webhook %s: gave up after %d attempts: %s", self.url, self.attempts, exc
            )
