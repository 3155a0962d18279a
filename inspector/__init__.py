"""kubectl-inspect: a live-cluster service-discovery inspector."""

from __future__ import annotations

__version__ = "0.1.0"
