"""sources.yaml: what loads, and how each mistake is reported (file, source, line, reason)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from crawler.errors import ConfigError
from crawler.sources import load_sources, parse_duration, parse_schedule, parse_sources

GOOD = """\
# a watch list
- name: almaty_tg
  spider: telegram
  schedule: every 30m
  channels: ["@almaty_zhanalyq_demo", "https://t.me/s/other_channel"]
  search: Казатомпром
- name: news
  spider: feeds
  schedule: "*/15 * * * *"
  timeout: 20m
  base_url: http://127.0.0.1:8080/
  urls: [https://qazaq-janalyq.example/news.rss]
"""


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_sources(text, "watch.yaml")
    return str(info.value)


def test_a_valid_file_loads_with_defaults_filled_in() -> None:
    sources = parse_sources(GOOD, "watch.yaml")
    tg, news = sources.sources
    assert tg.params["channels"] == ["almaty_zhanalyq_demo", "other_channel"]
    assert tg.params["search"] == ["Казатомпром"]
    assert tg.params["max_pages"] == 5
    assert tg.timeout == timedelta(hours=1)
    assert tg.schedule.kind == "interval" and tg.schedule.seconds == 1800
    assert news.schedule.kind == "cron" and news.timeout == timedelta(minutes=20)
    assert news.base_url == "http://127.0.0.1:8080"
    assert sources.get("news") is news


def test_a_mapping_with_a_sources_key_is_accepted() -> None:
    text = "sources:\n" + "".join(f"  {line}\n" for line in GOOD.splitlines())
    assert parse_sources(text, "watch.yaml").names() == ["almaty_tg", "news"]


def test_an_unknown_spider_is_rejected_with_file_source_line_and_reason() -> None:
    message = _error("- name: x\n  spider: myspace\n  schedule: every 1h\n")
    assert message.startswith("watch.yaml:2: source 'x': unknown spider 'myspace'")
    assert "telegram" in message


def test_a_telegram_source_without_channels_is_rejected() -> None:
    message = _error("- name: tg\n  spider: telegram\n  schedule: every 1h\n")
    assert message.startswith("watch.yaml:1: source 'tg':")
    assert "'channels' is required" in message


@pytest.mark.parametrize(
    ("schedule", "reason"),
    [
        ("every day", "write 'every' with a number"),
        ("every 0m", "must be positive"),
        ("61 * * * *", "61"),
        ("* * * *", "5 fields"),
        ("sometimes", "5 fields"),
    ],
)
def test_a_bad_schedule_is_rejected_with_its_reason(schedule: str, reason: str) -> None:
    message = _error(
        f"- name: tg\n  spider: telegram\n  channels: [abc_def]\n  schedule: '{schedule}'\n"
    )
    assert message.startswith("watch.yaml:4: source 'tg': schedule")
    assert reason in message


def test_an_unknown_key_is_rejected_naming_the_allowed_ones() -> None:
    message = _error(
        "- name: tg\n  spider: telegram\n  schedule: every 1h\n"
        "  channels: [abc_def]\n  chanels: [typo]\n"
    )
    assert message.startswith("watch.yaml:5: source 'tg': unknown key 'chanels'")
    assert "max_pages" in message


def test_a_duplicate_name_is_rejected() -> None:
    entry = "- name: tg\n  spider: telegram\n  schedule: every 1h\n  channels: [abc_def]\n"
    assert "duplicate name (first defined at line 1)" in _error(entry + entry)


def test_a_bad_timeout_or_base_url_is_rejected() -> None:
    entry = "- name: tg\n  spider: telegram\n  schedule: every 1h\n  channels: [abc_def]\n"
    assert "timeout" in _error(entry + "  timeout: soon\n")
    assert "base_url" in _error(entry + "  base_url: ftp://mirror\n")


def test_feeds_need_http_urls() -> None:
    message = _error("- name: n\n  spider: feeds\n  schedule: every 1h\n  urls: [news.rss]\n")
    assert "urls" in message and "not an http(s) URL" in message


def test_a_missing_file_and_broken_yaml_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sources file not found"):
        load_sources(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("- name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.yaml:\d+: not valid YAML"):
        load_sources(broken)


def test_schedules_and_durations_parse_for_the_scheduler() -> None:
    assert parse_schedule("every 30s").seconds == 30
    assert parse_schedule("every 6h").seconds == 6 * 3600
    assert parse_schedule("0  */6 * * 1-5").expr == "0 */6 * * 1-5"
    trigger = parse_schedule("0 9 * * *").trigger()
    assert "hour='9'" in str(trigger)
    assert parse_schedule("every 2m").trigger().interval == timedelta(minutes=2)
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("20m") == timedelta(minutes=20)
    assert parse_duration(45) == timedelta(seconds=45)
    with pytest.raises(ValueError):
        parse_duration("1 week")


def test_the_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "sources.example.yaml"
    sources = load_sources(example)
    assert {"telegram", "feeds", "landing"} <= {s.spider for s in sources.sources}


def test_feeds_take_an_iana_timezone_for_dates_without_one() -> None:
    entry = "- name: n\n  spider: feeds\n  schedule: every 1h\n  urls: [https://a.example/rss]\n"
    message = _error(entry + "  timezone: Almaty+5\n")
    assert "timezone" in message and "unknown time zone" in message
    assert parse_sources(entry, "w.yaml").sources[0].param("timezone") == "Asia/Almaty"
    assert (
        parse_sources(entry + "  timezone: UTC\n", "w.yaml").sources[0].param("timezone") == "UTC"
    )
