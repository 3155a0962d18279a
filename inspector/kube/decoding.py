"""Decoding a LIST page: straight from the response's bytes to the few fields the inspector reads.

Why it exists: a page of 500 pods is ~750 KB of JSON of which the snapshot reads a few percent
(managedFields, images, probes, volumes... are never read). `json.loads` builds every one of those
dicts and strings, then the snapshot's builders walk them again. msgspec decodes against a schema:
the fields named below are decoded (and type-checked), every other field is skipped in C without
building a Python object. What comes out is the same shape of dicts the API sends, only pruned, so
the snapshot's `*_from_api` builders stay the one reading of every field (manifests and watch events
use them too).

Measured on a page of 500 of the benchmark's pods (1.6 MB; medians of 15, interleaved, a busy
2-core machine), page to snapshot Pods: `json.loads` + builders 437 ms; orjson + builders 375 ms
(orjson alone 270 ms: it still builds every object); msgspec into these pruned dicts + builders
124 ms (the decoding alone 42 ms, 8x less than `json.loads`); msgspec Structs converted to Pods by
hand 81 ms. That last way is now how the pages of Services, EndpointSlices and pods are read (nearly
all of a snapshot: `inspector.model.pages`, tested to answer as the builders do); this module still
decodes every other kind, and every watch event, for the builders.

Adding a field the snapshot reads is a one-line change here: name it, with its JSON type, in the
TypedDict of the object it sits in (e.g. `"hostname": str | None` in `PodSpec` for Pod.hostname),
then read it in the builder in inspector/model/building.py as usual. A field not named here reaches
the builder absent, as if the API had not sent it (a test checks that every field the builders read
on a full manifest survives the decoding). For a Service, an EndpointSlice or a pod, name it in its
`Wire*` Struct in inspector/model/pages.py too, and read it there (tests/test_pages.py compares the
two readings on the same manifests and pages).

Every type is `X | None`: the API may send null for an absent value. A page that is not JSON, or
whose fields have other types than the API's, is one clear error line (`ClusterUnreachable`), never
a traceback; only this module imports msgspec.
"""

from __future__ import annotations

from typing import Any, TypedDict

import msgspec

from inspector.errors import ClusterUnreachable

# ----------------------------------------------------------------------------- shared pieces

Labels = dict[str, str] | None


class OwnerReference(TypedDict, total=False):
    kind: str | None
    name: str | None
    controller: bool | None


class ObjectMeta(TypedDict, total=False):
    namespace: str | None
    name: str | None
    resourceVersion: str | None  # a watch goes on from its last event's
    labels: Labels
    deletionTimestamp: str | None
    ownerReferences: list[OwnerReference] | None
    generation: int | None


class Condition(TypedDict, total=False):
    type: str | None
    status: str | None
    reason: str | None  # why a pod is not ready
    message: str | None


class ObjectReference(TypedDict, total=False):
    kind: str | None
    namespace: str | None
    name: str | None


class NamedPort(TypedDict, total=False):  # EndpointSlice and Endpoints ports
    port: int | None
    protocol: str | None
    name: str | None


# ----------------------------------------------------------------------------- Pod


class ContainerPortJSON(TypedDict, total=False):
    containerPort: int | None
    protocol: str | None
    name: str | None


class Container(TypedDict, total=False):
    name: str | None
    ports: list[ContainerPortJSON] | None
    restartPolicy: str | None  # init containers: "Always" makes a sidecar


class DNSOption(TypedDict, total=False):
    name: str | None
    value: str | None


class PodDNSConfig(TypedDict, total=False):
    nameservers: list[str] | None
    searches: list[str] | None
    options: list[DNSOption] | None


class ReadinessGate(TypedDict, total=False):
    conditionType: str | None


class PodSpec(TypedDict, total=False):
    containers: list[Container] | None
    initContainers: list[Container] | None
    nodeName: str | None
    hostNetwork: bool | None
    dnsPolicy: str | None
    dnsConfig: PodDNSConfig | None
    readinessGates: list[ReadinessGate] | None
    hostname: str | None  # with subdomain: the pod's <hostname>.<subdomain> record
    subdomain: str | None


class PodIP(TypedDict, total=False):
    ip: str | None


class ContainerStateDetail(TypedDict, total=False):  # waiting, terminated, running
    reason: str | None
    message: str | None
    exitCode: int | None
    startedAt: str | None


class ContainerState(TypedDict, total=False):
    waiting: ContainerStateDetail | None
    running: ContainerStateDetail | None
    terminated: ContainerStateDetail | None


class ContainerStatus(TypedDict, total=False):
    name: str | None
    ready: bool | None
    restartCount: int | None
    state: ContainerState | None
    lastState: ContainerState | None


