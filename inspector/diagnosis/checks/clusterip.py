"""ClusterIP Services, headless ones included: the selecting checks are all there is to them."""

from __future__ import annotations

from inspector.diagnosis.checks.selecting import CHECKS as SELECTING_CHECKS

CHECKS = SELECTING_CHECKS
