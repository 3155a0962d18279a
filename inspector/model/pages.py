"""LIST pages of Services, EndpointSlices and pods, decoded straight into the snapshot's types.

Why it exists: these three kinds are nearly all of what `diff -A` reads (20,000 pods, 2,000 Services
and their slices in the benchmark: 84 MB of JSON), and reading them was decoding each page into dicts
of the fields read (`inspector.kube.decoding`) and then walking those dicts again in the builders
(`building.py`): two passes over every field, the second in Python, checking the type of every
value with `_map`, `_list`, `_text`. Here msgspec decodes a page against `Struct`s shaped like the
API's objects, pruned to the fields the snapshot reads (every other field skipped in C, as before),
with their types checked once, by the decoder; each item then becomes its `Pod`, `Service` or
`EndpointSlice` by plain attribute reads. Measured on the benchmark's pages (20,002 pods, 2,002
Services, 2,002 slices; min of 15 interleaved runs, load average 8 on 2 cores), decoding and
building them took 0.65 s through dicts, 0.47 s this way (0.72x: pods 0.78x, Services 0.66x, slices
0.58x); what remains is mostly making the frozen dataclasses themselves.

The builders of `building.py` stay the one reading for everything else (manifests, watch events,
the smaller kinds), and this module answers exactly as they do: the same value for every object
the API can send (`tests/test_pages.py` compares the two on generated objects, on the unit tests'
manifests and on pages recorded from a cluster). A field the API may send as null or leave out is
`UNSET` when absent, so that the two are told apart where the builders tell them apart (an endpoint's
`serving`), and the rare objects whose reading is long (a pod that is not ready, whose troubles are
read from its container states; a pod with a dnsConfig) are handed to `pod_from_api` as the dict the
API sent (`msgspec.to_builtins`: exactly the fields present), so that reading exists once.

Adding a field the snapshot reads to one of these kinds: name it in the `Wire*` Struct below (with
its JSON type, `| None | UnsetType = UNSET`) and in `inspector.kube.decoding`'s TypedDict, and read it
in both builders; the tests fail until they agree.

A page that is not JSON, or whose fields have other types than the API's, is one clear error line
(`ClusterUnreachable`), as in `inspector.kube.decoding`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, TypeAlias

import msgspec
from msgspec import UNSET, Struct, UnsetType

from inspector.errors import ClusterUnreachable
from inspector.model.building import (
    SERVICE_NAME_LABEL,
    TOPOLOGY_ANNOTATIONS,
    _member,
    pod_from_api,
)
from inspector.model.snapshot import (
    EMPTY,
    ContainerPort,
    DNSPolicy,
    EndpointSlice,
    ObjectRef,
    Pod,
    Service,
    ServicePort,
    ServiceType,
    SliceEndpoint,
    SlicePort,
)

Text: TypeAlias = str | UnsetType | None
Number: TypeAlias = int | UnsetType | None
Flag: TypeAlias = bool | UnsetType | None
Labels: TypeAlias = dict[str, str] | UnsetType | None
Texts: TypeAlias = list[str] | UnsetType | None


class Wire(Struct, gc=False):
    """The fields are the API's own names: an absent one is UNSET, a null one None. Decoded from
    JSON, a Wire holds no reference cycle, so the collector need not track it (`gc=False`: each
    is cheaper to make, 0.74x -> 0.67x the dicts' time on the benchmark's pages)."""


class WireOwner(Wire):
    kind: Text = UNSET
    name: Text = UNSET
    controller: Flag = UNSET


class WireMeta(Wire):
    namespace: Text = UNSET
    name: Text = UNSET
    labels: Labels = UNSET
    deletionTimestamp: Text = UNSET
    ownerReferences: list[WireOwner] | UnsetType | None = UNSET
    # not read here, but type-checked as inspector.kube.decoding checks them: a page is refused alike
    resourceVersion: Text = UNSET
    generation: Number = UNSET


class WireServiceMeta(WireMeta):
    # a Service's annotations are few; a pod's can hold a whole last-applied manifest: only these
    annotations: Labels = UNSET
    uid: Text = UNSET


# ----------------------------------------------------------------------------- Pod


class WireContainerPort(Wire):
    containerPort: Number = UNSET
    protocol: Text = UNSET
    name: Text = UNSET


class WireContainer(Wire):
    name: Text = UNSET
    ports: list[WireContainerPort] | UnsetType | None = UNSET
    restartPolicy: Text = UNSET


class WireDNSOption(Wire):
    name: Text = UNSET
    value: Text = UNSET


class WireDNSConfig(Wire):
    nameservers: Texts = UNSET
    searches: Texts = UNSET
    options: list[WireDNSOption] | UnsetType | None = UNSET


class WireReadinessGate(Wire):
    conditionType: Text = UNSET


class WirePodSpec(Wire):
    containers: list[WireContainer] | UnsetType | None = UNSET
    initContainers: list[WireContainer] | UnsetType | None = UNSET
    nodeName: Text = UNSET
    hostNetwork: Flag = UNSET
    dnsPolicy: Text = UNSET
    dnsConfig: WireDNSConfig | UnsetType | None = UNSET
    readinessGates: list[WireReadinessGate] | UnsetType | None = UNSET
    hostname: Text = UNSET
    subdomain: Text = UNSET


class WirePodIP(Wire):
    ip: Text = UNSET


class WireCondition(Wire):
    type: Text = UNSET
    status: Text = UNSET
    reason: Text = UNSET
    message: Text = UNSET


class WireStateDetail(Wire):  # waiting, running, terminated
    reason: Text = UNSET
    message: Text = UNSET
    exitCode: Number = UNSET
    startedAt: Text = UNSET


class WireState(Wire):
    waiting: WireStateDetail | UnsetType | None = UNSET
    running: WireStateDetail | UnsetType | None = UNSET
    terminated: WireStateDetail | UnsetType | None = UNSET


class WireContainerStatus(Wire):
    name: Text = UNSET
    ready: Flag = UNSET
    restartCount: Number = UNSET
    state: WireState | UnsetType | None = UNSET
    lastState: WireState | UnsetType | None = UNSET


class WirePodStatus(Wire):
    phase: Text = UNSET
    podIP: Text = UNSET
    podIPs: list[WirePodIP] | UnsetType | None = UNSET
    conditions: list[WireCondition] | UnsetType | None = UNSET
    containerStatuses: list[WireContainerStatus] | UnsetType | None = UNSET
    initContainerStatuses: list[WireContainerStatus] | UnsetType | None = UNSET


class WirePod(Wire):
    metadata: WireMeta | UnsetType | None = UNSET
    spec: WirePodSpec | UnsetType | None = UNSET
    status: WirePodStatus | UnsetType | None = UNSET


# ----------------------------------------------------------------------------- Service


class WireServicePort(Wire):
    port: Number = UNSET
    protocol: Text = UNSET
    name: Text = UNSET
    targetPort: int | str | UnsetType | None = UNSET
    nodePort: Number = UNSET


class WireServiceSpec(Wire):
    type: Text = UNSET
    clusterIP: Text = UNSET
    clusterIPs: Texts = UNSET
    selector: Labels = UNSET
    ports: list[WireServicePort] | UnsetType | None = UNSET
    externalName: Text = UNSET
    publishNotReadyAddresses: Flag = UNSET
    externalTrafficPolicy: Text = UNSET
    ipFamilies: Texts = UNSET
    allocateLoadBalancerNodePorts: Flag = UNSET
    internalTrafficPolicy: Text = UNSET
    healthCheckNodePort: Number = UNSET
    trafficDistribution: Text = UNSET
    sessionAffinity: Text = UNSET
    externalIPs: Texts = UNSET


class WireIngress(Wire):
    ip: Text = UNSET
    hostname: Text = UNSET


class WireLoadBalancer(Wire):
    ingress: list[WireIngress] | UnsetType | None = UNSET


class WireServiceStatus(Wire):
    loadBalancer: WireLoadBalancer | UnsetType | None = UNSET


class WireService(Wire):
    metadata: WireServiceMeta | UnsetType | None = UNSET
    spec: WireServiceSpec | UnsetType | None = UNSET
    status: WireServiceStatus | UnsetType | None = UNSET


# ----------------------------------------------------------------------------- EndpointSlice


class WireEndpointConditions(Wire):
    ready: Flag = UNSET
    serving: Flag = UNSET
    terminating: Flag = UNSET


class WireHint(Wire):
    name: Text = UNSET


class WireHints(Wire):
    forZones: list[WireHint] | UnsetType | None = UNSET
    forNodes: list[WireHint] | UnsetType | None = UNSET


class WireTarget(Wire):
    kind: Text = UNSET
    namespace: Text = UNSET
    name: Text = UNSET


class WireSliceEndpoint(Wire):
    addresses: Texts = UNSET
    conditions: WireEndpointConditions | UnsetType | None = UNSET
    targetRef: WireTarget | UnsetType | None = UNSET
    nodeName: Text = UNSET
    hostname: Text = UNSET
    zone: Text = UNSET
    hints: WireHints | UnsetType | None = UNSET


class WireSlicePort(Wire):
    port: Number = UNSET
    protocol: Text = UNSET
    name: Text = UNSET


class WireSlice(Wire):
    metadata: WireMeta | UnsetType | None = UNSET
    endpoints: list[WireSliceEndpoint] | UnsetType | None = UNSET
    ports: list[WireSlicePort] | UnsetType | None = UNSET


# ----------------------------------------------------------------------------- pages


class WireListMeta(Wire):  # type-checked as inspector.kube.decoding checks it
    resourceVersion: Text = UNSET
    continue_: Text = msgspec.field(default=UNSET, name="continue")


class WirePods(Wire):
    metadata: WireListMeta | UnsetType | None = UNSET
    items: list[WirePod] | UnsetType | None = UNSET


class WireServices(Wire):
    metadata: WireListMeta | UnsetType | None = UNSET
    items: list[WireService] | UnsetType | None = UNSET


class WireSlices(Wire):
    metadata: WireListMeta | UnsetType | None = UNSET
    items: list[WireSlice] | UnsetType | None = UNSET


_PODS = msgspec.json.Decoder(WirePods)
_SERVICES = msgspec.json.Decoder(WireServices)
_SLICES = msgspec.json.Decoder(WireSlices)

_NO_META = WireMeta()
_NO_SERVICE_META = WireServiceMeta()
_NO_POD_SPEC = WirePodSpec()
_NO_POD_STATUS = WirePodStatus()
_NO_SERVICE_SPEC = WireServiceSpec()
_NO_CONDITIONS = WireEndpointConditions()
_NO_HINTS = WireHints()


def _failure(exc: msgspec.DecodeError, server: str, path: str) -> ClusterUnreachable:
    if isinstance(exc, msgspec.ValidationError):
        return ClusterUnreachable(f"the API server {server} answered {path} with unexpected JSON: {exc}")
    return ClusterUnreachable(f"the API server {server} answered {path} with invalid JSON")


def _page(decoder: msgspec.json.Decoder[Any], data: bytes, server: str, path: str) -> Any:
    try:
        return decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise _failure(exc, server, path) from None


def pods_of_page(data: bytes, server: str, path: str) -> list[Pod]:
    """The pods of a LIST page of pods."""
    shared = _Shared()
    return [_pod(item, shared) for item in _page(_PODS, data, server, path).items or ()]


def services_of_page(data: bytes, server: str, path: str) -> list[Service]:
    """The Services of a LIST page of Services."""
    return [_service(item) for item in _page(_SERVICES, data, server, path).items or ()]


def slices_of_page(data: bytes, server: str, path: str) -> list[EndpointSlice]:
    """The EndpointSlices of a LIST page of EndpointSlices."""
    shared = _Shared()
    return [_slice(item, shared) for item in _page(_SLICES, data, server, path).items or ()]


# ----------------------------------------------------------------------------- the readings
# Each mirrors its builder in building.py line for line; a value of the right type is all the
# decoder lets through, so the builders' type checks (`_text`: a non-empty string, `_int`: an int)
# come down to truthiness here.


def _labels(value: Labels) -> Mapping[str, str]:
    return MappingProxyType(value) if value else EMPTY


class _Shared:
    """One copy of each value that a page's objects repeat: the namespace, node, phase and port
    names of every pod, the labels and container ports of a workload's pods, the owner they share.
    The decoder makes a new string, dict and tuple for each object; kept as they come, they were
    most of a snapshot's memory (about 1.1 KB of each pod's, by tracemalloc). Scoped to one page,
    so nothing outlives the objects that hold it (a long `serve` keeps no table of past values)."""

    __slots__ = ("_labels", "_ports", "_refs", "_text")

    def __init__(self) -> None:
        self._text: dict[str, str] = {}
        self._labels: dict[tuple[tuple[str, str], ...], Mapping[str, str]] = {}
        self._ports: dict[tuple[ContainerPort, ...], tuple[ContainerPort, ...]] = {}
        self._refs: dict[ObjectRef, ObjectRef] = {}

    def text(self, value: str) -> str:
        return self._text.setdefault(value, value)

    def maybe(self, value: Text) -> str | None:
        return self._text.setdefault(value, value) if isinstance(value, str) and value else None

    def labels(self, value: Labels) -> Mapping[str, str]:
        if not value:
            return EMPTY
        key = tuple(value.items())
        got = self._labels.get(key)
        if got is None:
            text = self._text.setdefault
            got = self._labels[key] = MappingProxyType({text(k, k): text(v, v) for k, v in key})
        return got

    def ports(self, ports: tuple[ContainerPort, ...]) -> tuple[ContainerPort, ...]:
        return self._ports.setdefault(ports, ports)

    def ref(self, ref: ObjectRef | None) -> ObjectRef | None:
        return self._refs.setdefault(ref, ref) if ref is not None else None


def _number(value: Number) -> int | None:
    return value if isinstance(value, int) else None


def _present(value: object) -> bool:
    """Sent by the API, null or not: what `obj.get(key) is not None` reads as present."""
    return value is not None and value is not UNSET


def _owner(meta: WireMeta) -> ObjectRef | None:
    refs = meta.ownerReferences
    if not refs:
        return None
    ref = next((r for r in refs if r.controller), refs[0])
    if ref.kind is UNSET and ref.name is UNSET and ref.controller is UNSET:  # `{}`, an empty dict there
        return None
    return ObjectRef(ref.kind or "", meta.namespace or "default", ref.name or "")


def _pod(item: WirePod, shared: _Shared) -> Pod:
    spec = item.spec or _NO_POD_SPEC
    status = item.status or _NO_POD_STATUS
    ready = any(c.type == "Ready" and c.status == "True" for c in status.conditions or ())
    if not ready or _present(spec.dnsConfig):  # long readings, kept once: building's
        return pod_from_api(msgspec.to_builtins(item))
    meta = item.metadata or _NO_META
    containers = spec.containers or []
    if spec.initContainers:  # restartable init containers are sidecars: their ports count
        containers = containers + [c for c in spec.initContainers if c.restartPolicy == "Always"]
    text, maybe = shared.text, shared.maybe
    ports = tuple(
        ContainerPort(text(c.name or ""), p.containerPort, text(p.protocol or "TCP"), maybe(p.name))
        for c in containers
        for p in c.ports or ()
        if isinstance(p.containerPort, int)
    )
    ips = tuple(i.ip for i in status.podIPs or () if i.ip)
    ip = status.podIP or (ips[0] if ips else None)
    restarts = sum(s.restartCount or 0 for s in status.containerStatuses or ()) + sum(
        s.restartCount or 0 for s in status.initContainerStatuses or ()
    )
    return Pod(
        namespace=text(meta.namespace or "default"),
        name=meta.name or "",
        labels=shared.labels(meta.labels),
        ip=ip or None,
        ips=ips or ((ip,) if ip else ()),
        node=maybe(spec.nodeName),
        phase=text(status.phase or "Pending"),
        ready=True,
        terminating=_present(meta.deletionTimestamp),
        container_ports=shared.ports(ports),
        owner=shared.ref(_owner(meta)),
        host_network=bool(spec.hostNetwork),
        dns_policy=_member(DNSPolicy, spec.dnsPolicy or None, DNSPolicy.CLUSTER_FIRST),
        dns_config=None,
        troubles=(),
        restarts=restarts,
        hostname=spec.hostname or None,
        subdomain=spec.subdomain or None,
    )


def _service(item: WireService) -> Service:
    meta = item.metadata or _NO_SERVICE_META
    spec = item.spec or _NO_SERVICE_SPEC
    ports = tuple(
        ServicePort(
            port=p.port or 0,
            protocol=p.protocol or "TCP",
            name=p.name or None,
            target_port=None if p.targetPort is UNSET else p.targetPort,
            node_port=_number(p.nodePort),
        )
        for p in spec.ports or ()
    )
    balancer = (item.status.loadBalancer if item.status else None) or None
    ingress = tuple(i.ip or i.hostname or "" for i in (balancer.ingress if balancer else None) or ())
    cluster_ip = spec.clusterIP or None
    annotations = meta.annotations or {}
    return Service(
        namespace=meta.namespace or "default",
        name=meta.name or "",
        type=_member(ServiceType, spec.type or None, ServiceType.CLUSTER_IP),
        cluster_ip=cluster_ip,
        cluster_ips=tuple(spec.clusterIPs or ()) or ((cluster_ip,) if cluster_ip else ()),
        selector=_labels(spec.selector) if spec.selector else None,
        ports=ports,
        external_name=spec.externalName or None,
        publish_not_ready_addresses=bool(spec.publishNotReadyAddresses),
        external_traffic_policy=spec.externalTrafficPolicy or None,
        ip_families=tuple(spec.ipFamilies or ()),
        load_balancer_ingress=tuple(address for address in ingress if address),
        allocate_load_balancer_node_ports=spec.allocateLoadBalancerNodePorts is not False,
        labels=_labels(meta.labels),
        internal_traffic_policy=spec.internalTrafficPolicy or None,
        health_check_node_port=_number(spec.healthCheckNodePort),
        traffic_distribution=spec.trafficDistribution or None,
        session_affinity=spec.sessionAffinity or "None",
        external_ips=tuple(spec.externalIPs or ()),
        topology_mode=next((annotations[k] for k in TOPOLOGY_ANNOTATIONS if annotations.get(k)), None),
        uid=meta.uid or None,
    )


def _hint_names(hints: list[WireHint] | UnsetType | None) -> tuple[str, ...]:
    return tuple(h.name for h in hints or () if h.name)


def _slice(item: WireSlice, shared: _Shared) -> EndpointSlice:
    meta = item.metadata or _NO_META
    text, maybe = shared.text, shared.maybe
    namespace = text(meta.namespace or "default")
    endpoints = []
    for e in item.endpoints or ():
        cond = e.conditions or _NO_CONDITIONS
        # API semantics: ready/serving absent means unknown, to be read as true; terminating as false
        ready = cond.ready is not False
        hints = e.hints or _NO_HINTS
        ref = e.targetRef
        endpoints.append(
            SliceEndpoint(
                addresses=tuple(e.addresses or ()),
                ready=ready,
                serving=ready if cond.serving is UNSET else cond.serving is not False,
                terminating=cond.terminating is True,
                target=ObjectRef(text(ref.kind or "Pod"), maybe(ref.namespace) or namespace, ref.name)
                if ref and ref.name
                else None,
                node=maybe(e.nodeName),
                hostname=e.hostname or None,
                zone=maybe(e.zone),
                zone_hints=_hint_names(hints.forZones),
                node_hints=_hint_names(hints.forNodes),
            )
        )
    return EndpointSlice(
        namespace=namespace,
        name=meta.name or "",
        service_name=(meta.labels or {}).get(SERVICE_NAME_LABEL) or None,
        endpoints=tuple(endpoints),
        ports=tuple(
            SlicePort(_number(p.port), p.protocol or "TCP", p.name or None) for p in item.ports or ()
        ),
    )
