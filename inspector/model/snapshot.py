"""The snapshot: our own frozen view of the cluster objects the inspector reads.

Why it exists: everything above the kube client works on these dataclasses, never on the client
library's model classes, so the pure core can be tested on manifests and the JSON is parsed once,
keeping only the fields we read (the client's models cost ~8x the parse time and most of the memory).
The values only: `inspector.model.building` makes them from the API's JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # netpol reads the model's label selectors, which index the snapshot's pods
    from inspector.model.netpol import NetworkPolicy

EMPTY: Mapping[str, str] = MappingProxyType({})
# the topology-mode annotation's values that ask for topology hints, as the EndpointSlice
# controller's hintsEnabled reads them
TOPOLOGY_MODES = ("Auto", "auto")
TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})


class ServiceType(StrEnum):
    CLUSTER_IP = "ClusterIP"
    NODE_PORT = "NodePort"
    LOAD_BALANCER = "LoadBalancer"
    EXTERNAL_NAME = "ExternalName"

    @property
    def opens_node_ports(self) -> bool:
        return self in (ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER)


class DNSPolicy(StrEnum):
    CLUSTER_FIRST = "ClusterFirst"
    CLUSTER_FIRST_WITH_HOST_NET = "ClusterFirstWithHostNet"
    DEFAULT = "Default"
    NONE = "None"


@dataclass(frozen=True, slots=True)
class ObjectRef:
    kind: str
    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class ContainerPort:
    container: str
    port: int
    protocol: str = "TCP"
    name: str | None = None


@dataclass(frozen=True, slots=True)
class DNSConfig:
    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Pod:
    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    ip: str | None = None
    ips: tuple[str, ...] = ()
    node: str | None = None
    phase: str = "Pending"
    ready: bool = False
    terminating: bool = False
    container_ports: tuple[ContainerPort, ...] = ()
    owner: ObjectRef | None = None
    host_network: bool = False
    dns_policy: DNSPolicy = DNSPolicy.CLUSTER_FIRST
    dns_config: DNSConfig | None = None
    # why it is not ready, as the API says: containers' waiting/terminated states, gates, conditions
    troubles: tuple[str, ...] = ()
    hostname: str | None = None  # spec.hostname: with subdomain, its <hostname>.<subdomain> record
    subdomain: str | None = None  # spec.subdomain: should name a headless Service
    restarts: int = 0  # the sum of its containers' restartCount
    # what-if runs (-f): the file whose object will create this pod (assumed ready, no IP yet);
    # None: read from the cluster
    source: str | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def planned(self) -> bool:
        """A pod that does not run yet: what a manifest's object will create."""
        return self.source is not None

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL_PHASES


# --------------------------------------------------------------------------- addresses not allocated yet


def pod_ip_stand_in(pod: str, family: str = "IPv4") -> str:
    """What stands, in a what-if run (-f), for the IP a planned pod gets only once it runs:
    `<IPv4 of pod db-0>`. Never an IP; no name the API accepts holds its brackets."""
    return f"<{family} of pod {pod}>"


def cluster_ip_stand_in(family: str = "IPv4") -> str:
    """... and for the cluster IP of a Service not applied yet (none written in its file): `<cluster IPv4>`."""
    return f"<cluster {family}>"


def is_stand_in(address: str) -> bool:
    """An address (or a name made of one) that is not allocated yet: see `pod_ip_stand_in`."""
    return address.startswith("<") and address.endswith(">")


def stand_in_family(address: str) -> str:
    """The IP family a stand-in is of (IPv4 unless it says IPv6)."""
    return "IPv6" if "IPv6" in address else "IPv4"


@dataclass(frozen=True, slots=True)
class ProbeEvent:
    """The latest `Unhealthy` event of a pod: a readiness, liveness or startup probe that failed."""

    namespace: str
    pod: str
    message: str
    count: int = 1
    last_seen: str = ""  # RFC 3339, as the API sends it; compared as text (same format)


