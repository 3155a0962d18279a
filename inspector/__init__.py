"""kubectl-inspect: a live-cluster service-discovery inspector.

The Python API: `inspect()` returns a `Report` (per-Service expected and actual endpoints, findings,
`explain()`); failures raise `InspectorError` subclasses carrying their exit status.
"""

from __future__ import annotations

__version__ = "0.1.0"

from inspector.api import inspect
from inspector.errors import InspectorError
from inspector.findings import Finding, Severity
from inspector.inspecting import Report, ServiceReport

__all__ = ["Finding", "InspectorError", "Report", "ServiceReport", "Severity", "__version__", "inspect"]
