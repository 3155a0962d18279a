"""The one exit-status enum (the README, "Exit codes")."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1  # error-level findings, or a failed `resolve`
    USAGE = 2  # usage or bad input
    UNREACHABLE = 3  # cannot reach or authenticate to the cluster or its DNS
    INTERRUPTED = 130
