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
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///scamradar.db"

_TRUE = {"1", "true", "yes", "on"}


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


@dataclass(frozen=True)
class AppSettings:
    database_url: str = DEFAULT_DATABASE_URL
    sources_path: Path = Path("sources.yaml")
    evidence_dir: Path = Path("evidence")
    allow_private_targets: bool = False
    alert_webhook: str | None = None
    log_level: str = "INFO"
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
            vk_token=env.get("SCAMRADAR_VK_TOKEN") or None,
            youtube_key=env.get("SCAMRADAR_YOUTUBE_KEY") or None,
            meta_token=env.get("SCAMRADAR_META_TOKEN") or None,
        )

    def secrets(self) -> tuple[str, ...]:
        """Every configured secret, for redaction filters."""
        return tuple(s for s in (self.vk_token, self.youtube_key, self.meta_token) if s)
