"""``sources.yaml``: the watch list. Loading, validation, schedules and durations.

The file is a YAML list of sources (or a mapping with one key, ``sources``, holding that list)::

    - name: almaty_news_tg          # unique; letters, digits, ``_ . -``
      spider: telegram              # the source kind (crawler/spiders/__init__.py)
      schedule: every 30m           # 5-field cron (UTC) or ``every <N><s|m|h|d>``
      timeout: 20m                  # optional, default 1h; the scheduler ends the crawl after it
      base_url: https://t.me        # optional: replaces the real endpoint (mirror, proxy, tests)
      channels: [almaty_zhanalyq_demo]
      max_pages: 3

Each kind's own parameters are declared in :data:`KIND_PARAMS`. Anything wrong (an unknown key, an
unknown kind, a missing required parameter, a bad schedule or duration, a duplicate name) is
rejected at load time with a :class:`~crawler.errors.ConfigError` naming the file, the source, the
line and the reason. :func:`parse_schedule` and :func:`parse_duration` are public: the scheduler
uses them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from crawler.errors import ConfigError

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger

DEFAULT_TIMEOUT = timedelta(hours=1)
COMMON_KEYS = ("name", "spider", "schedule", "base_url", "timeout")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_EVERY = re.compile(r"^every\s+(\d+)\s*([smhd])$", re.IGNORECASE)
_DURATION = re.compile(r"^(\d+)\s*([smhd])$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


# --------------------------------------------------------------------------- schedules, durations


@dataclass(frozen=True, slots=True)
class Schedule:
    """A parsed ``schedule``: ``kind`` is ``cron`` (``expr`` holds the 5 fields) or ``interval``
    (``seconds``). :meth:`trigger` builds the APScheduler 3 trigger."""

    kind: str
    expr: str
    seconds: int | None = None

    def trigger(self, timezone: Any = "UTC") -> BaseTrigger:
        if self.kind == "cron":
            from apscheduler.triggers.cron import CronTrigger

            return CronTrigger.from_crontab(self.expr, timezone=timezone)
        from apscheduler.triggers.interval import IntervalTrigger

        return IntervalTrigger(seconds=self.seconds or 0, timezone=timezone)

    def __str__(self) -> str:
        return self.expr


def parse_schedule(text: str) -> Schedule:
    """``every 30s`` / ``every 30m`` / ``every 6h`` / ``every 1d``, or a 5-field cron expression
    (validated by APScheduler's ``CronTrigger.from_crontab``; evaluated in UTC unless the caller
    gives a time zone). Raises ``ValueError`` with the reason."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("schedule must be a cron expression or 'every <N><s|m|h|d>'")
    expr = " ".join(text.split())
    match = _EVERY.match(expr)
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        if amount <= 0:
            raise ValueError(f"schedule {text!r}: the interval must be positive")
        return Schedule("interval", f"every {amount}{unit}", amount * _UNIT_SECONDS[unit])
    if expr.lower().startswith("every"):
        raise ValueError(
            f"schedule {text!r}: write 'every' with a number and a unit s, m, h or d "
            "(every 30s, every 30m, every 6h)"
        )
    fields = expr.split(" ")
    if len(fields) != 5:
        raise ValueError(
            f"schedule {text!r}: a cron expression has 5 fields (minute hour day month weekday), "
            f"this one has {len(fields)}"
        )
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expr, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"schedule {text!r}: {exc}") from None
    return Schedule("cron", expr)


def parse_duration(value: str | int | float) -> timedelta:
    """``90s``, ``20m``, ``1h``, ``2d`` (a bare number is seconds). Raises ``ValueError``."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (use 90s, 20m, 1h)")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value).strip())
        if not match:
            raise ValueError(f"{value!r} is not a duration (use 90s, 20m, 1h)")
        seconds = float(int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()])
    if seconds <= 0:
        raise ValueError(f"{value!r}: a duration must be positive")
    return timedelta(seconds=seconds)


# --------------------------------------------------------------------------- kind parameters


def _str_list(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ValueError("expected a non-empty list of strings")
    out = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"expected a non-empty list of strings, got {item!r} in it")
        out.append(item.strip())
    return out


def _url(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a URL")
    split = urlsplit(value.strip())
    if split.scheme not in ("http", "https") or not split.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value.strip()


def _url_list(value: Any) -> list[str]:
    return [_url(v) for v in _str_list(value)]


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected a positive whole number, got {value!r}")
    return value


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a whole number (0 or more), got {value!r}")
    return value


def _duration(value: Any) -> str:
    """A duration, kept as text (``3600s``) so that the entry stays JSON on the sources row."""
    return f"{parse_duration(value).total_seconds():g}s"


def _channel_list(value: Any) -> list[str]:
    """Channel usernames; ``@name`` and ``https://t.me/name`` / ``t.me/s/name`` are accepted."""
    out = []
    for item in _str_list(value):
        name = re.sub(r"^(?:https?://)?(?:www\.)?t(?:elegram)?\.me/(?:s/)?", "", item).lstrip("@")
        name = name.strip("/")
        if not re.fullmatch(r"[A-Za-z0-9_]{3,64}", name):
            raise ValueError(f"{item!r} is not a public channel username")
        out.append(name)
    return out


