"""kubectl svc-inspect: a live-cluster service-discovery inspector.

The Python API: `inspect()` returns a `Report` (per-Service expected and actual endpoints, findings);
`explain(report)` puts it in words, as `kubectl svc-inspect diff` does; failures raise `InspectorError`
subclasses carrying their exit status. The names are loaded on first use, so importing one tier
(`inspector.dns`, `inspector.model`) loads neither the Kubernetes client nor the rest.

The tiers, top down (docs/ARCHITECTURE.md; import-linter keeps them): the command line (`cli/`) and
the pytest plugin (`pytest_plugin.py`); the live runs (`live/`) and the output (`output/`); the kube
client (`kube/`), the diagnosis (`diagnosis/`) and DNS (`dns/`), side by side; the model (`model/`);
our errors (`errors.py`); the settings, read once from the environment where a
run starts (`settings.py`); the exit statuses (`status.py`); the cycle collector, paused by the command line
for a command and taken back by one that follows changes (`collector.py`). `python -m inspector` runs
the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from inspector.diagnosis.report import Report, ServiceReport
    from inspector.errors import InspectorError
    from inspector.live.inspecting import inspect
    from inspector.live.troubleshooting import why
    from inspector.model.findings import Finding, Severity
    from inspector.output.text import explain

_WHERE = {
    "inspect": "inspector.live.inspecting",
    "why": "inspector.live.troubleshooting",
    "explain": "inspector.output.text",
    "InspectorError": "inspector.errors",
    "Finding": "inspector.model.findings",
    "Severity": "inspector.model.findings",
    "Report": "inspector.diagnosis.report",
    "ServiceReport": "inspector.diagnosis.report",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'inspector' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)


__all__ = [
    "Finding",
    "InspectorError",
    "Report",
    "ServiceReport",
    "Severity",
    "__version__",
    "explain",
    "inspect",
    "why",
]