class PodStatus(TypedDict, total=False):
    phase: str | None
    podIP: str | None
    podIPs: list[PodIP] | None
    conditions: list[Condition] | None
    containerStatuses: list[ContainerStatus] | None  # why a pod is not ready, its restarts
    initContainerStatuses: list[ContainerStatus] | None


class PodJSON(TypedDict, total=False):
    metadata: ObjectMeta | None
    spec: PodSpec | None
    status: PodStatus | None


# ----------------------------------------------------------------------------- Service


class ServicePortJSON(TypedDict, total=False):
    port: int | None
    protocol: str | None
    name: str | None
    targetPort: int | str | None
    nodePort: int | None


class ServiceSpec(TypedDict, total=False):
    type: str | None
    clusterIP: str | None
    clusterIPs: list[str] | None
    selector: Labels
    ports: list[ServicePortJSON] | None
    externalName: str | None
    publishNotReadyAddresses: bool | None
    externalTrafficPolicy: str | None
    ipFamilies: list[str] | None
    allocateLoadBalancerNodePorts: bool | None
    internalTrafficPolicy: str | None
    healthCheckNodePort: int | None
    trafficDistribution: str | None
    sessionAffinity: str | None
    externalIPs: list[str] | None


class LoadBalancerIngress(TypedDict, total=False):
    ip: str | None
    hostname: str | None


class LoadBalancerStatus(TypedDict, total=False):
    ingress: list[LoadBalancerIngress] | None


class ServiceStatus(TypedDict, total=False):
    loadBalancer: LoadBalancerStatus | None


class ServiceMeta(ObjectMeta, total=False):
    # service.kubernetes.io/topology-mode asks for topology hints (a Service's annotations are few
    # next to its pods')
    annotations: dict[str, str] | None
    uid: str | None  # serve --events names the Service it writes an Event about


class ServiceJSON(TypedDict, total=False):
    metadata: ServiceMeta | None
    spec: ServiceSpec | None
    status: ServiceStatus | None


# ----------------------------------------------------------------------------- EndpointSlice, Endpoints


class EndpointConditions(TypedDict, total=False):
    ready: bool | None
    serving: bool | None
    terminating: bool | None


class HintName(TypedDict, total=False):
    name: str | None


class EndpointHints(TypedDict, total=False):
    forZones: list[HintName] | None
    forNodes: list[HintName] | None


class SliceEndpointJSON(TypedDict, total=False):
    addresses: list[str] | None
    conditions: EndpointConditions | None
    targetRef: ObjectReference | None
    nodeName: str | None
    hostname: str | None
    zone: str | None
    hints: EndpointHints | None  # what kube-proxy's topology routing reads


class EndpointSliceJSON(TypedDict, total=False):
    metadata: ObjectMeta | None
    endpoints: list[SliceEndpointJSON] | None
    ports: list[NamedPort] | None


class EndpointAddress(TypedDict, total=False):
    ip: str | None
    targetRef: ObjectReference | None
    nodeName: str | None
    hostname: str | None


class EndpointSubset(TypedDict, total=False):
    addresses: list[EndpointAddress] | None
    notReadyAddresses: list[EndpointAddress] | None
    ports: list[NamedPort] | None


class EndpointsJSON(TypedDict, total=False):
    metadata: ObjectMeta | None
    subsets: list[EndpointSubset] | None


# ----------------------------------------------------------------------------- Node, Namespace, workloads


class NodeAddress(TypedDict, total=False):
    type: str | None
    address: str | None


class NodeStatus(TypedDict, total=False):
    conditions: list[Condition] | None
    addresses: list[NodeAddress] | None


class NodeMeta(ObjectMeta, total=False):
    # kwok's `kwok.x-k8s.io/node` marks a simulated node (a node's annotations are few; a pod's can
    # hold a whole last-applied manifest, so only nodes decode them)
    annotations: dict[str, str] | None


class Taint(TypedDict, total=False):
    key: str | None
    value: str | None
    effect: str | None


class NodeSpec(TypedDict, total=False):
    taints: list[Taint] | None


class NodeJSON(TypedDict, total=False):
    metadata: NodeMeta | None
    spec: NodeSpec | None
    status: NodeStatus | None


class NamespaceJSON(TypedDict, total=False):
    metadata: ObjectMeta | None


class TemplateMeta(TypedDict, total=False):
    labels: Labels


class PodTemplate(TypedDict, total=False):
    metadata: TemplateMeta | None


class WorkloadSpec(TypedDict, total=False):
    replicas: int | None
    template: PodTemplate | None
    serviceName: str | None  # a StatefulSet's: the headless Service naming its pods


class WorkloadStatus(TypedDict, total=False):
    readyReplicas: int | None
    updatedReplicas: int | None
    observedGeneration: int | None


class WorkloadJSON(TypedDict, total=False):
    metadata: ObjectMeta | None
    spec: WorkloadSpec | None
    status: WorkloadStatus | None


