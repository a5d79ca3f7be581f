from __future__ import annotations

from pathlib import Path

from review.benchmark import PAGES, measure, seed_console
from storage.db import make_engine
from storage.migrate import upgrade


def test_the_console_benchmark_seeds_and_measures_every_page(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    seed_console(url, ads=600, hits=200)
    figures = measure(url, runs=2)
    assert [f.name for f in figures] == list(PAGES)
    first = figures[0]
    assert first.rows == 50 and first.median_ms > 0 and first.cpu_median_ms >= 0
