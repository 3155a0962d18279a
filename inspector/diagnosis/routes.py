"""The routes that lead to Services: Ingress (networking.k8s.io/v1), HTTPRoute and GRPCRoute
(gateway.networking.k8s.io/v1), and the state of every backend they name.

Why it exists: traffic from outside usually enters through a route whose backend names a Service
and a port; a missing Service, a port the Service does not define, a Service without a ready
endpoint or an ExternalName Service breaks (or diverts) those requests before any pod is involved.
Pure: the snapshot in, one state per backend out, seen from both sides (the route's backends, the
routes leading to a Service).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inspector.diagnosis.endpoints import SliceIndex, actual_endpoints
from inspector.diagnosis.expectations import expect
from inspector.model.findings import Finding, FindingCode, finding
from inspector.model.selectors import LabelIndex
from inspector.model.snapshot import Route, RouteBackend, Service, ServiceType, Snapshot

OK = "ok"
STATE_CODES: dict[str, FindingCode] = {
    "service-missing": "ingress-backend-service-missing",
    "port-missing": "ingress-backend-port-missing",
    "no-endpoints": "ingress-backend-no-endpoints",
    "externalname": "ingress-backend-externalname",
}


@dataclass(frozen=True, slots=True)
class BackendState:
    route: Route
    backend: RouteBackend
    state: str  # ok, service-missing, port-missing, no-endpoints, externalname
    finding: Finding | None


def _state(backend: RouteBackend, service: Service | None, ready: bool) -> str:
    if service is None:
        return "service-missing"
    if service.type is ServiceType.EXTERNAL_NAME:
        return "externalname"
    port = backend.port
    if port is not None and not any(
        (p.name == port) if isinstance(port, str) else (p.port == port) for p in service.ports
    ):
        return "port-missing"
    return OK if ready else "no-endpoints"


def backend_states(
    snapshot: Snapshot, slices: SliceIndex | None = None, pods: LabelIndex | None = None
) -> list[BackendState]:
    """Every Service backend of every route, in route order, with its state and finding. A Service
    a what-if run plans is judged by the endpoints its pods will give (planned pods are ready)."""
    slices = slices or SliceIndex(snapshot.slices)
    what_if = snapshot.what_if
    services = {(s.namespace, s.name): s for s in snapshot.services}
    ready: dict[tuple[str, str], bool] = {}
    out = []
    for route in sorted(snapshot.routes, key=lambda r: (r.namespace, r.kind, r.name)):
        for backend in route.backends:
            key = (backend.namespace, backend.service)
            svc = services.get(key)
            if svc is not None and key not in ready:
                if what_if is not None and what_if.planned(svc.key):
                    pods = pods or LabelIndex(snapshot.pods)
                    ready[key] = any(e.ready for e in expect(svc, pods).endpoints)
                else:
                    eps = actual_endpoints(slices.for_service(svc), portless_service=not svc.ports)
                    ready[key] = any(e.ready for e in eps)
            state = _state(backend, svc, ready.get(key, False))
            found = None
            if state != OK:
                facts: dict[str, Any] = {
                    "kind": route.kind,
                    "route": route.key,
                    "where": backend.where,
                    "service": backend.service_key,
                    "port": backend.port,
                }
                if state == "port-missing" and svc is not None:
                    facts["ports"] = ", ".join(
                        f"{p.port}" + (f" ({p.name})" if p.name else "") for p in svc.ports
                    )
                if state == "externalname" and svc is not None:
                    facts["external_name"] = svc.external_name
                found = finding(STATE_CODES[state], **facts)
            out.append(BackendState(route, backend, state, found))
    return out
