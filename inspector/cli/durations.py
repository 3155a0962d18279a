"""Durations as kubectl and Go write them: `1m30s`, `300ms`, `1h2m`, `1.5s`; a bare number is seconds.

Why it exists: `--request-timeout` and every `--timeout` take the same syntax, the one kubectl's
flags take (Go's `time.ParseDuration`, non-negative), so one parser serves them all.
"""

from __future__ import annotations

import re

from inspector.errors import BadInput

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = r"(?:\d+(?:\.\d*)?|\.\d+)"
_DURATION = re.compile(rf"(?:{_PART}(?:ns|us|µs|ms|s|m|h))+|{_PART}")
_TERM = re.compile(rf"({_PART})(ns|us|µs|ms|s|m|h)")


def parse_seconds(text: str) -> float:
    """The seconds a duration stands for; BadInput (one line, exit 2) when it is not one."""
    value = text.strip()
    if not _DURATION.fullmatch(value):
        raise BadInput(f"invalid duration {text!r}: use a non-negative number with ms, s, m or h, e.g. 5s")
    if value[-1].isdigit() or value.endswith("."):
        return float(value)
    return sum(float(number) * _UNITS[unit] for number, unit in _TERM.findall(value))


def parse_duration(text: str | None) -> float | None:
    """kubectl's --request-timeout: a duration, None when absent or zero (no timeout)."""
    if text is None:
        return None
    return parse_seconds(text) or None
