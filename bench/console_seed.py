"""Seed a database for the console's performance test: 200,000 ads and 50,000 hits by default.

    DATABASE_URL=sqlite:///big.db scamradar db upgrade
    DATABASE_URL=sqlite:///big.db python bench/console_seed.py [--ads N] [--hits N]

then `scamradar serve` on it. `scamradar bench console` seeds a scratch database the same way and
prints the queue's median latencies on SQLite (and PostgreSQL with --database-url).
"""

from __future__ import annotations

import argparse
import sys

from crawler.config import AppSettings
from review.benchmark import seed_console


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ads", type=int, default=200_000)
    parser.add_argument("--hits", type=int, default=50_000)
    args = parser.parse_args()
    url = AppSettings.from_env().database_url
    seed_console(url, ads=args.ads, hits=args.hits, progress=lambda m: print(m, file=sys.stderr))
    print(f"seeded {args.ads} ads and {args.hits} hits into {url}")


if __name__ == "__main__":
    main()
