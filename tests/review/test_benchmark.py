from __future__ import annotations

from review.benchmark import PAGES, measure, seed_console


def test_the_console_benchmark_seeds_and_measures_every_page(fresh_sqlite_url: str) -> None:
    url = fresh_sqlite_url
    seed_console(url, ads=600, hits=200)
    figures = measure(url, runs=2)
    assert [f.name for f in figures] == list(PAGES)
    first = figures[0]
    assert first.rows == 50 and first.median_ms > 0 and first.cpu_median_ms >= 0
