"""What went wrong with an API call, and what to do about it.

Every parser raises :class:`ApiError` with an :class:`Action`:

- ``RETRY``: transient (crt.sh's 502 HTML page, VK code 6, Meta 613/1/2): wait ``retry_after``
  seconds (or the spider's back-off) and ask again;
- ``FAIL``: the run cannot succeed (a bad token, a bad parameter): stop the run as ``failed`` with
  :attr:`ApiError.reason`, a message fit for the crawl run's ``error`` column;
- ``SKIP_UNTIL``: a daily quota is spent (YouTube ``quotaExceeded``): stop as ``failed`` and do
  not call again before ``until``;
- ``SKIP``: this one request is unusable (e.g. a private VK community); go on with the others.
"""

from __future__ import annotations

import enum
from datetime import datetime


class Action(enum.Enum):
    RETRY = "retry"
    FAIL = "fail"
    SKIP_UNTIL = "skip_until"
    SKIP = "skip"


class ApiError(Exception):
    """An API answered with an error (or with something that is not its format)."""

    def __init__(
        self,
        api: str,
        action: Action,
        message: str,
        *,
        code: int | str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        until: datetime | None = None,
    ) -> None:
        super().__init__(message)
        self.api = api
        self.action = action
        self.message = message
        self.code = code
        self.status = status
        self.retry_after = retry_after
        self.until = until

    @property
    def reason(self) -> str:
        """One line for the crawl run: ``vk error 5: User authorization failed: …``."""
        code = f" {self.code}" if self.code is not None else ""
        return f"{self.api} error{code}: {self.message}"

    def __repr__(self) -> str:
        return f"ApiError({self.api!r}, {self.action.value}, code={self.code!r}, {self.message!r})"


def snippet(body: bytes, limit: int = 120) -> str:
    """The start of a body, on one line, for an error message."""
    text = body[: limit * 2].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")
