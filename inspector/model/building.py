"""The snapshot built from the API's JSON: one function per kind, and the one builder.

Why it exists: the JSON is parsed once, keeping only the fields we read. The `*_from_api` functions
take the API's JSON dicts (as in a manifest or a LIST response) and never raise on unusual but valid
objects: absent fields get their API defaults. `SnapshotBuilder` is the one way a `Snapshot` is built
from them, whether they come from a LIST, a watch or a manifest file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar

from inspector.model.netpol import InvalidNetworkPolicy, NetworkPolicy
from inspector.model.snapshot import (
    EMPTY,
    ContainerPort,
    DNSConfig,
    DNSPolicy,
    EndpointSlice,
    Node,
    ObjectRef,
    Pod,
    ProbeEvent,
    Route,
    RouteBackend,
    Service,
    ServiceEvent,
    ServicePort,
    ServiceType,
    SliceEndpoint,
    SlicePort,
    Snapshot,
    Workload,
)

JSON = Mapping[str, Any]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
ZONE_LABEL = "topology.kubernetes.io/zone"
# the annotations that ask the EndpointSlice controller for topology hints (the second is deprecated)
TOPOLOGY_ANNOTATIONS = ("service.kubernetes.io/topology-mode", "service.kubernetes.io/topology-aware-hints")
# the reason of the event the EndpointSlice controller records on a Service whose hints it drops
HINTS_DISABLED = "TopologyAwareHintsDisabled"
ROUTE_KINDS = ("Ingress", "HTTPRoute", "GRPCRoute")
E = TypeVar("E", bound=StrEnum)


def _member(vocabulary: type[E], value: Any, default: E) -> E:
    """The API's default for an absent value, or for one the API server would refuse (only a
    hand-written manifest can hold it)."""
    try:
        return vocabulary(value)
    except ValueError:
        return default


def _frozen_labels(value: Any) -> Mapping[str, str]:
    if not value or (type(value) is not dict and not isinstance(value, Mapping)):
        return EMPTY
    return MappingProxyType({str(k): str(v) for k, v in value.items()})


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _map(value: Any) -> JSON:
    # `type is dict` first: what the API's JSON decodes to, and 5x cheaper than the ABC's check
    # (called a dozen times per pod: 7% of building 20,000 pods)
    return value if type(value) is dict or isinstance(value, Mapping) else {}


def _meta(obj: JSON) -> tuple[str, str, JSON]:
    meta = _map(obj.get("metadata"))
    # a manifest without a namespace lands in "default", as `kubectl apply` would put it
    return str(meta.get("namespace") or "default"), str(meta.get("name") or ""), meta


def _owner(meta: JSON) -> ObjectRef | None:
    refs = [_map(r) for r in _list(meta.get("ownerReferences"))]
    ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    if not ref:
        return None
    return ObjectRef(
        str(ref.get("kind") or ""), str(meta.get("namespace") or "default"), str(ref.get("name") or "")
    )


def _text(value: Any) -> str | None:
    """A string field, or None when absent, empty or (in a hand-written manifest) not a string."""
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def pod_from_api(obj: JSON) -> Pod:
    namespace, name, meta = _meta(obj)
    spec, status = _map(obj.get("spec")), _map(obj.get("status"))
    ports: list[ContainerPort] = []
    containers = _list(spec.get("containers")) + [
        # restartable init containers are sidecars: their ports count for Services
        c
        for c in _list(spec.get("initContainers"))
        if _map(c).get("restartPolicy") == "Always"
    ]
    for c in map(_map, containers):
        for p in map(_map, _list(c.get("ports"))):
            number = _int(p.get("containerPort"))
            if number is not None:
                ports.append(
                    ContainerPort(
                        str(c.get("name") or ""),
                        number,
                        str(p.get("protocol") or "TCP"),
                        _text(p.get("name")),
                    )
                )
    ips = tuple(str(_map(i).get("ip")) for i in _list(status.get("podIPs")) if _map(i).get("ip"))
    ip = status.get("podIP") or (ips[0] if ips else None)
    ready = any(
        _map(c).get("type") == "Ready" and _map(c).get("status") == "True"
        for c in _list(status.get("conditions"))
    )
    dns_config = None
    if spec.get("dnsConfig") is not None:
        raw = _map(spec.get("dnsConfig"))
        dns_config = DNSConfig(
            nameservers=tuple(str(n) for n in _list(raw.get("nameservers"))),
            searches=tuple(str(s) for s in _list(raw.get("searches"))),
            options={
                str(_map(o).get("name")): (None if _map(o).get("value") is None else str(_map(o)["value"]))
                for o in _list(raw.get("options"))
                if _map(o).get("name")
            },
        )
    troubles, restarts = _troubles(spec, status) if not ready else ((), _restarts(status))
    return Pod(
        namespace=namespace,
        name=name,
        labels=_frozen_labels(meta.get("labels")),
        ip=str(ip) if ip else None,
        ips=ips or ((str(ip),) if ip else ()),
        node=_text(spec.get("nodeName")),
        phase=str(status.get("phase") or "Pending"),
        ready=ready,
        terminating=meta.get("deletionTimestamp") is not None,
        container_ports=tuple(ports),
        owner=_owner(meta),
        host_network=bool(spec.get("hostNetwork")),
        dns_policy=_member(DNSPolicy, spec.get("dnsPolicy"), DNSPolicy.CLUSTER_FIRST),
        dns_config=dns_config,
        troubles=troubles,
        restarts=restarts,
        hostname=_text(spec.get("hostname")),
        subdomain=_text(spec.get("subdomain")),
    )


def _container_statuses(status: JSON) -> list[JSON]:
    return [
        _map(c) for c in _list(status.get("containerStatuses")) + _list(status.get("initContainerStatuses"))
    ]


def _restarts(status: JSON) -> int:
    return sum(_int(c.get("restartCount")) or 0 for c in _container_statuses(status))


def _troubles(spec: JSON, status: JSON) -> tuple[tuple[str, ...], int]:
    """Why a pod is not ready, from its status alone: each container that waits or has terminated
    (with the last termination's reason and exit code when it restarts), readiness gates unmet, and
    the conditions that are not True, each with its reason."""
    out: list[str] = []
    for c in _container_statuses(status):
        name = str(c.get("name") or "")
        state = _map(c.get("state"))
        last = _map(_map(c.get("lastState")).get("terminated"))
        waiting, terminated = _map(state.get("waiting")), _map(state.get("terminated"))
        if waiting.get("reason") and waiting.get("reason") != "ContainerCreating":
            text = f"container {name}: {waiting['reason']}"
            if last:
                text += f" (last exit: {last.get('reason') or 'Error'}, exit code {last.get('exitCode')})"
            out.append(text)
        elif terminated:
            out.append(
                f"container {name}: terminated: {terminated.get('reason') or 'Error'}, "
                f"exit code {terminated.get('exitCode')}"
            )
        elif state.get("running") is not None and c.get("ready") is False:
            out.append(f"container {name}: running, not ready")
    conditions = {str(_map(c).get("type")): _map(c) for c in _list(status.get("conditions"))}
    for gate in map(_map, _list(spec.get("readinessGates"))):
        kind = str(gate.get("conditionType") or "")
        if kind and _map(conditions.get(kind)).get("status") != "True":
            out.append(f"readiness gate {kind} not True")
    for kind in ("PodScheduled", "Initialized", "ContainersReady"):
        cond = conditions.get(kind)
        if cond is not None and cond.get("status") != "True":
            why = cond.get("reason") or "False"
            message = " ".join(str(cond.get("message") or "").split())[:160]
            out.append(f"{kind}: {why}" + (f" ({message})" if message and kind == "PodScheduled" else ""))
    return tuple(out), _restarts(status)


def service_from_api(obj: JSON) -> Service:
    namespace, name, meta = _meta(obj)
    spec, status = _map(obj.get("spec")), _map(obj.get("status"))
    ports = []
    for p in map(_map, _list(spec.get("ports"))):
        target = p.get("targetPort")
        ports.append(
            ServicePort(
                port=_int(p.get("port")) or 0,
                protocol=str(p.get("protocol") or "TCP"),
                name=_text(p.get("name")),
                target_port=target
                if isinstance(target, (int, str)) and not isinstance(target, bool)
                else None,
                node_port=_int(p.get("nodePort")),
            )
        )
    selector = spec.get("selector")
    ingress = tuple(
        str(_map(i).get("ip") or _map(i).get("hostname"))
        for i in _list(_map(status.get("loadBalancer")).get("ingress"))
        if _map(i).get("ip") or _map(i).get("hostname")
    )
    cluster_ip = _text(spec.get("clusterIP"))
    annotations = _map(meta.get("annotations"))
    return Service(
        namespace=namespace,
        name=name,
        type=_member(ServiceType, spec.get("type"), ServiceType.CLUSTER_IP),
        cluster_ip=cluster_ip,
        cluster_ips=tuple(str(i) for i in _list(spec.get("clusterIPs")))
        or ((cluster_ip,) if cluster_ip else ()),
        selector=_frozen_labels(selector) if selector else None,
        ports=tuple(ports),
        external_name=_text(spec.get("externalName")),
        publish_not_ready_addresses=bool(spec.get("publishNotReadyAddresses")),
        external_traffic_policy=_text(spec.get("externalTrafficPolicy")),
        ip_families=tuple(str(f) for f in _list(spec.get("ipFamilies"))),
        load_balancer_ingress=ingress,
        allocate_load_balancer_node_ports=spec.get("allocateLoadBalancerNodePorts") is not False,
        labels=_frozen_labels(meta.get("labels")),
        internal_traffic_policy=_text(spec.get("internalTrafficPolicy")),
        health_check_node_port=_int(spec.get("healthCheckNodePort")),
        traffic_distribution=_text(spec.get("trafficDistribution")),
        session_affinity=_text(spec.get("sessionAffinity")) or "None",
        external_ips=tuple(str(i) for i in _list(spec.get("externalIPs"))),
        topology_mode=next(
            (str(annotations[k]) for k in TOPOLOGY_ANNOTATIONS if _text(annotations.get(k))), None
        ),
        uid=_text(meta.get("uid")),
    )


def _hint_names(hints: JSON, key: str) -> tuple[str, ...]:
    return tuple(str(_map(h)["name"]) for h in _list(hints.get(key)) if _text(_map(h).get("name")))


def _target(ref: Any, default_namespace: str) -> ObjectRef | None:
    ref = _map(ref)
    if not ref.get("name"):
        return None
    return ObjectRef(
        str(ref.get("kind") or "Pod"), str(ref.get("namespace") or default_namespace), str(ref["name"])
    )


def endpointslice_from_api(obj: JSON) -> EndpointSlice:
    namespace, name, meta = _meta(obj)
    labels = _map(meta.get("labels"))
    endpoints = []
    for e in map(_map, _list(obj.get("endpoints"))):
        cond = _map(e.get("conditions"))
        # API semantics: ready/serving absent means unknown, to be read as true; terminating as false
        ready = cond.get("ready") is not False
        hints = _map(e.get("hints"))
        endpoints.append(
            SliceEndpoint(
                addresses=tuple(str(a) for a in _list(e.get("addresses"))),
                ready=ready,
                serving=cond.get("serving", ready) is not False,
                terminating=cond.get("terminating") is True,
                target=_target(e.get("targetRef"), namespace),
                node=_text(e.get("nodeName")),
                hostname=_text(e.get("hostname")),
                zone=_text(e.get("zone")),
                zone_hints=_hint_names(hints, "forZones"),
                node_hints=_hint_names(hints, "forNodes"),
            )
        )
    ports = tuple(
        SlicePort(_int(p.get("port")), str(p.get("protocol") or "TCP"), _text(p.get("name")))
        for p in map(_map, _list(obj.get("ports")))
    )
    return EndpointSlice(
        namespace=namespace,
        name=name,
        service_name=_text(labels.get(SERVICE_NAME_LABEL)),
        endpoints=tuple(endpoints),
        ports=ports,
    )


def endpointslices_from_legacy_endpoints(obj: JSON) -> list[EndpointSlice]:
    """A v1 Endpoints object as slices, one per subset, for API servers that serve no EndpointSlices."""
    namespace, name, _ = _meta(obj)
    out = []
    for i, subset in enumerate(map(_map, _list(obj.get("subsets")))):
        endpoints = []
        for key, ready in (("addresses", True), ("notReadyAddresses", False)):
            for a in map(_map, _list(subset.get(key))):
                if a.get("ip"):
                    endpoints.append(
                        SliceEndpoint(
                            (str(a["ip"]),),
                            ready,
                            ready,
                            False,
                            _target(a.get("targetRef"), namespace),
                            _text(a.get("nodeName")),
                            _text(a.get("hostname")),
                        )
                    )
        ports = tuple(
            SlicePort(_int(p.get("port")), str(p.get("protocol") or "TCP"), _text(p.get("name")))
            for p in map(_map, _list(subset.get("ports")))
        )
        out.append(EndpointSlice(namespace, f"{name}/subset-{i}", name, tuple(endpoints), ports, legacy=True))
    return out


def node_from_api(obj: JSON) -> Node:
    _, name, meta = _meta(obj)
    status = _map(obj.get("status"))
    ready = any(
        _map(c).get("type") == "Ready" and _map(c).get("status") == "True"
        for c in _list(status.get("conditions"))
    )
    ips = tuple(
        str(_map(a).get("address"))
        for a in _list(status.get("addresses"))
        if _map(a).get("type") == "InternalIP" and _map(a).get("address")
    )
    annotations = _map(meta.get("annotations"))
    return Node(
        name=name,
        ready=ready,
        internal_ips=ips,
        simulated="kwok.x-k8s.io/node" in annotations,
        zone=_text(_map(meta.get("labels")).get(ZONE_LABEL)),
        taints=tuple(
            _taint(_map(t))
            for t in _list(_map(obj.get("spec")).get("taints"))
            if _map(t).get("effect") in ("NoSchedule", "NoExecute")
        ),
    )


def _taint(t: Mapping[str, Any]) -> str:
    value = _text(t.get("value"))
    return f"{t.get('key')}{'=' + value if value else ''}:{t.get('effect')}"


def probe_event_from_api(obj: JSON) -> ProbeEvent | None:
    """An `Unhealthy` event about a pod (core/v1 Event), or None for any other event."""
    involved = _map(obj.get("involvedObject") or obj.get("regarding"))
    if obj.get("reason") != "Unhealthy" or involved.get("kind") != "Pod":
        return None
    namespace, _, meta = _meta(obj)
    series = _map(obj.get("series"))
    last = (
        _text(obj.get("lastTimestamp"))
        or _text(series.get("lastObservedTime"))
        or _text(obj.get("eventTime"))
        or _text(meta.get("creationTimestamp"))
        or ""
    )
    return ProbeEvent(
        namespace=str(involved.get("namespace") or namespace),
        pod=str(involved.get("name") or ""),
        message=" ".join(str(obj.get("message") or obj.get("note") or "").split()),
        count=_int(obj.get("count")) or _int(series.get("count")) or 1,
        last_seen=last,
    )


def service_event_from_api(obj: JSON) -> ServiceEvent | None:
    """A `TopologyAwareHintsDisabled` event about a Service, or None for any other event."""
    involved = _map(obj.get("involvedObject") or obj.get("regarding"))
    if obj.get("reason") != HINTS_DISABLED or involved.get("kind") != "Service":
        return None
    namespace, _, meta = _meta(obj)
    series = _map(obj.get("series"))
    return ServiceEvent(
        namespace=str(involved.get("namespace") or namespace),
        service=str(involved.get("name") or ""),
        message=" ".join(str(obj.get("message") or obj.get("note") or "").split()),
        count=_int(obj.get("count")) or _int(series.get("count")) or 1,
        last_seen=_text(obj.get("lastTimestamp"))
        or _text(series.get("lastObservedTime"))
        or _text(obj.get("eventTime"))
        or _text(meta.get("creationTimestamp"))
        or "",
    )


def workload_from_api(obj: JSON, kind: str | None = None) -> Workload:
    """A Deployment, StatefulSet or ReplicaSet; `kind` for the items of a LIST, which carry none."""
    namespace, name, meta = _meta(obj)
    spec = _map(obj.get("spec"))
    replicas = _int(spec.get("replicas"))
    template_meta = _map(_map(spec.get("template")).get("metadata"))
    status = _map(obj.get("status"))
    generation, observed = _int(meta.get("generation")), _int(status.get("observedGeneration"))
    kind = kind or str(obj.get("kind") or "")
    return Workload(
        kind=kind,
        namespace=namespace,
        name=name,
        replicas=1 if replicas is None else replicas,
        template_labels=_frozen_labels(template_meta.get("labels")),
        owned=bool(_list(meta.get("ownerReferences"))),
        ready_replicas=_int(status.get("readyReplicas")) or 0,
        updated_replicas=(_int(status.get("updatedReplicas")) or 0) if kind != "ReplicaSet" else None,
        rollout_observed=generation is None or (observed is not None and observed >= generation),
        service_name=_text(spec.get("serviceName")) if kind == "StatefulSet" else None,
        controller=_owner(meta),
    )


WORKLOAD_KINDS = ("Deployment", "StatefulSet", "ReplicaSet")


def _backend_port(value: Any) -> int | str | None:
    port = _map(value)
    return _int(port.get("number")) or _text(port.get("name"))


def route_from_api(obj: JSON) -> Route:
    """An Ingress, HTTPRoute or GRPCRoute and the Services its rules lead to (other backend kinds,
    such as an Ingress resource backend or a route's non-Service backendRef, are left out)."""
    namespace, name, _ = _meta(obj)
    kind = str(obj.get("kind") or "")
    spec = _map(obj.get("spec"))
    backends: list[RouteBackend] = []
    if kind == "Ingress":
        default = _map(_map(spec.get("defaultBackend")).get("service"))
        if _text(default.get("name")):
            backends.append(
                RouteBackend(
                    namespace, str(default["name"]), _backend_port(default.get("port")), "default backend"
                )
            )
        for rule in map(_map, _list(spec.get("rules"))):
            host = _text(rule.get("host")) or "*"
            for path in map(_map, _list(_map(rule.get("http")).get("paths"))):
                svc = _map(_map(path.get("backend")).get("service"))
                if _text(svc.get("name")):
                    where = f"{host}{_text(path.get('path')) or '/'}"
                    backends.append(
                        RouteBackend(namespace, str(svc["name"]), _backend_port(svc.get("port")), where)
                    )
    else:
        for i, rule in enumerate(map(_map, _list(spec.get("rules")))):
            for ref in map(_map, _list(rule.get("backendRefs"))):
                if (ref.get("group") or "") != "" or (ref.get("kind") or "Service") != "Service":
                    continue
                if _text(ref.get("name")):
                    backends.append(
                        RouteBackend(
                            _text(ref.get("namespace")) or namespace,
                            str(ref["name"]),
                            _int(ref.get("port")),
                            f"rule {i + 1}",
                        )
                    )
    return Route(kind, namespace, name, tuple(backends))


class SnapshotBuilder:
    """The one way a snapshot is built: from the API's objects, however they were read (a LIST, a
    LIST followed by watch events, a manifest file). Each object is turned into our dataclass as it
    is added, by its `kind`, so a paginated LIST never holds every page's JSON at once; kinds the
    inspector does not read are passed over."""

    def __init__(self) -> None:
        self._services: list[Service] = []
        self._slices: list[EndpointSlice] = []
        self._pods: list[Pod] = []
        self._nodes: list[Node] = []
        self._workloads: list[Workload] = []
        self._probe_events: list[ProbeEvent] = []
        self._policies: list[NetworkPolicy] = []
        self._namespace_labels: dict[str, Mapping[str, str]] = {}
        self._routes: list[Route] = []
        self._service_events: list[ServiceEvent] = []
        self._notes: list[str] = []

    def unready_namespaces(self) -> set[str]:
        """The namespaces holding a pod that is not ready (and not ending): where its probe events help."""
        return {p.namespace for p in self._pods if not p.ready and not p.terminal and not p.terminating}

    def topology_namespaces(self) -> set[str]:
        """The namespaces holding a Service that asks for topology hints: where the controller's
        TopologyAwareHintsDisabled events say why they are missing."""
        return {s.namespace for s in self._services if s.asked_topology}

    def add(self, objects: Iterable[JSON]) -> SnapshotBuilder:
        for obj in objects:
            kind = obj.get("kind")
            if kind == "Pod":
                self._pods.append(pod_from_api(obj))
            elif kind == "Service":
                self._services.append(service_from_api(obj))
            elif kind == "EndpointSlice":
                self._slices.append(endpointslice_from_api(obj))
            elif kind == "Endpoints":
                self._slices += endpointslices_from_legacy_endpoints(obj)
            elif kind == "Node":
                self._nodes.append(node_from_api(obj))
            elif kind in WORKLOAD_KINDS:
                self._workloads.append(workload_from_api(obj))
            elif kind == "Event" and (event := probe_event_from_api(obj)) is not None:
                self._probe_events.append(event)
            elif kind == "Event" and (hints_event := service_event_from_api(obj)) is not None:
                self._service_events.append(hints_event)
            elif kind == "NetworkPolicy":
                try:
                    self._policies.append(NetworkPolicy.from_api(obj))
                except InvalidNetworkPolicy as exc:  # only a hand-written manifest can hold one
                    self._notes.append(f"left out: {exc}")
            elif kind == "Namespace":
                _, name, meta = _meta(obj)
                self._namespace_labels[name] = _frozen_labels(meta.get("labels"))
            elif kind in ROUTE_KINDS:
                self._routes.append(route_from_api(obj))
        return self

    def add_built(self, objects: Iterable[Service | EndpointSlice | Pod]) -> SnapshotBuilder:
        """Services, EndpointSlices and pods built already: decoded straight from LIST pages
        (`pages.py`)."""
        lists: dict[type, list[Any]] = {Service: self._services, EndpointSlice: self._slices, Pod: self._pods}
        for obj in objects:
            lists[type(obj)].append(obj)
        return self

    def build(self, namespaces: tuple[str, ...] | None = None, notes: Iterable[str] = ()) -> Snapshot:
        return Snapshot(
            services=tuple(self._services),
            slices=tuple(self._slices),
            pods=tuple(self._pods),
            nodes=tuple(self._nodes),
            workloads=tuple(self._workloads),
            namespaces=namespaces,
            probe_events=tuple(self._probe_events),
            notes=tuple(dict.fromkeys([*self._notes, *notes])),
            network_policies=tuple(self._policies),
            namespace_labels=MappingProxyType(dict(self._namespace_labels)),
            routes=tuple(self._routes),
            service_events=tuple(self._service_events),
        )


def _documents(docs: Iterable[JSON]) -> Iterable[JSON]:
    """Every object of the documents, the items of a List included."""
    for doc in map(_map, docs):  # a List's items may hold anything
        if str(doc.get("kind") or "").endswith("List"):
            yield from _documents(_list(doc.get("items")))
        elif doc:
            yield doc


def snapshot_from_manifests(docs: Iterable[JSON], namespaces: tuple[str, ...] | None = None) -> Snapshot:
    """A snapshot from Kubernetes manifests (dicts), as tests and offline use write them."""
    return SnapshotBuilder().add(_documents(docs)).build(namespaces)
