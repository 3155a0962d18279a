"""deploy/serve/alerts.yaml, checked and tested by Prometheus' own promtool (built by
cluster/build.sh from the pinned Prometheus module; `make unit` builds it first): the rules parse,
and each alert fires, and resolves, when tests/promtool/alerts_test.yaml says it should."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "deploy" / "serve" / "alerts.yaml"
RULE_TESTS = ROOT / "tests" / "promtool" / "alerts_test.yaml"


@pytest.fixture(scope="module")
def promtool() -> Path:
    paths = subprocess.run(
        ["bash", str(ROOT / "cluster" / "build.sh"), "paths"], capture_output=True, text=True, check=True
    ).stdout
    found = dict(line.split("=", 1) for line in paths.splitlines() if "=" in line)
    tool = Path(found["PROMETHEUS_BIN"]) / "promtool"
    if not os.access(tool, os.X_OK):
        pytest.fail(f"{tool} is missing: build it with `bash cluster/build.sh prometheus` (make unit does)")
    return tool


def test_the_alerting_rules_are_valid_for_prometheus(promtool: Path) -> None:
    result = subprocess.run([promtool, "check", "rules", ALERTS], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 4 rules found" in result.stdout


def test_each_alert_fires_after_its_two_minutes_and_resolves_as_promtool_evaluates_it(promtool: Path) -> None:
    result = subprocess.run(
        [promtool, "test", "rules", RULE_TESTS],
        capture_output=True,
        text=True,
        check=False,
        cwd=RULE_TESTS.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