@dataclass(frozen=True, slots=True)
class ServiceEvent:
    """The latest `TopologyAwareHintsDisabled` event of a Service: why its slices carry no hints."""

    namespace: str
    service: str
    message: str
    count: int = 1
    last_seen: str = ""  # RFC 3339, compared as text


@dataclass(frozen=True, slots=True)
class ServicePort:
    port: int
    protocol: str = "TCP"
    name: str | None = None
    target_port: int | str | None = None  # None: the API default, same as port
    node_port: int | None = None

    @property
    def target(self) -> int | str:
        return self.port if self.target_port is None else self.target_port

    @property
    def label(self) -> str:
        """port:targetPort/nodePort, as `services` shows it."""
        text = f"{self.port}"
        if self.target != self.port:
            text += f":{self.target}"
        if self.node_port:
            text += f"/{self.node_port}"
        if self.protocol != "TCP":
            text += f"/{self.protocol}"
        return text


@dataclass(frozen=True, slots=True)
class Service:
    namespace: str
    name: str
    type: ServiceType = ServiceType.CLUSTER_IP
    cluster_ip: str | None = None
    cluster_ips: tuple[str, ...] = ()
    selector: Mapping[str, str] | None = None  # None or empty: no selector
    ports: tuple[ServicePort, ...] = ()
    external_name: str | None = None
    publish_not_ready_addresses: bool = False
    external_traffic_policy: str | None = None
    ip_families: tuple[str, ...] = ()
    load_balancer_ingress: tuple[str, ...] = ()
    allocate_load_balancer_node_ports: bool = True
    labels: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    internal_traffic_policy: str | None = None  # None: the API default, Cluster
    traffic_distribution: str | None = None  # PreferClose, PreferSameZone, PreferSameNode
    session_affinity: str = "None"  # or ClientIP
    external_ips: tuple[str, ...] = ()
    topology_mode: str | None = None  # the topology-mode (or topology-aware-hints) annotation
    health_check_node_port: int | None = None  # externalTrafficPolicy Local: kube-proxy answers there
    source: str | None = None  # what-if runs (-f): the file it comes from; None: read from the cluster
    uid: str | None = None  # an Event about it names it (serve --events)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def headless(self) -> bool:
        return self.cluster_ip == "None"

    @property
    def has_selector(self) -> bool:
        return bool(self.selector)

    @property
    def asked_topology(self) -> str | None:
        """How it asks for topology-aware routing (hints), in the user's words, or None."""
        if self.traffic_distribution:
            return f"trafficDistribution {self.traffic_distribution}"
        if self.topology_mode in TOPOLOGY_MODES:
            return f"topology-mode {self.topology_mode}"
        return None

    @property
    def selects_pods(self) -> bool:
        """Its endpoints come from the pods its selector picks (ExternalName ignores a selector)."""
        return self.type is not ServiceType.EXTERNAL_NAME and bool(self.selector)


@dataclass(frozen=True, slots=True)
class SliceEndpoint:
    addresses: tuple[str, ...]
    ready: bool
    serving: bool
    terminating: bool
    target: ObjectRef | None = None
    node: str | None = None
    hostname: str | None = None
    zone: str | None = None
    zone_hints: tuple[str, ...] = ()  # hints.forZones: the zones whose nodes should use it
    node_hints: tuple[str, ...] = ()  # hints.forNodes: the nodes that should use it


@dataclass(frozen=True, slots=True)
class SlicePort:
    port: int | None
    protocol: str = "TCP"
    name: str | None = None