# ----------------------------------------------------------------------------- pages

ListMeta = TypedDict("ListMeta", {"resourceVersion": str | None, "continue": str | None}, total=False)

SCHEMAS: dict[str, Any] = {
    "Pod": PodJSON,
    "Service": ServiceJSON,
    "EndpointSlice": EndpointSliceJSON,
    "Endpoints": EndpointsJSON,
    "Node": NodeJSON,
    "Namespace": NamespaceJSON,
    "Deployment": WorkloadJSON,
    "StatefulSet": WorkloadJSON,
    "ReplicaSet": WorkloadJSON,
}


def _page_of(item: Any) -> Any:
    return TypedDict("Page", {"metadata": ListMeta | None, "items": list[item] | None}, total=False)  # type: ignore[operator]


_DECODERS = {kind: msgspec.json.Decoder(_page_of(schema)) for kind, schema in SCHEMAS.items()}
_WHOLE = msgspec.json.Decoder(_page_of(dict[str, Any]))  # a kind without a schema: every field
_HEAD = msgspec.json.Decoder(TypedDict("Head", {"metadata": ListMeta | None}, total=False))  # type: ignore[operator]


class Page(TypedDict):
    items: list[dict[str, Any]]
    resource_version: str
    continue_token: str


def _failure(exc: msgspec.DecodeError, server: str, path: str) -> ClusterUnreachable:
    if isinstance(exc, msgspec.ValidationError):
        return ClusterUnreachable(f"the API server {server} answered {path} with unexpected JSON: {exc}")
    return ClusterUnreachable(f"the API server {server} answered {path} with invalid JSON")


# The API server writes a list's kind, apiVersion and metadata before its items. Cut there, the head
# of a page is a small JSON object of its own; a page written otherwise (or not JSON) is read whole.
_ITEMS = b',"items":'
_HEAD_BYTES = 65536  # where the cut is looked for: a list's metadata is a few hundred bytes


def continue_token(data: bytes, server: str, path: str) -> tuple[str, str]:
    """(resourceVersion, continue) of a LIST page, the items skipped unread: enough to ask for the
    next page before this one is decoded. Only the page's head is decoded where the API server put
    the metadata first (as it does): decoding all 1.6 MB of a page of pods to skip its items took
    0.09 s of the 0.36 s its decoding costs, across the benchmark's 20,000 pods. A cut anywhere but
    at the top level leaves a bracket open, so it never decodes: then the page is read whole."""
    head: Any = None
    cut = data.find(_ITEMS, 0, _HEAD_BYTES)
    if cut > 0:
        try:
            head = _HEAD.decode(data[:cut] + b"}")
        except msgspec.DecodeError:
            head = None
    if head is None:
        try:
            head = _HEAD.decode(data)
        except msgspec.DecodeError as exc:
            raise _failure(exc, server, path) from None
    meta = head.get("metadata") or {}
    return meta.get("resourceVersion") or "", meta.get("continue") or ""


def decode_page(kind: str, data: bytes, server: str, path: str) -> Page:
    """The items of a LIST page of `kind`, pruned to the fields the snapshot reads, each carrying
    `kind` (the items of a LIST carry none)."""
    try:
        page = _DECODERS.get(kind, _WHOLE).decode(data)
    except msgspec.DecodeError as exc:
        raise _failure(exc, server, path) from None
    items = page.get("items") or []
    for item in items:
        item["kind"] = kind
    meta = page.get("metadata") or {}
    return Page(
        items=items,
        resource_version=meta.get("resourceVersion") or "",
        continue_token=meta.get("continue") or "",
    )


_EVENT = msgspec.json.Decoder(
    TypedDict("WatchEvent", {"type": str | None, "object": msgspec.Raw}, total=False)  # type: ignore[operator]
)
_OBJECTS = {kind: msgspec.json.Decoder(schema) for kind, schema in SCHEMAS.items()}
_ANY = msgspec.json.Decoder(dict[str, Any])


def decode_event(kind: str, line: bytes) -> tuple[str, dict[str, Any]]:
    """A watch event's type and object, the object pruned to the fields the snapshot reads as a LIST
    page's items are (an ERROR's Status whole). Kept by a watcher for as long as it runs, an object
    with every field (managedFields, annotations, the spec's rest) would hold several times the
    memory of the listed one it replaces. Raises msgspec.DecodeError (a ValueError) on bad JSON."""
    event = _EVENT.decode(line)
    raw = event.get("object")
    kind_of_event = event.get("type") or ""
    if raw is None or bytes(raw) == b"null":
        return kind_of_event, {}
    obj = (_ANY if kind_of_event == "ERROR" else _OBJECTS.get(kind, _ANY)).decode(raw)
    return kind_of_event, obj if isinstance(obj, dict) else {}
