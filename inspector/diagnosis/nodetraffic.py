"""Node traffic: which endpoints one node's kube-proxy sends a Service's packets to, or why none.

Why it exists: a Service can work from one node and not from another. kube-proxy on each node
programs that node's rules from the same EndpointSlices, but what it picks depends on the node:
`internalTrafficPolicy` / `externalTrafficPolicy: Local` keep only the node's own endpoints (and
drop the packet where there is none), topology hints keep the endpoints hinted for the node's zone
or the node itself, and terminating endpoints stand in only where no endpoint is ready. This module
answers that question for one node, from the snapshot alone, so the report can name the nodes whose
traffic is dropped before any probe runs.

It transcribes kube-proxy v1.37.2 (the pinned k8s.io/kubernetes module): `CategorizeEndpoints` and
`topologyModeFromHints` of pkg/proxy/topology.go, the endpoint conditions of
pkg/proxy/endpointslicecache.go, and the per-destination choices (cluster or local chain, DROP or
REJECT, masquerade) of pkg/proxy/iptables/proxier.go and pkg/proxy/nftables/proxier.go, which agree,
and the health check node port's count (pkg/proxy/healthcheck). tests/kubeproxy_cases.py holds
upstream's own cases for it (TestCategorizeEndpoints, the packet-flow tests of the iptables and
nftables proxiers, the IPVS proxier's real-server tests), each named after the upstream test.

kube-proxy reads hints, never `trafficDistribution` itself: the EndpointSlice controller turns
`trafficDistribution` (and the topology-mode annotation) into hints, so a Service that asks for
topology but whose slices carry no hints is routed as if it asked for nothing. `sessionAffinity`
is reported but does not change the set of endpoints a node may use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from inspector.model.snapshot import EndpointSlice, Node, Service, ServicePort, ServiceType


class Destination(StrEnum):
    """What the packet was addressed to: the ClusterIP is "internal", the rest "external"."""

    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"
    EXTERNAL_IP = "ExternalIP"

    @property
    def external(self) -> bool:
        return self is not Destination.CLUSTER_IP


class Source(StrEnum):
    """Where the packet comes from, as the node's kube-proxy tells sources apart."""

    POD = "pod"  # a pod on this node (kube-proxy's local traffic detector recognises it)
    NODE = "node"  # this node itself: a process or hostNetwork pod, localhost included
    EXTERNAL = "external"  # anything else: outside the cluster, or forwarded by another node


class ProxyAction(StrEnum):
    FORWARD = "forward"  # to one of `endpoints`
    DROP = "drop"  # usable endpoints exist, but none this packet may use: the client times out
    REJECT = "reject"  # no usable endpoint anywhere: the client is refused at once


class Topology(StrEnum):
    """The topology kube-proxy applies on a node, from the slices' hints (never the Service's field)."""

    NONE = ""
    SAME_ZONE = "PreferSameZone"
    SAME_NODE = "PreferSameNode"


@dataclass(frozen=True, slots=True)
class ProxyEndpoint:
    """One endpoint of one Service port as kube-proxy holds it."""

    address: str
    port: int | None = None  # the slice's port number: the targetPort as resolved for this endpoint
    node: str | None = None
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    zone_hints: frozenset[str] = frozenset()
    node_hints: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        """Its identity, as upstream's Endpoint.String(): ip:port."""
        return self.address if self.port is None else f"{self.address}:{self.port}"

    @property
    def serving_terminating(self) -> bool:
        """The terminating fallback: still serving while it ends."""
        return self.serving and self.terminating

    def local_to(self, node: str) -> bool:
        return bool(node) and self.node == node


