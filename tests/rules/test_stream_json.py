"""The verdict writer: orjson where it writes what json would, json otherwise."""

from __future__ import annotations

import json

import pytest

from crawler.rules.stream import dumps_verdict


@pytest.mark.parametrize(
    "vid",
    ["a1", None, True, 7, -(2**63), 2**64 - 1, 2**64, -(2**63) - 1, 10**30, 1.5, ["x", {"y": 1}]],
)
def test_a_verdict_line_reads_back_as_the_verdict(vid: object) -> None:
    verdict = {"id": vid, "label": "legit", "score": 0.1234, "matches": [{"text": "Kaspi ₸"}]}
    assert json.loads(dumps_verdict(verdict)) == verdict


def test_a_text_with_a_lone_surrogate_is_written_as_json_would() -> None:
    verdict = {"id": "s", "matches": [{"text": "Kaspi \ud800"}]}
    assert dumps_verdict(verdict) == json.dumps(verdict, ensure_ascii=False)


def test_a_nan_id_is_written_as_json_would() -> None:
    verdict = {"id": float("nan"), "label": "legit"}
    assert dumps_verdict(verdict) == json.dumps(verdict, ensure_ascii=False)
