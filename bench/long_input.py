"""How the engine's time grows with the length of one ad: each shape of long text at 20,000,
50,000, 100,000 and 200,000 characters (the most of a field the engine reads), in CPU seconds.

    python bench/long_input.py

Linear growth doubles the time with the length; a shape whose last column is far more than ten
times its first is a quadratic step somewhere (one was: an ad repeating a brand, docs/rules.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from crawler.rules import load_engine

REPO = Path(__file__).resolve().parents[1]
SIZES = (20_000, 50_000, 100_000, 200_000)


def shapes() -> dict[str, Callable[[int], str]]:
    with (REPO / "tests" / "rules" / "data" / "dev_ads.jsonl").open(encoding="utf-8") as fh:
        ads = "\n".join(json.loads(line)["text"] for line in fh if line.strip())

    def repeat(unit: str) -> Callable[[int], str]:
        return lambda n: (unit * (n // len(unit) + 1))[:n]

    return {
        "dev ads joined": repeat(ads + "\n"),
        "one brand": repeat("Kaspi "),
        "hashtags": repeat("#пассивныйдоход #kaspiinvest #халыкбонус "),
        "spaced letters": repeat("K a s p i  H.a.l.y.k  ж а ң а "),
        "urls": repeat(" halyk-bonus.top/kz kaspi-invest.online http://xn--kspi-yij.online/a "),
        "phones": repeat(" +7 705 318 44 20 8(701)1234567 "),
        "quotes": repeat(' «гарантированный доход» "вернём деньги" '),
        "amounts": repeat(" 50 000 тг → 150 000 тг за неделю 12% в день "),
        "mixed scripts": repeat(" Хaлык Kаспи дoxoд Ka$pi H@lyk 5ОООО "),
        "glued words": repeat("kaspihalykdohod"),
        "newlines": repeat("\n"),
        "digits": repeat("7"),
    }


def main() -> None:
    engine = load_engine()
    print(f"{'shape':<16}" + "".join(f"{n:>10,}" for n in SIZES) + "   last/first")
    for name, make in shapes().items():
        times = []
        for n in SIZES:
            start = time.process_time()
            engine.classify({"title": "x", "text": make(n)})
            times.append(time.process_time() - start)
        ratio = times[-1] / max(times[0], 1e-6)
        print(f"{name:<16}" + "".join(f"{t:>9.3f}s" for t in times) + f"   {ratio:>6.1f}x")


if __name__ == "__main__":
    main()
