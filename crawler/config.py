"""The one typed settings object for everything that is not a Scrapy setting.

Every value comes from the environment (read once, in :meth:`AppSettings.from_env`); nothing is
read at import time. Scrapy's ``crawler/settings.py`` and the CLI both take their values from here.

| variable | meaning | default |
|---|---|---|
| ``DATABASE_URL`` | SQLAlchemy URL of the database | ``sqlite:///scamradar.db`` |
| ``SCAMRADAR_SOURCES`` | path of ``sources.yaml`` | ``sources.yaml`` |
| ``SCAMRADAR_EVIDENCE_DIR`` | where WARC files are written | ``evidence`` |
| ``SCAMRADAR_ALLOW_PRIVATE_TARGETS`` | ``1``: spiders may fetch private URLs found in ads | off |
| ``SCAMRADAR_ALERT_WEBHOOK`` | URL that receives source-health alerts as JSON | none |
| ``SCAMRADAR_VK_TOKEN``, ``SCAMRADAR_YOUTUBE_KEY``, ``SCAMRADAR_META_TOKEN`` | API secrets | none |
| ``SCAMRADAR_LOG_LEVEL`` | logging level | ``INFO`` |
| ``SCAMRADAR_LOG_DIR`` | where the scheduler writes each source's crawl log | ``logs`` |
| ``SCAMRADAR_ALERT_AFTER`` | bad runs in a row (empty/failed/timeout) that raise an alarm | ``3`` |
| ``SCAMRADAR_MISFIRE_GRACE`` | seconds a missed run may still start late | ``300`` |
| ``SCAMRADAR_SHUTDOWN_GRACE`` | seconds running crawls get to finish on SIGTERM | ``60`` |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from crawler.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///scamradar.db"

_TRUE = {"1", "true", "yes", "on"}


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{name}={raw!r}: expected a whole number of at least 1")
    return value


@dataclass(frozen=True)
class AppSettings:
    database_url: str = DEFAULT_DATABASE_URL
    sources_path: Path = Path("sources.yaml")
    evidence_dir: Path = Path("evidence")
    allow_private_targets: bool = False
    alert_webhook: str | None = None
    log_level: str = "INFO"
    log_dir: Path = Path("logs")
    alert_after_runs: int = 3
    misfire_grace_s: int = 300
    shutdown_grace_s: int = 60
    # Secrets are kept out of repr() so that they never reach a log line by accident.
    vk_token: str | None = field(default=None, repr=False)
    youtube_key: str | None = field(default=None, repr=False)
    meta_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AppSettings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            sources_path=Path(env.get("SCAMRADAR_SOURCES") or "sources.yaml"),
            evidence_dir=Path(env.get("SCAMRADAR_EVIDENCE_DIR") or "evidence"),
            allow_private_targets=_flag(env.get("SCAMRADAR_ALLOW_PRIVATE_TARGETS")),
            alert_webhook=env.get("SCAMRADAR_ALERT_WEBHOOK") or None,
            log_level=(env.get("SCAMRADAR_LOG_LEVEL") or "INFO").upper(),
            log_dir=Path(env.get("SCAMRADAR_LOG_DIR") or "logs"),
            alert_after_runs=_positive(env, "SCAMRADAR_ALERT_AFTER", 3),
            misfire_grace_s=_positive(env, "SCAMRADAR_MISFIRE_GRACE", 300),
            shutdown_grace_s=_positive(env, "SCAMRADAR_SHUTDOWN_GRACE", 60),
            vk_token=env.get("SCAMRADAR_VK_TOKEN") or None,
            youtube_key=env.get("SCAMRADAR_YOUTUBE_KEY") or None,
            meta_token=env.get("SCAMRADAR_META_TOKEN") or None,
        )

    def secrets(self) -> tuple[str, ...]:
        """Every configured secret, for redaction filters."""
        return tuple(s for s in (self.vk_token, self.youtube_key, self.meta_token) if s)
