"""Checks of what kube-proxy does per node and per zone: traffic policies, topology, session affinity.

Why it exists: these Services look healthy from the API (ready endpoints, matching slices) and still
fail from some nodes or behave differently from each. The node model (diagnosis.nodetraffic) says
what each node's kube-proxy does; these checks name the nodes and zones where that is not what the
user likely wants. Only nodes that really run pods count: Ready and not simulated (a kwok node has
no kube-proxy).
"""

from __future__ import annotations

from collections.abc import Iterator

from inspector.diagnosis.checks.facts import ServiceFacts
from inspector.diagnosis.nodetraffic import (
    Destination,
    Policies,
    ProxyAction,
    Source,
    families,
    proxy_endpoints,
    route,
)
from inspector.model.findings import Finding, finding
from inspector.model.snapshot import Node, Service, SliceEndpoint


def _routed(service: Service) -> bool:
    """kube-proxy programs rules for it: it has a cluster IP (not headless, not ExternalName)."""
    return bool(service.cluster_ip) and not service.headless and not service.external_name


def _real_nodes(facts: ServiceFacts) -> list[Node]:
    return sorted((n for n in facts.nodes if n.ready and not n.simulated), key=lambda n: n.name)


def _ready_endpoints(facts: ServiceFacts) -> list[SliceEndpoint]:
    return [e for s in facts.slices for e in s.endpoints if e.ready and e.addresses]


def check_internal_local_nodes(facts: ServiceFacts) -> Iterator[Finding]:
    """internalTrafficPolicy Local: the nodes whose kube-proxy drops the ClusterIP's traffic."""
    svc = facts.service
    if svc.internal_traffic_policy != "Local" or not _routed(svc):
        return
    dropping: set[str] = set()
    for sp, family in ((sp, f) for sp in svc.ports for f in families(svc)):
        endpoints = proxy_endpoints(facts.slices, sp, family)
        policies = Policies.of(svc, sp)
        for n in _real_nodes(facts):
            verdict = route(endpoints, policies, n.name, n.zone, Destination.CLUSTER_IP, Source.POD)
            # REJECT (no usable endpoint anywhere) is no-ready-endpoints' to say
            if verdict.action is ProxyAction.DROP:
                dropping.add(n.name)
    if dropping:
        nodes = sorted(dropping)
        yield finding(
            "internal-traffic-policy-local-no-endpoint",
            count=len(nodes),
            nodes=", ".join(nodes),
            extra={"nodeList": nodes},
        )


def check_zones_without_endpoints(facts: ServiceFacts) -> Iterator[Finding]:
    svc = facts.service
    asked = svc.asked_topology
    ready = _ready_endpoints(facts)
    if asked is None or not _routed(svc) or not ready:
        return
    node_zones = {n.name: n.zone for n in facts.nodes}
    with_endpoint = {e.zone or node_zones.get(e.node or "") for e in ready}
    zones = sorted({n.zone for n in _real_nodes(facts) if n.zone and n.zone not in with_endpoint})
    if zones:
        yield finding(
            "traffic-distribution-zone-without-endpoints",
            asked=asked,
            zones=", ".join(zones),
            extra={"zoneList": zones},
        )


def check_topology_hints(facts: ServiceFacts) -> Iterator[Finding]:
    """kube-proxy uses zone hints only when every ready endpoint has one (topology.go)."""
    svc = facts.service
    asked = svc.asked_topology
    ready = _ready_endpoints(facts)
    if asked is None or not _routed(svc) or not ready:
        return
    missing = sum(1 for e in ready if not e.zone_hints)
    if missing:
        event = max(facts.service_events, key=lambda e: (e.last_seen, e.count), default=None)
        found = finding(
            "topology-hints-missing",
            asked=asked,
            missing=missing,
            total=len(ready),
            why=f" (the EndpointSlice controller says: {event.message!r})" if event else "",
            extra={"hintsDisabledEvent": event.message if event else None},
        )
        details = {k: v for k, v in found.details.items() if k != "why"}
        yield Finding(found.code, found.severity, found.message, details)


def check_session_affinity_snat(facts: ServiceFacts) -> Iterator[Finding]:
    svc = facts.service
    if svc.session_affinity != "ClientIP" or not _routed(svc):
        return
    paths = []
    if svc.type.opens_node_ports and any(sp.node_port for sp in svc.ports):
        paths.append("node ports")
    if svc.load_balancer_ingress:
        paths.append("the load balancer")
    if svc.external_ips:
        paths.append("external IPs")
    if not paths or Policies.of(svc).external_local:
        return
    yield finding("session-affinity-behind-snat", paths=", ".join(paths))


CHECKS = (
    check_internal_local_nodes,
    check_zones_without_endpoints,
    check_topology_hints,
    check_session_affinity_snat,
)