def _timezone(value: Any) -> str:
    """An IANA time zone name (``Asia/Almaty``), checked against the zone database."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a time zone name (e.g. Asia/Almaty)")
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Almaty, UTC)") from None
    return value.strip()


def _host_template(value: Any) -> str:
    if not isinstance(value, str) or "{host}" not in value:
        raise ValueError(f"{value!r}: expected a URL template with {{host}} in it")
    _url(value.replace("{host}", "example.com"))
    return value.strip()


def _country_list(value: Any) -> list[str]:
    out = []
    for item in _str_list(value):
        if not re.fullmatch(r"[A-Za-z]{2}", item):
            raise ValueError(f"{item!r} is not a two-letter ISO country code")
        out.append(item.upper())
    return out


@dataclass(frozen=True, slots=True)
class Param:
    check: Callable[[Any], Any]
    required: bool = False
    default: Any = None
    help: str = ""


# The parameters of each source kind, by the names DESIGN.md gives. Adding a kind: add its entry
# here, register its spider in crawler/spiders/__init__.py, document it in sources.example.yaml.
KIND_PARAMS: dict[str, dict[str, Param]] = {
    "telegram": {
        "channels": Param(_channel_list, required=True, help="public channel usernames"),
        "max_pages": Param(_positive_int, default=5, help="pages to go back per channel"),
        "search": Param(_str_list, help="in-channel search terms (?q=)"),
    },
    "feeds": {
        "urls": Param(_url_list, required=True, help="RSS 2.0 / Atom / Google News URLs"),
        "timezone": Param(
            _timezone, default="Asia/Almaty", help="zone of the feeds' dates written without one"
        ),
    },
    "landing": {
        "urls": Param(_url_list, help="landing URLs to fetch besides the queue"),
        "max_targets": Param(_positive_int, default=500, help="queued targets per run"),
        "retries": Param(
            _count,
            default=2,
            help="later runs that retry a target failing on the network, 429 or 5xx",
        ),
        "retry_after": Param(_duration, default="1h", help="wait before the first retry (then 4x)"),
    },
    "ctlog": {
        "queries": Param(_str_list, help="crt.sh queries; default from the brand lexicon"),
        "landing_template": Param(
            _host_template, help="URL queued per host, default https://{host}/"
        ),
    },
    "vk": {
        "queries": Param(_str_list, help="newsfeed.search terms"),
        "communities": Param(_str_list, help="communities for wall.get (screen names or ids)"),
        "max_pages": Param(_positive_int, default=5, help="newsfeed.search pages per query"),
    },
    "youtube": {
        "queries": Param(_str_list, required=True, help="search.list terms"),
        "max_pages": Param(_positive_int, default=2, help="search.list pages per query"),
    },
    "meta_ads": {
        "queries": Param(_str_list, required=True, help="search_terms in ru/kk/Latin"),
        "countries": Param(_country_list, help="ad_reached_countries, default LV LT EE DE PL CY"),
        "max_pages": Param(_positive_int, default=20, help="ads_archive pages per query"),
    },
}


# --------------------------------------------------------------------------- the loaded config


@dataclass(frozen=True)
class SourceConfig:
    """One validated entry of sources.yaml. ``params`` holds the kind's own parameters with
    their defaults filled in."""

    name: str
    spider: str
    schedule: Schedule
    params: Mapping[str, Any] = field(default_factory=dict)
    base_url: str | None = None
    timeout: timedelta = DEFAULT_TIMEOUT
    file: str | None = None
    line: int | None = None

    def param(self, key: str, default: Any = None) -> Any:
        value = self.params.get(key)
        return default if value is None else value

    def to_dict(self) -> dict[str, Any]:
        """The entry as YAML would write it (stored on the ``sources`` row)."""
        out: dict[str, Any] = {
            "name": self.name,
            "spider": self.spider,
            "schedule": str(self.schedule),
        }
        if self.base_url:
            out["base_url"] = self.base_url
        out["timeout"] = f"{int(self.timeout.total_seconds())}s"
        out.update({k: v for k, v in self.params.items() if v is not None})
        return out


@dataclass(frozen=True)
class SourcesFile:
    path: Path
    sources: tuple[SourceConfig, ...]

    def get(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"{self.path}: no source named {name!r} (configured: {known})")

    def names(self) -> list[str]:
        return [s.name for s in self.sources]


def load_sources(path: Path | str) -> SourcesFile:
    """Read and validate a sources file; raises :class:`ConfigError` on the first problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: sources file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the sources file: {exc}") from None
    return parse_sources(text, str(path))


