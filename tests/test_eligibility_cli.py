"""``python -m bot eligibility`` as a subprocess (contract §5)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "eligibility", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_json_output_has_the_contract_shape() -> None:
    facts = {"care_pricing": "income_related", "work_situation": "working",
             "work_fraction": 0.6, "receives_leefloon": True}
    proc = run_cli("--json", "--facts", json.dumps(facts), "--on", "2025-04-30")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"id", "valid_from", "source"} <= set(out["rules"])
    assert out["rules"]["id"] == "voorrang-2025-restored"
    assert {"applicable", "absolute", "groups", "vulnerable_family"} <= set(out["priority"])
    assert {"applicable", "routes"} <= set(out["reduced_rate"])
    assert out["priority"]["absolute"] is True and out["priority"]["groups"] == ["work"]
    assert out["reduced_rate"]["routes"] == ["leefloon"]
    assert isinstance(out["missing_facts"], list) and "work_fraction" not in out["missing_facts"]
    assert out["indication"] is True


@pytest.mark.parametrize("on, rule_id, absolute", [
    ("2024-03-31", "voorrang-2014", True),
    ("2024-04-01", "voorrang-2024", None),
    ("2025-04-29", "voorrang-2024", None),
    ("2025-04-30", "voorrang-2025-restored", True),
])
def test_boundaries_on_the_command_line(on: str, rule_id: str, absolute: bool | None) -> None:
    facts = '{"work_situation": "working", "work_fraction": 0.6}'
    proc = run_cli("--json", "--facts", facts, "--on", on)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["rules"]["id"] == rule_id
    assert out["priority"]["absolute"] is absolute


def test_defaults_to_today_and_empty_facts() -> None:
    proc = run_cli("--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["missing_facts"][0] == "care_pricing"


def test_human_summary() -> None:
    proc = run_cli("--facts", '{"care_pricing": "free_price"}', "--on", "2025-06-01")
    assert proc.returncode == 0, proc.stderr
    assert "voorrang-2025-restored" in proc.stdout and "kinderopvangtoeslag" in proc.stdout


@pytest.mark.parametrize("args", [
    ("--json", "--facts", "{bad json"),
    ("--json", "--facts", '{"colour": "red"}'),
    ("--json", "--facts", '{"single_parent": "yes"}'),
    ("--json", "--facts", '{"work_fraction": 2}'),
    ("--json", "--facts", "[1, 2]"),
    ("--json", "--on", "2025-13-01"),
    ("--json", "--on", "01/05/2025"),
    ("--json", "--on", "2010-01-01"),  # before any rules in the data
    ("--json", "--bogus"),
])
def test_bad_input_exits_nonzero_with_one_line(args: tuple[str, ...]) -> None:
    proc = run_cli(*args)
    assert proc.returncode != 0
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
