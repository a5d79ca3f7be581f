"""Fixtures for the detection-engine tests (the bundled rule data, the dev corpora)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.rules import load_engine
from crawler.rules.engine import Engine

DATA = Path(__file__).resolve().parent / "data"


def read_jsonl(name: str) -> list[dict]:
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"{path} is missing (copy it from ../shared/corpus/)")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="session")
def engine() -> Engine:
    return load_engine()


@pytest.fixture(scope="session")
def dev_ads() -> list[dict]:
    return read_jsonl("dev_ads.jsonl")


@pytest.fixture(scope="session")
def dev_wild() -> list[dict]:
    return read_jsonl("dev_wild.jsonl")
