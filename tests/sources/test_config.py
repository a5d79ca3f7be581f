"""The new kinds' parameters in sources.yaml: defaults and load-time rejections."""

from __future__ import annotations

import pytest

from crawler.errors import ConfigError
from crawler.sources import source_from_dict


def kind(spider: str, **params):
    return source_from_dict(
        {"name": f"{spider}_x", "spider": spider, "schedule": "every 6h", **params}
    )


def test_new_kinds_load_with_their_defaults():
    assert kind("ctlog").param("queries") is None  # built from the brand lexicon at crawl time
    assert kind("vk", queries=["каспи инвест"]).param("max_pages") == 5
    assert kind("youtube", queries=["Kaspi"]).param("max_pages") == 2
    meta = kind("meta_ads", queries=["Казатомпром"], countries=["lv", "DE"])
    assert meta.param("countries") == ["LV", "DE"]


@pytest.mark.parametrize(
    ("spider", "params", "words"),
    [
        ("meta_ads", {"queries": ["x"], "countries": ["Latvia"]}, "two-letter ISO country code"),
        ("meta_ads", {}, "'queries' is required"),
        ("youtube", {}, "'queries' is required"),
        ("ctlog", {"landing_template": "https://example.com/"}, "{host}"),
        ("vk", {"queries": ["x"], "token": "abc"}, "unknown key 'token'"),
    ],
)
def test_bad_parameters_are_rejected_at_load_time(spider, params, words):
    with pytest.raises(ConfigError) as caught:
        kind(spider, **params)
    assert words in str(caught.value)