@dataclass(frozen=True, slots=True)
class Policies:
    """The traffic policies of one Service port, as kube-proxy reads them."""

    internal_local: bool = False
    external_local: bool = False  # only counts when externally accessible, as upstream's ExternalPolicyLocal
    externally_accessible: bool = False  # a node port, a load balancer IP or an external IP

    @property
    def uses_cluster(self) -> bool:
        # even with externalTrafficPolicy Local, the cluster set serves short-circuited in-cluster traffic
        return not self.internal_local or self.externally_accessible

    @property
    def uses_local(self) -> bool:
        return self.internal_local or (self.external_local and self.externally_accessible)

    @classmethod
    def of(cls, service: Service, port: ServicePort | None = None) -> Policies:
        accessible = bool(service.load_balancer_ingress or service.external_ips) or (
            bool(port.node_port) if port is not None else service.type.opens_node_ports
        )
        return cls(
            internal_local=service.internal_traffic_policy == "Local",
            external_local=accessible and service.external_traffic_policy == "Local",
            externally_accessible=accessible,
        )


@dataclass(frozen=True, slots=True)
class Categories:
    """Upstream's CategorizeEndpoints: None where the Service never uses that policy's endpoints."""

    cluster: tuple[ProxyEndpoint, ...] | None
    local: tuple[ProxyEndpoint, ...] | None
    reachable: tuple[ProxyEndpoint, ...]  # every endpoint this node may send to, by either policy
    has_any: bool  # some usable endpoint exists on some node (REJECT where not)
    topology: Topology = Topology.NONE


def topology_from_hints(
    endpoints: Sequence[ProxyEndpoint], node: str, zone: str | None, *, node_hints: bool = True
) -> Topology:
    """Upstream's topologyModeFromHints: hints count only when every ready endpoint has one and one
    of them names this node (or zone); otherwise the node ignores them and uses every endpoint.
    `node_hints` is the PreferSameTrafficDistribution gate (locked on since 1.35)."""
    ready = [e for e in endpoints if e.ready]
    if not ready:
        return Topology.NONE
    if node_hints and all(e.node_hints for e in ready) and any(node in e.node_hints for e in ready):
        return Topology.SAME_NODE
    if all(e.zone_hints for e in ready) and any(zone and zone in e.zone_hints for e in ready):
        return Topology.SAME_ZONE
    return Topology.NONE


def _available(endpoint: ProxyEndpoint, topology: Topology, node: str, zone: str | None) -> bool:
    if topology is Topology.SAME_NODE:
        return node in endpoint.node_hints
    if topology is Topology.SAME_ZONE:
        return zone is not None and zone in endpoint.zone_hints
    return True


def categorize(
    endpoints: Sequence[ProxyEndpoint],
    policies: Policies,
    node: str,
    zone: str | None,
    *,
    node_hints: bool = True,
) -> Categories:
    """The endpoints node `node` (in `zone`) may use for a Service port, by traffic policy."""
    if not endpoints:
        return Categories(None, None, (), False)
    cluster: tuple[ProxyEndpoint, ...] | None = None
    local: tuple[ProxyEndpoint, ...] | None = None
    has_any = False
    topology = Topology.NONE
    if policies.uses_cluster:
        topology = topology_from_hints(endpoints, node, zone, node_hints=node_hints)
        cluster = tuple(e for e in endpoints if e.ready and _available(e, topology, node, zone))
        if not cluster:
            # topology was already dropped where no ready endpoint fits it: none is ready anywhere
            cluster = tuple(e for e in endpoints if e.serving_terminating)
        has_any = bool(cluster)
    if not policies.uses_local:
        return Categories(cluster, None, cluster or (), has_any, topology)

    local_ready = local_terminating = False
    for e in endpoints:
        if e.ready or e.serving_terminating:
            has_any = True
            if e.local_to(node):
                local_ready = local_ready or e.ready
                local_terminating = local_terminating or not e.ready
    if local_ready:
        local = tuple(e for e in endpoints if e.local_to(node) and e.ready)
    elif local_terminating:
        local = tuple(e for e in endpoints if e.local_to(node) and e.serving_terminating)
    else:
        local = ()
    if cluster is None:
        return Categories(None, local, local, has_any, topology)
    merged = {e.key: e for e in (*cluster, *local)}
    return Categories(cluster, local, tuple(merged.values()), has_any, topology)


