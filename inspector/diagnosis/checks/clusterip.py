"""ClusterIP Services, headless ones included: the selecting checks, and what kube-proxy does per node."""

from __future__ import annotations

from inspector.diagnosis.checks import trafficpolicy
from inspector.diagnosis.checks.selecting import CHECKS as SELECTING_CHECKS

CHECKS = (*SELECTING_CHECKS, *trafficpolicy.CHECKS)