@dataclass(frozen=True, slots=True)
class EndpointSlice:
    namespace: str
    name: str
    service_name: str | None
    endpoints: tuple[SliceEndpoint, ...] = ()
    ports: tuple[SlicePort, ...] = ()
    legacy: bool = False  # built from a v1 Endpoints object where slices are not served

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    ready: bool = False
    internal_ips: tuple[str, ...] = ()
    simulated: bool = False  # a kwok node: no kubelet, no kube-proxy, no network behind its address
    zone: str | None = None  # its topology.kubernetes.io/zone label
    # its NoSchedule and NoExecute taints, as KEY[=VALUE]:EFFECT: pods that do not tolerate them do
    # not run there (why --nodes does not probe from such a node)
    taints: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Workload:
    """A Deployment, StatefulSet or ReplicaSet: its pods' labels and the replicas it asks for."""

    kind: str
    namespace: str
    name: str
    replicas: int
    template_labels: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    owned: bool = False  # a ReplicaSet owned by a Deployment
    ready_replicas: int = 0
    updated_replicas: int | None = None  # None: the kind does not report it (ReplicaSet)
    rollout_observed: bool = True  # the controller has seen the latest spec (observedGeneration)
    service_name: str | None = None  # a StatefulSet's spec.serviceName: the headless Service naming its pods
    controller: ObjectRef | None = None  # its controlling owner (a ReplicaSet's Deployment)

    @property
    def rolled_out(self) -> bool:
        """Every replica of the current spec exists and is ready."""
        updated = self.replicas if self.updated_replicas is None else self.updated_replicas
        return self.rollout_observed and updated >= self.replicas and self.ready_replicas >= self.replicas


@dataclass(frozen=True, slots=True)
class RouteBackend:
    """One backend of an Ingress or a Gateway API route that names a Service."""

    namespace: str
    service: str
    port: int | str | None  # a number, a port name (Ingress only), or None when not given
    where: str  # which rule leads to it, as a reader finds it in the object

    @property
    def service_key(self) -> str:
        return f"{self.namespace}/{self.service}"


@dataclass(frozen=True, slots=True)
class Route:
    """An Ingress (networking.k8s.io/v1), HTTPRoute or GRPCRoute (gateway.networking.k8s.io/v1)."""

    kind: str
    namespace: str
    name: str
    backends: tuple[RouteBackend, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class FileObject:
    """One object of a what-if run's files, and what it does to the cluster read (if any)."""

    kind: str
    namespace: str | None  # None: a cluster-scoped object (Namespace, Node)
    name: str
    source: str  # the file, as given ("stdin" for -f -)
    document: int  # its document in that file, from 1
    action: str  # "added", "replaced" (a live object of that kind and name), or "planned" (offline)


@dataclass(frozen=True, slots=True)
class WhatIf:
    """A what-if run: the snapshot is what the cluster will be once the files are applied."""

    offline: bool  # no cluster read: the files alone
    objects: tuple[FileObject, ...] = ()
    # the Services whose judgement the files change ("namespace/name"): their own object comes from
    # the files, or a pod they select (or selected) is planned (or removed) by them; only findings
    # judged from manifests are claimed for them (for every Service, offline)
    touched: frozenset[str] = frozenset()

    def planned(self, service_key: str) -> bool:
        return self.offline or service_key in self.touched


@dataclass(frozen=True, slots=True)
class Snapshot:
    services: tuple[Service, ...] = ()
    slices: tuple[EndpointSlice, ...] = ()
    pods: tuple[Pod, ...] = ()
    nodes: tuple[Node, ...] = ()
    workloads: tuple[Workload, ...] = ()
    namespaces: tuple[str, ...] | None = None  # None: all namespaces
    notes: tuple[str, ...] = ()  # e.g. namespaces left out for lack of permission
    probe_events: tuple[ProbeEvent, ...] = ()  # read only when some pod is not ready
    network_policies: tuple[NetworkPolicy, ...] = ()
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # Namespaces read
    routes: tuple[Route, ...] = ()
    service_events: tuple[ServiceEvent, ...] = ()  # read only for Services that ask for topology
    what_if: WhatIf | None = None  # a what-if run (-f): the files laid over the cluster, or alone

    def service(self, namespace: str, name: str) -> Service | None:
        return next((s for s in self.services if s.namespace == namespace and s.name == name), None)
