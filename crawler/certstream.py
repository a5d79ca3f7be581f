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
writes no runs at all: ``scamradar certstream --check`` (cron, or a scheduler job) raises the
alarm when the newest window is too old (:func:`crawler.certstream_store.check_heartbeat`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.apis.certstream import UpdateFilter
from crawler.certstream_store import SPIDER, CertstreamStore, Window

if TYPE_CHECKING:
    from crawler.config import AppSettings

logger = logging.getLogger(__name__)

DEFAULT_URL = "wss://certstream.calidog.io/"
__all__ = ["SPIDER", "CertstreamStore", "Listener", "ListenerConfig", "Window", "run"]


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
                closer = asyncio.ensure_future(self._close_on_stop(ws))
                try:
                    async for raw in ws:  # ends when the server, or _close_on_stop, closes
                        received += 1
                        if received == 1:
                            self.attempt = 0  # a connection that delivers resets the back-off
                        self._handle(raw)
                finally:
                    closer.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await closer
                if not self.stop.is_set():
                    self.window.errors.append("the server closed the connection")
                    logger.warning("certstream: %s closed the connection", self.config.url)
        except (OSError, TimeoutError, WebSocketException) as exc:
            message = f"{type(exc).__name__}: {exc}"
            self.window.errors.append(message[:300])
            logger.warning(
                "certstream: connection to %s lost or refused: %s", self.config.url, message
            )
        finally:
            self.window.connected = False

    async def _close_on_stop(self, ws: Any) -> None:
        await self.stop.wait()
        await ws.close()

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
