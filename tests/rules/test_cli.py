"""``scamradar classify`` / ``eval`` / ``rules test`` on good and bad input: no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from crawler.cli import build_app

DATA = Path(__file__).resolve().parent / "data"


def _run(args: list[str], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_classify_streams_one_verdict_per_valid_line_in_order_and_reports_bad_lines() -> None:
    lines = [
        json.dumps(
            {"id": "a", "text": "Kaspi Invest: 5% в день, пишите в директ"}, ensure_ascii=False
        ).encode(),
        b"{not json",
        json.dumps(["an", "array"]).encode(),
        b"\xff\xfe invalid utf-8",
        bytes(range(0, 10)) + bytes(range(11, 32)) + b"\x00\x01 garbage",
        b"",
        json.dumps({"id": "b", "text": ""}).encode(),
        json.dumps({"id": "c", "title": None, "text": None, "url": 42}).encode(),
        json.dumps(
            {"id": "d", "text": "Вернём деньги от лже-брокеров! Оплата по факту, пишите в директ."},
            ensure_ascii=False,
        ).encode(),
    ]
    proc = _run(["classify"], b"\n".join(lines) + b"\n")
    out = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert [o["id"] for o in out] == ["a", "b", "c", "d"]
    assert out[0]["label"] == "fake_investment" and out[0]["brands"] == ["kaspi"]
    assert out[1]["label"] == "legit" and out[2]["label"] == "legit"
    assert out[3]["label"] == "recovery_scam"
    for o in out:
        assert set(o) >= {"id", "label", "score", "brands", "rules", "matches"}
        assert 0.0 <= o["score"] <= 1.0
    err = proc.stderr.decode()
    assert "Traceback" not in err
    for n in (2, 3, 4, 5):
        assert f"line {n}:" in err
    assert "line 6" not in err  # a blank line is not an error
    # an ad with nothing to read is classified, and said so
    assert "line 7: nothing to classify" in err and "line 8: nothing to classify" not in err
    assert proc.returncode == 1


def test_a_byte_order_mark_odd_field_types_and_lone_surrogates_are_read_and_told() -> None:
    lines = [
        b"\xef\xbb\xbf"
        + json.dumps(
            {"id": "bom", "text": "Kaspi Invest: 5% в день, пишите"}, ensure_ascii=False
        ).encode(),
        json.dumps({"id": "types", "text": 123, "title": ["x"]}).encode(),
        b'{"id": "s\\ud800", "text": "Halyk \\udc00 text"}',
        b'{"id": "pair", "text": "\\ud83d\\ude00 ok"}',
    ]
    proc = _run(["classify"], b"\n".join(lines) + b"\n")
    out = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    assert [o["id"] for o in out] == ["bom", "types", "s\ufffd", "pair"]
    assert out[0]["label"] == "fake_investment"  # the first line is not lost to its BOM
    err = proc.stderr.decode()
    assert "Traceback" not in err
    assert "line 2: title is a list, not a string" in err
    assert "line 2: text is a number, not a string" in err
    assert "line 3: an escape \\ud800-\\udfff that is no character: read as U+FFFD" in err
    assert "line 1" not in err and "line 4" not in err
    assert proc.returncode == 0


def test_classify_handles_a_one_megabyte_text(tmp_path: Path) -> None:
    big = ("Kaspi Invest: 5% в день. " + "Обычный текст без смысла. " * 40_000)[:1_048_576]
    src = tmp_path / "in.jsonl"
    dst = tmp_path / "out.jsonl"
    src.write_text(json.dumps({"id": "big", "text": big}, ensure_ascii=False) + "\n", "utf-8")
    result = CliRunner().invoke(build_app(), ["classify", "-i", str(src), "-o", str(dst)])
    assert result.exit_code == 0, result.output
    (verdict,) = [json.loads(x) for x in dst.read_text("utf-8").splitlines()]
    assert verdict["id"] == "big" and verdict["label"] in ("fake_investment", "legit")
    assert f"line 1: text is {len(big):,} characters long: only the first 200,000 were read" in (
        result.stderr if hasattr(result, "stderr") else result.output
    )


def test_classify_output_matches_evidence_spans_in_the_original_text(tmp_path: Path) -> None:
    ad = {
        "id": "x",
        "title": "К a s p i  Invest",
        "text": "Ка$пи: доход 3% в день! Пишите @kaspi_vip_bot",
    }
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(ad, ensure_ascii=False) + "\n", "utf-8")
    result = CliRunner().invoke(build_app(), ["classify", "-i", str(src)])
    (verdict,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert verdict["label"] == "fake_investment"
    for m in verdict["matches"]:
        s, e = m["span"]
        assert ad[m["field"]][s:e] == m["text"]


def test_a_missing_input_file_is_one_clear_error_line() -> None:
    proc = _run(["classify", "-i", "/no/such/file.jsonl"], b"")
    assert proc.returncode == 2
    assert (
        proc.stderr.decode().strip().startswith("scamradar: error: cannot read /no/such/file.jsonl")
    )
    assert "Traceback" not in proc.stderr.decode()


def test_eval_prints_per_label_scores_macro_f1_and_the_confusion_matrix() -> None:
    result = CliRunner().invoke(build_app(), ["eval", str(DATA / "dev_ads.jsonl")])
    assert result.exit_code == 0, result.output
    for word in ("fake_investment", "recovery_scam", "legit", "macro-F1", "confusion"):
        assert word in result.output


def test_eval_json_is_machine_readable() -> None:
    result = CliRunner().invoke(build_app(), ["eval", str(DATA / "dev_wild.jsonl"), "--json"])
    data = json.loads(result.stdout)
    assert data["n"] == 100
    assert set(data["per_label"]) == {"fake_investment", "recovery_scam", "legit"}
    assert sum(sum(row.values()) for row in data["confusion"].values()) == 100


def test_rules_test_runs_every_example_and_passes() -> None:
    result = CliRunner().invoke(build_app(), ["rules", "test"])
    assert result.exit_code == 0, result.output
    assert " 0 failed" in result.output


def test_pathological_texts_are_classified_in_linear_time(engine) -> None:
    import time

    for text in (
        "9" * 100_000,
        "1 000 " * 20_000,
        "5% " * 20_000,
        "k a s p i " * 20_000,
        "#" + "a" * 100_000,
    ):
        start = time.process_time()
        engine.classify({"text": text})
        assert time.process_time() - start < 20, text[:20]