@dataclass(frozen=True, slots=True)
class ProxySettings:
    """How a node's kube-proxy is configured, where it changes the answer (defaults: kube-proxy's)."""

    pod_traffic_detected: bool = True  # --detect-local-mode finds the node's pods (ClusterCIDR, ...)
    masquerade_all: bool = False
    node_hints: bool = True  # the PreferSameTrafficDistribution gate


@dataclass(frozen=True, slots=True)
class ProxyDecision:
    action: ProxyAction
    endpoints: tuple[ProxyEndpoint, ...]
    snat: bool  # the endpoint sees the node's address, not the client's
    reason: str

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(sorted({e.address for e in self.endpoints}))

    @property
    def targets(self) -> tuple[str, ...]:
        """ip:port of each endpoint, as upstream's packet-flow tests write them."""
        return tuple(sorted(e.key for e in self.endpoints))


def route(
    endpoints: Sequence[ProxyEndpoint],
    policies: Policies,
    node: str,
    zone: str | None,
    destination: Destination,
    source: Source,
    settings: ProxySettings | None = None,
) -> ProxyDecision:
    """What node `node`'s kube-proxy does with a new connection to `destination` from `source`."""
    settings = settings or ProxySettings()
    if destination.external and not policies.externally_accessible:
        raise ValueError(f"a Service port without a node port or external address has no {destination}")
    cats = categorize(endpoints, policies, node, zone, node_hints=settings.node_hints)
    if not cats.has_any:
        return ProxyDecision(ProxyAction.REJECT, (), False, "no ready or serving endpoint on any node")
    if not destination.external:
        chosen = cats.local if policies.internal_local else cats.cluster
        snat = settings.masquerade_all or (settings.pod_traffic_detected and source is not Source.POD)
        if not chosen:
            return ProxyDecision(
                ProxyAction.DROP, (), snat, f"internalTrafficPolicy Local: no endpoint on node {node}"
            )
        return ProxyDecision(ProxyAction.FORWARD, chosen, snat, _why(cats.topology, policies.internal_local))
    if not policies.external_local:
        return ProxyDecision(ProxyAction.FORWARD, cats.cluster or (), True, _why(cats.topology, False))
    # externalTrafficPolicy Local: in-cluster clients are short-circuited to the cluster set, as if
    # they had gone out to the load balancer and come back
    if source is Source.NODE or (source is Source.POD and settings.pod_traffic_detected):
        return ProxyDecision(
            ProxyAction.FORWARD,
            cats.cluster or (),
            source is Source.NODE,
            "in-cluster client, short-circuited",
        )
    if not cats.local:
        return ProxyDecision(
            ProxyAction.DROP, (), False, f"externalTrafficPolicy Local: no endpoint on node {node}"
        )
    return ProxyDecision(ProxyAction.FORWARD, cats.local, False, _why(Topology.NONE, True))


def _why(topology: Topology, local: bool) -> str:
    if local:
        return "the node's own endpoints (traffic policy Local)"
    if topology is Topology.SAME_NODE:
        return "the endpoints hinted for this node"
    if topology is Topology.SAME_ZONE:
        return "the endpoints hinted for this node's zone"
    return "every usable endpoint"


# --------------------------------------------------------------------------- from the snapshot


def families(service: Service) -> tuple[str, ...]:
    """The Service's IP families, primary first: kube-proxy runs one proxier per family."""
    return service.ip_families or (
        ("IPv6",) if service.cluster_ip and ":" in service.cluster_ip else ("IPv4",)
    )


