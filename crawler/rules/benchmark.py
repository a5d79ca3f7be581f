"""``scamradar bench rules``: throughput and memory of the classify path, against a naive baseline.

* the full ``scamradar classify`` process (JSONL in, JSONL out, full rule set) is run as a child
  process pinned to one CPU, on the dev corpus repeated to ``n`` ads; its wall time and peak RSS
  are measured with ``os.wait4`` (and once more on ``n / 10`` ads, to show memory stays flat);
* the naive baseline — ``rapidfuzz.fuzz.partial_ratio`` of every brand alias against the whole
  text, nothing else — and the engine are both timed in this process on the same first
  ``baseline_n`` ads of the same file, with the same JSONL reading and writing around them.

Rates are given per wall-clock second and per CPU second (user + system time of the process):
on a shared machine the CPU figure is the one that does not depend on the neighbours.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz

from crawler.errors import UserError


@dataclass(frozen=True)
class ProcessRun:
    ads: int
    seconds: float  # wall clock
    cpu_seconds: float  # user + system time of the child (robust when the machine is shared)
    peak_rss_mb: float

    @property
    def per_second(self) -> float:
        return self.ads / self.seconds if self.seconds else 0.0

    @property
    def per_cpu_second(self) -> float:
        return self.ads / self.cpu_seconds if self.cpu_seconds else 0.0


@dataclass(frozen=True)
class BenchResult:
    full: ProcessRun
    small: ProcessRun
    engine_per_second: float
    brands_per_second: float
    baseline_per_second: float
    sample: int
    aliases: int

    @property
    def ratio(self) -> float:
        return (
            self.engine_per_second / self.baseline_per_second if self.baseline_per_second else 0.0
        )

    @property
    def brands_ratio(self) -> float:
        return (
            self.brands_per_second / self.baseline_per_second if self.baseline_per_second else 0.0
        )

    @property
    def process_ratio(self) -> float:
        return self.full.per_second / self.baseline_per_second if self.baseline_per_second else 0.0


def default_corpus() -> Path:
    here = Path(__file__).resolve()
    for cand in (
        here.parents[2] / "tests" / "rules" / "data" / "dev_ads.jsonl",
        here.parents[3] / "shared" / "corpus" / "dev_ads.jsonl",
    ):
        if cand.is_file():
            return cand
    raise UserError("no dev corpus found: pass --corpus FILE (a JSONL of ads)")


def _write_input(corpus: Path, n: int, dst: Path) -> None:
    lines = [ln for ln in corpus.read_bytes().splitlines() if ln.strip()]
    if not lines:
        raise UserError(f"{corpus}: no lines")
    with dst.open("wb") as fh:
        for i in range(n):
            fh.write(lines[i % len(lines)])
            fh.write(b"\n")


def _run_process(src: Path, ads: int, data_dir: Path | None) -> ProcessRun:
    cmd = [sys.executable, "-m", "crawler", "classify", "-i", str(src), "-o", os.devnull]
    if data_dir:
        cmd += ["--data-dir", str(data_dir)]
    cpu = min(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None

    def pin() -> None:  # one core for the child
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, preexec_fn=pin, stderr=subprocess.PIPE)  # noqa: S603, PLW1509
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise UserError(f"classify failed (exit {proc.returncode}): {err.strip()[:300]}")
    return ProcessRun(ads, seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def _time_engine(src: Path, sample: int, data_dir: Path | None) -> float:
    from crawler.rules import load_engine
    from crawler.rules.stream import classify_stream

    engine = load_engine(data_dir)
    head = b"".join(src.open("rb").readlines()[:sample])
    out = io.StringIO()
    start = time.process_time()
    classify_stream(engine, io.BytesIO(head), out, lambda _n, _r: None)
    return sample / (time.process_time() - start)


def _time_brands(src: Path, sample: int, data_dir: Path | None) -> float:
    """Like for like with the baseline: the engine's brand finding alone (normalise the ad,
    candidate-token lookup, glued stems, fuzzy tokens, the URL's domain), JSONL in and out."""
    from crawler.rules import load_engine
    from crawler.rules.normalize import normalize

    engine = load_engine(data_dir)
    names, domains = engine.names, engine.domains
    lines = src.open("rb").readlines()[:sample]
    out = io.StringIO()
    start = time.process_time()
    for raw in lines:
        ad = json.loads(raw)
        text = "\n\n\n\n".join(str(ad.get(k)) for k in ("title", "text", "advertiser") if ad.get(k))
        found = list(
            dict.fromkeys(h.key for h in names.find(normalize(text)) if h.kind != "person")
        )
        if ad.get("url"):
            v = domains.check(str(ad["url"]))
            if v.brand and v.brand not in found:
                found.append(v.brand)
        out.write(json.dumps({"id": ad.get("id"), "brands": found}, ensure_ascii=False) + "\n")
    return sample / (time.process_time() - start)


def _time_baseline(src: Path, sample: int, data_dir: Path | None) -> tuple[float, int]:
    from crawler.rules import load_engine

    brands = load_engine(data_dir).ruleset.brands
    aliases = [(a.lower(), b.key) for b in brands for a in (*b.names, *b.weak)]
    lines = src.open("rb").readlines()[:sample]
    out = io.StringIO()
    start = time.process_time()
    for raw in lines:
        ad = json.loads(raw)
        text = " ".join(
            str(ad.get(k) or "") for k in ("title", "text", "advertiser", "url")
        ).lower()
        found = []
        for alias, key in aliases:
            if (
                fuzz.partial_ratio(alias, text, processor=None, score_cutoff=85)
                and key not in found
            ):
                found.append(key)
        out.write(json.dumps({"id": ad.get("id"), "brands": found}, ensure_ascii=False) + "\n")
    return sample / (time.process_time() - start), len(aliases)


def run(n: int, corpus: Path | None, baseline_n: int, data_dir: Path | None = None) -> BenchResult:
    corpus = corpus or default_corpus()
    with tempfile.TemporaryDirectory(prefix="scamradar-bench-") as tmp:
        src = Path(tmp) / "ads.jsonl"
        small_src = Path(tmp) / "ads-small.jsonl"
        _write_input(corpus, n, src)
        _write_input(corpus, max(1, n // 10), small_src)
        small = _run_process(small_src, max(1, n // 10), data_dir)
        full = _run_process(src, n, data_dir)
        sample = min(baseline_n, n)
        engine_rate = _time_engine(src, sample, data_dir)
        brands_rate = _time_brands(src, sample, data_dir)
        baseline_rate, aliases = _time_baseline(src, sample, data_dir)
    return BenchResult(full, small, engine_rate, brands_rate, baseline_rate, sample, aliases)
