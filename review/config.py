"""Settings of the review console, read once from the environment (see docs/console.md).

- ``SCAMRADAR_COOKIE_SECURE``: ``auto`` (default: Secure when the request came over https),
  ``1`` or ``0``;
- ``SCAMRADAR_SESSION_HOURS``: a sign-in lasts this long without activity (default 12);
- ``SCAMRADAR_FORWARDED_ALLOW_IPS``: proxies whose X-Forwarded-Proto/For are trusted
  (default ``127.0.0.1``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from crawler.errors import UserError

COOKIE_SECURE_CHOICES = ("auto", "1", "0")


@dataclass(frozen=True)
class ConsoleSettings:
    cookie_secure: str = "auto"
    session_hours: float = 12.0
    forwarded_allow_ips: str = "127.0.0.1"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ConsoleSettings:
        env = os.environ if environ is None else environ
        secure = (env.get("SCAMRADAR_COOKIE_SECURE") or "auto").strip().lower()
        secure = {"true": "1", "yes": "1", "on": "1", "false": "0", "no": "0", "off": "0"}.get(
            secure, secure
        )
        if secure not in COOKIE_SECURE_CHOICES:
            raise UserError(
                f"SCAMRADAR_COOKIE_SECURE {secure!r} is not one of: "
                + ", ".join(COOKIE_SECURE_CHOICES)
            )
        hours_text = env.get("SCAMRADAR_SESSION_HOURS") or "12"
        try:
            hours = float(hours_text)
        except ValueError:
            raise UserError(f"SCAMRADAR_SESSION_HOURS {hours_text!r} is not a number") from None
        if hours <= 0:
            raise UserError("SCAMRADAR_SESSION_HOURS must be positive")
        return cls(
            cookie_secure=secure,
            session_hours=hours,
            forwarded_allow_ips=env.get("SCAMRADAR_FORWARDED_ALLOW_IPS") or "127.0.0.1",
        )