def proxy_endpoints(
    slices: Iterable[EndpointSlice], port: ServicePort, family: str | None = None
) -> tuple[ProxyEndpoint, ...]:
    """The endpoints kube-proxy holds for one Service port (in one IP `family`, or all): the slices'
    endpoints under each slice port of that name and protocol, one per first address and port number
    (a terminating duplicate never replaces another), as pkg/proxy/endpointslicecache.go reads them."""
    name = port.name or None
    out: dict[str, ProxyEndpoint] = {}
    for s in slices:
        numbers = [
            p.port for p in s.ports if (p.name or None) == name and p.protocol == port.protocol and p.port
        ]
        for number, e in ((n, e) for n in numbers for e in s.endpoints):
            if not e.addresses or (family is not None and (":" in e.addresses[0]) != (family == "IPv6")):
                continue
            endpoint = ProxyEndpoint(
                address=e.addresses[0],
                port=number,
                node=e.node,
                ready=e.ready,
                serving=e.serving,
                terminating=e.terminating,
                zone_hints=frozenset(e.zone_hints),
                node_hints=frozenset(e.node_hints),
            )
            if endpoint.key not in out or not endpoint.terminating:
                out[endpoint.key] = endpoint
    return tuple(out.values())


@dataclass(frozen=True, slots=True)
class PortTraffic:
    """One Service port seen from one node: the ClusterIP from a pod there, the external paths from
    outside (None where the port has none)."""

    port: ServicePort
    topology: Topology
    cluster_ip: ProxyDecision | None
    external: ProxyDecision | None
    family: str = "IPv4"  # each family's proxier decides alone (a dual-stack Service has one row each)


@dataclass(frozen=True, slots=True)
class NodeTraffic:
    node: str
    zone: str | None
    ports: tuple[PortTraffic, ...]
    session_affinity: str  # ClientIP keeps a client on one endpoint; the set above is unchanged


def node_traffic(
    service: Service,
    slices: Iterable[EndpointSlice],
    nodes: Iterable[Node],
    settings: ProxySettings | None = None,
) -> tuple[NodeTraffic, ...]:
    """Per node, what its kube-proxy does with the Service's traffic, port by port. A headless or
    ExternalName Service has no kube-proxy rules: no node is listed."""
    if service.type is ServiceType.EXTERNAL_NAME or service.headless or not service.cluster_ip:
        return ()
    settings = settings or ProxySettings()
    own = [s for s in slices if s.namespace == service.namespace and s.service_name == service.name]
    per_port = [
        (sp, family, proxy_endpoints(own, sp, family), Policies.of(service, sp))
        for sp in service.ports
        for family in families(service)
    ]
    out = []
    for n in sorted(nodes, key=lambda n: n.name):
        ports = []
        for sp, family, endpoints, policies in per_port:
            cats = categorize(endpoints, policies, n.name, n.zone, node_hints=settings.node_hints)
            internal = route(
                endpoints, policies, n.name, n.zone, Destination.CLUSTER_IP, Source.POD, settings
            )
            external = None
            if policies.externally_accessible:
                kind = Destination.NODE_PORT if sp.node_port else Destination.LOAD_BALANCER
                external = route(endpoints, policies, n.name, n.zone, kind, Source.EXTERNAL, settings)
            ports.append(PortTraffic(sp, cats.topology, internal, external, family))
        out.append(NodeTraffic(n.name, n.zone, tuple(ports), service.session_affinity))
    return tuple(out)


# --------------------------------------------------------------------------- health check node port


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """What a node's kube-proxy answers on the Service's healthCheckNodePort (externalTrafficPolicy
    Local), as pkg/proxy/healthcheck/service_health.go serves it."""

    local_endpoints: int  # its localEndpoints: distinct ready local endpoint IPs, every port together

    def status(self, proxy_healthy: bool = True) -> int:
        return 200 if self.local_endpoints and proxy_healthy else 503


def health_check(service: Service, slices: Iterable[EndpointSlice], node: str) -> HealthCheck:
    """The endpoints that count are ready ones only (EndpointsMap.LocalReadyEndpoints): a node whose
    local endpoints all terminate answers 503, so load balancers leave it, though its rules still
    send to those serving, terminating endpoints what reaches it."""
    own = [s for s in slices if s.namespace == service.namespace and s.service_name == service.name]
    ips = {
        e.address for sp in service.ports for e in proxy_endpoints(own, sp) if e.ready and e.local_to(node)
    }
    return HealthCheck(len(ips))
