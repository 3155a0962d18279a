"""The endpoints a Service *should* have, computed the way the EndpointSlice controller does.

Why it exists: the diff is only as good as this reading of the controller. Every selected pod with
an IP that is not in a terminal phase is an endpoint, with conditions serving = Ready (whatever
publishNotReadyAddresses says), terminating = being deleted, ready = publishNotReadyAddresses or
(serving and not terminating). Each Service port resolves per pod: a number as is, a name against
that pod's containerPort names of the same protocol (sidecars included); a pod lacking the name gets
no endpoint for that port. What-if runs, whose slices no controller has written yet, read the
slices it will write (`expected_slices`). Pure: snapshot values in, values out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inspector.diagnosis.endpoints import PENDING_IP, Endpoint
from inspector.model.selectors import LabelIndex
from inspector.model.snapshot import (
    ContainerPort,
    EndpointSlice,
    Node,
    ObjectRef,
    Pod,
    Service,
    ServicePort,
    SliceEndpoint,
    SlicePort,
    pod_ip_stand_in,
)


@dataclass(frozen=True, slots=True)
class PortResolution:
    """How one Service port reaches one pod: port -> targetPort -> containerPort."""

    service_port: ServicePort
    pod: Pod
    container_port: int | None  # None: a named targetPort the pod does not declare
    container: str | None  # the container declaring it, when one does
    declared: bool  # the pod lists this port (by name or number) as a containerPort

    @property
    def resolved(self) -> bool:
        return self.container_port is not None


@dataclass(frozen=True, slots=True)
class Expectation:
    service: Service
    selected: tuple[Pod, ...]  # every pod the selector picks
    eligible: tuple[Pod, ...]  # those with an IP, not terminal: the ones the slices must list
    resolutions: tuple[PortResolution, ...]
    endpoints: tuple[Endpoint, ...]

    @property
    def ready_pods(self) -> tuple[Pod, ...]:
        return tuple(p for p in self.eligible if p.ready and not p.terminating)


def resolve_port(service_port: ServicePort, pod: Pod) -> PortResolution:
    target = service_port.target
    if isinstance(target, str):
        match = _find(
            pod.container_ports, lambda cp: cp.name == target and cp.protocol == service_port.protocol
        )
        return PortResolution(
            service_port,
            pod,
            match.port if match else None,
            match.container if match else None,
            match is not None,
        )
    number = int(target)
    match = _find(pod.container_ports, lambda cp: cp.port == number and cp.protocol == service_port.protocol)
    return PortResolution(service_port, pod, number, match.container if match else None, match is not None)


def _find(ports: tuple[ContainerPort, ...], pred: Callable[[ContainerPort], bool]) -> ContainerPort | None:
    return next((cp for cp in ports if pred(cp)), None)


def _families(service: Service) -> tuple[str, ...]:
    """The Service's IP families: one slice address type each."""
    return service.ip_families or (
        ("IPv6",) if service.cluster_ip and ":" in service.cluster_ip else ("IPv4",)
    )


def _ip_of(pod: Pod, family: str) -> str | None:
    want_v6 = family == "IPv6"
    return next((ip for ip in pod.ips if (":" in ip) == want_v6), None)


def pod_ips_for(service: Service, pod: Pod) -> tuple[str, ...]:
    """The pod's addresses in the Service's IP families (one slice address type each)."""
    return tuple(ip for family in _families(service) if (ip := _ip_of(pod, family)))


def expect(service: Service, index: LabelIndex) -> Expectation:
    """Expected endpoints of one Service; none for ExternalName and selectorless Services."""
    if not service.selects_pods:
        return Expectation(service, (), (), (), ())
    selected = tuple(index.select(service.namespace, service.selector or {}))
    # a planned pod (what-if runs) will have an IP: its endpoints are expected, their address unknown
    eligible = tuple(p for p in selected if (p.ip or p.planned) and not p.terminal)
    resolutions: list[PortResolution] = []
    endpoints: list[Endpoint] = []
    for pod in eligible:
        ready, serving = _conditions(service, pod)
        ips = pod_ips_for(service, pod) or ((PENDING_IP,) if pod.planned else ())
        if not service.ports:
            endpoints += [
                Endpoint(ip, None, "TCP", None, pod.name, pod.node, ready, serving, pod.terminating)
                for ip in ips
            ]
        for sp in service.ports:
            res = resolve_port(sp, pod)
            resolutions.append(res)
            if res.container_port is None:
                continue
            endpoints += [
                Endpoint(
                    ip,
                    res.container_port,
                    sp.protocol,
                    sp.name,
                    pod.name,
                    pod.node,
                    ready,
                    serving,
                    pod.terminating,
                )
                for ip in ips
            ]
    return Expectation(service, selected, eligible, tuple(resolutions), tuple(endpoints))


def _conditions(service: Service, pod: Pod) -> tuple[bool, bool]:
    """An endpoint's ready and serving, as the controller's podToEndpoint sets them: serving is the
    pod's Ready alone; ready, serving and not terminating (or publishNotReadyAddresses)."""
    serving = pod.ready
    return service.publish_not_ready_addresses or (serving and not pod.terminating), serving


def expected_slices(expectation: Expectation) -> tuple[EndpointSlice, ...]:
    """The EndpointSlices the controller will write for the Service: per address family, its
    eligible pods grouped by the ports each resolves (a pod resolving none is listed too, in a slice
    without ports), each with its hostname when its subdomain names this Service (the controller's
    ShouldSetHostname). A planned pod's address is a stand-in (`pod_ip_stand_in`). For what-if runs,
    whose slices nobody can read yet; none for a Service that selects no pods."""
    service = expectation.service
    ports: dict[str, list[SlicePort]] = {p.key: [] for p in expectation.eligible}
    for res in expectation.resolutions:
        if res.container_port is not None and res.pod.key in ports:
            sp = res.service_port
            ports[res.pod.key].append(SlicePort(res.container_port, sp.protocol, sp.name))
    groups: dict[tuple[str, tuple[SlicePort, ...]], list[SliceEndpoint]] = {}
    for pod in expectation.eligible:
        ready, serving = _conditions(service, pod)
        hostname = pod.hostname if pod.hostname and pod.subdomain == service.name else None
        for family in _families(service):
            ip = _ip_of(pod, family)
            if ip is None and pod.planned:
                ip = pod_ip_stand_in(pod.name, family)
            if ip is None:
                continue
            groups.setdefault((family, tuple(ports[pod.key])), []).append(
                SliceEndpoint(
                    (ip,),
                    ready,
                    serving,
                    pod.terminating,
                    ObjectRef("Pod", pod.namespace, pod.name),
                    pod.node,
                    hostname,
                )
            )
    return tuple(
        EndpointSlice(
            service.namespace, f"{service.name}-{family.lower()}-{i}", service.name, tuple(eps), slice_ports
        )
        for i, ((family, slice_ports), eps) in enumerate(groups.items())
    )


@dataclass(frozen=True, slots=True)
class NodePortEndpoint:
    node: str
    ip: str | None
    node_port: int
    protocol: str
    port: int


def expected_node_ports(service: Service, nodes: tuple[Node, ...]) -> tuple[NodePortEndpoint, ...]:
    """Every node opens every nodePort of a NodePort or LoadBalancer Service (kube-proxy's job)."""
    if not service.type.opens_node_ports:
        return ()
    return tuple(
        NodePortEndpoint(
            n.name, n.internal_ips[0] if n.internal_ips else None, sp.node_port, sp.protocol, sp.port
        )
        for n in nodes
        for sp in service.ports
        if sp.node_port
    )
