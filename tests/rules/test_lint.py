"""``rules lint`` reports every problem at once, each with its file and line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crawler.cli import build_app
from crawler.errors import ConfigError
from crawler.rules import load_engine
from crawler.rules.loader import DEFAULT_DATA_DIR, load_ruleset


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


def _line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


def test_the_bundled_rule_data_lints_clean() -> None:
    ruleset, problems = load_ruleset()
    assert problems == []
    assert ruleset is not None and len(ruleset.rules) >= 5


def test_duplicate_id_unknown_brand_and_missing_example_are_all_reported_with_file_and_line(
    data_dir: Path,
) -> None:
    rules = data_dir / "rules"
    original = rules / "fake_investment.promised_return.yaml"
    dup = rules / "zz_duplicate.yaml"
    shutil.copy(original, dup)

    brand_rule = rules / "fake_investment.brand_platform.yaml"
    text = brand_rule.read_text("utf-8").replace(
        "require_all: [invest]", "require_all: [invest]\nbrands: [kaspi, no_such_bank]"
    )
    brand_rule.write_text(text, "utf-8")

    state = rules / "fake_investment.state_payout.yaml"
    lines = state.read_text("utf-8").splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == "negative:")
    end = start + 1
    while end < len(lines) and lines[end].startswith("    - "):
        end += 1
    state.write_text("\n".join(lines[:start] + lines[end:]) + "\n", "utf-8")

    result = CliRunner().invoke(build_app(), ["rules", "lint", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    out = result.output
    assert f"{dup}:1: duplicate rule id 'fake_investment.promised_return'" in out
    assert f"{original}:1" in out  # where the first definition is
    assert (
        f"{brand_rule}:{_line_of(brand_rule, 'no_such_bank')}: unknown brand 'no_such_bank'" in out
    )
    assert re.search(rf"{re.escape(str(state))}:\d+: no negative example", out)


def test_unknown_signal_bad_weight_and_unknown_keys_are_reported(data_dir: Path) -> None:
    rule = data_dir / "rules" / "recovery_scam.paid_recovery.yaml"
    text = rule.read_text("utf-8").replace(
        "  guarantee: 1.0\n", "  guarantee: lots\n  no_such_signal: 1.0\n"
    )
    rule.write_text(text + "colour: red\n", "utf-8")
    _, problems = load_ruleset(data_dir)
    messages = [str(p) for p in problems]
    assert any(
        f"{rule}:{_line_of(rule, 'no_such_signal')}: unknown signal 'no_such_signal'" in m
        for m in messages
    )
    assert any(
        f"{rule}:{_line_of(rule, 'guarantee: lots')}: weight of 'guarantee'" in m for m in messages
    )
    assert any(f"{rule}:{_line_of(rule, 'colour')}: unknown key 'colour'" in m for m in messages)


def test_an_unknown_key_of_a_near_signal_is_reported(data_dir: Path) -> None:
    signals = data_dir / "signals.yaml"
    text = signals.read_text("utf-8").replace(
        "    across_lines: true   # a reply", "    across_line: true   # a reply", 1
    )
    signals.write_text(text, "utf-8")
    _, problems = load_ruleset(data_dir)
    line = _line_of(signals, "across_line: true")
    assert any(
        f"{signals}:{line}: near signal 'debunked_offer': unknown key 'across_line'" in str(p)
        for p in problems
    ), problems


def test_an_unknown_key_of_a_signal_and_a_mask_by_no_signal_are_reported(data_dir: Path) -> None:
    signals = data_dir / "signals.yaml"
    text = signals.read_text("utf-8")
    text = text.replace("masked_by: [risk_disclaimer]", "masked_by: [risk_disclaimers]", 1)
    text = text.replace(
        "  no_effort:\n    description:", "  no_effort:\n    describe: x\n    description:", 1
    )
    signals.write_text(text, "utf-8")
    _, problems = load_ruleset(data_dir)
    messages = [str(p) for p in problems]
    guarantee, describe = _line_of(signals, "  guarantee:"), _line_of(signals, "describe: x")
    assert any(
        f"{signals}:{guarantee}: signal 'guarantee': masked_by 'risk_disclaimers' is no other" in m
        for m in messages
    ), messages
    assert any(
        f"{signals}:{describe}: signal 'no_effort': unknown key 'describe'" in m for m in messages
    ), messages


def test_broken_yaml_is_a_config_error_naming_file_and_line(data_dir: Path) -> None:
    rule = data_dir / "rules" / "recovery_scam.paid_recovery.yaml"
    rule.write_text("id: x\nsignals: [unclosed\n", "utf-8")
    with pytest.raises(ConfigError, match=rf"{re.escape(str(rule))}:\d+"):
        load_engine(data_dir)