def parse_sources(text: str, filename: str = "<sources>") -> SourcesFile:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{filename}{where}: not valid YAML: {reason}") from None
    if root is None:
        return SourcesFile(Path(filename), ())
    if isinstance(root, yaml.MappingNode):
        keys = {k.value: v for k, v in root.value}
        if set(keys) != {"sources"}:
            raise ConfigError(
                f"{filename}:{root.start_mark.line + 1}: expected a list of sources "
                "(or a mapping with the single key 'sources')"
            )
        root = keys["sources"]
    if not isinstance(root, yaml.SequenceNode):
        raise ConfigError(f"{filename}:{root.start_mark.line + 1}: expected a list of sources")

    sources: list[SourceConfig] = []
    seen: dict[str, int] = {}
    for index, node in enumerate(root.value, start=1):
        source = _parse_source(node, filename, index)
        if source.name in seen:
            raise ConfigError(
                f"{filename}:{source.line}: source {source.name!r}: duplicate name "
                f"(first defined at line {seen[source.name]})"
            )
        seen[source.name] = source.line or 0
        sources.append(source)
    return SourcesFile(Path(filename), tuple(sources))


def _parse_source(node: yaml.Node, filename: str, index: int) -> SourceConfig:
    line = node.start_mark.line + 1
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(f"{filename}:{line}: source #{index}: expected a mapping of keys")
    lines: dict[str, int] = {}
    for key_node, _ in node.value:
        key = key_node.value
        if key in lines:
            raise ConfigError(
                f"{filename}:{key_node.start_mark.line + 1}: source #{index}: key {key!r} "
                "appears twice"
            )
        lines[key] = key_node.start_mark.line + 1
    data: dict[str, Any] = yaml.SafeLoader(yaml.serialize(node)).get_single_data()

    raw_name = data.get("name")
    label = f"source {raw_name!r}" if isinstance(raw_name, str) else f"source #{index}"

    def fail(reason: str, key: str | None = None) -> ConfigError:
        at = lines.get(key, line) if key else line
        return ConfigError(f"{filename}:{at}: {label}: {reason}")

    if not isinstance(raw_name, str) or not _NAME.match(raw_name):
        raise fail("'name' is required: letters, digits, '_', '.', '-' (at most 100)", "name")
    kind = data.get("spider")
    if kind not in KIND_PARAMS:
        raise fail(
            f"unknown spider {kind!r} (known kinds: {', '.join(sorted(KIND_PARAMS))})", "spider"
        )
    from crawler.spiders import SPIDERS

    if kind not in SPIDERS:
        raise fail(
            f"spider {kind!r} is not available in this version "
            f"(available: {', '.join(sorted(SPIDERS))})",
            "spider",
        )
    schema = KIND_PARAMS[kind]
    unknown = [k for k in data if k not in COMMON_KEYS and k not in schema]
    if unknown:
        allowed = ", ".join(list(COMMON_KEYS) + list(schema))
        raise fail(
            f"unknown key {unknown[0]!r} for spider {kind!r} (allowed: {allowed})", unknown[0]
        )
    if "schedule" not in data:
        raise fail("'schedule' is required (a cron expression or 'every 30m')")
    try:
        schedule = parse_schedule(data["schedule"])
    except ValueError as exc:
        raise fail(str(exc), "schedule") from None
    try:
        timeout = parse_duration(data["timeout"]) if "timeout" in data else DEFAULT_TIMEOUT
    except ValueError as exc:
        raise fail(f"timeout: {exc}", "timeout") from None
    base_url = None
    if data.get("base_url") is not None:
        try:
            base_url = _url(data["base_url"]).rstrip("/")
        except ValueError as exc:
            raise fail(f"base_url: {exc}", "base_url") from None

    params: dict[str, Any] = {}
    for key, spec in schema.items():
        if data.get(key) is None:
            if spec.required:
                raise fail(f"'{key}' is required for spider {kind!r} ({spec.help or key})", key)
            params[key] = spec.default
            continue
        try:
            params[key] = spec.check(data[key])
        except ValueError as exc:
            raise fail(f"{key}: {exc}", key) from None
    return SourceConfig(
        name=raw_name,
        spider=kind,
        schedule=schedule,
        params=params,
        base_url=base_url,
        timeout=timeout,
        file=filename,
        line=line,
    )


def source_from_dict(data: Mapping[str, Any]) -> SourceConfig:
    """Validate one source given as a mapping (tests, the demo, the benchmark)."""
    text = yaml.safe_dump([dict(data)], allow_unicode=True, sort_keys=False)
    return parse_sources(text, "<inline>").sources[0]
