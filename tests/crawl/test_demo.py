"""``scamradar demo`` on a fresh database: flags the scams, not the legit ads, and agrees with
``scamradar stats``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import Crawl

pytestmark = pytest.mark.slow


def test_the_demo_flags_fake_investment_and_recovery_ads_and_stats_agree(
    crawl_factory: object, tmp_path: Path
) -> None:
    crawl: Crawl = crawl_factory(f"sqlite:///{tmp_path / 'demo.db'}")  # type: ignore[operator]
    done = crawl.cli("demo", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    out = done.stdout
    assert "demo_telegram: finished" in out and "demo_news: finished" in out
    assert "demo_landing: finished" in out
    assert "127.0.0.1" in out and "allow" in out  # it says why private targets are allowed
    table = out[out.index("flagged by the demo crawls:") :]
    rows = [
        line for line in table.splitlines() if line.startswith(("fake_investment", "recovery_scam"))
    ]
    flagged = int(re.search(r"flagged by the demo crawls: (\d+)", out).group(1))
    assert len(rows) == flagged >= 8
    text = "\n".join(rows)
    for brand in ("halyk", "kaspi", "bcc", "kazatomprom", "vi_group"):
        assert re.search(rf"fake_investment\s+\S*{brand}", text), brand
    assert sum(r.startswith("recovery_scam") for r in rows) >= 2
    for legit in (
        "Халық Жинақ",
        "Полиция",
        "результаты за третий квартал",
        "АФМ предупредила",
        "Регулятор",
        "велодорожка",
    ):
        assert legit not in text
    assert any("demo_landing" in r for r in rows)  # the sample landing pages were captured

    stats = crawl.cli("stats", "--json")
    assert stats.returncode == 0, stats.stderr
    figures = json.loads(stats.stdout)
    assert figures["flagged"] == flagged
    fake = sum(r.startswith("fake_investment") for r in rows)
    assert figures["hits_by_label"] == {"fake_investment": fake, "recovery_scam": flagged - fake}
    verified = crawl.cli("evidence", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
