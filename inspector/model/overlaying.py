"""What the cluster will be once manifests are applied: the files' objects laid over a live snapshot,
or alone (offline).

Why it exists: what-if runs (-f) judge the state after `kubectl apply`, before it happens. An
object of the files replaces the live object of the same kind, namespace and name, or is added;
a workload of the files replaces the live pods its live namesake controls (a Deployment's through
its ReplicaSets, a CronJob's through its Jobs) with the pods its template will create
(`inspector.model.expanding`). A Service of the files keeps what the API server keeps on apply when
the file does not say: its cluster IPs and node ports. The snapshot says which objects came from
the files and which Services they touch (`WhatIf`). Pure: manifests (dicts) and a snapshot in, a
snapshot out.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from inspector.model import building
from inspector.model.building import JSON
from inspector.model.expanding import WORKLOAD_KINDS, expand
from inspector.model.selectors import LabelIndex
from inspector.model.snapshot import FileObject, Pod, Service, ServicePort, Snapshot, WhatIf, Workload

# the kinds a what-if run reads from files; any other is skipped with a note
CLUSTER_SCOPED = ("Namespace", "Node")
JUDGED_KINDS = (
    "Service",
    "Pod",
    *WORKLOAD_KINDS,
    "EndpointSlice",
    "NetworkPolicy",
    *building.ROUTE_KINDS,
    *CLUSTER_SCOPED,
)


@dataclass(frozen=True, slots=True)
class Manifest:
    """One object of the files, where it was found, and the namespace it will land in."""

    obj: JSON
    source: str  # the file, as given ("stdin" for -f -)
    document: int  # from 1

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind") or "")

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name") or "")

    @property
    def namespace(self) -> str | None:
        if self.kind in CLUSTER_SCOPED:
            return None
        return str((self.obj.get("metadata") or {}).get("namespace") or "default")


def _inherit(planned: Service, live: Service | None) -> Service:
    """What `kubectl apply` keeps of the live Service when the file leaves it out: the allocated
    cluster IPs, each port's node port, the load balancer's status."""
    if live is None:
        return planned
    node_ports = {(p.port, p.protocol): p.node_port for p in live.ports if p.node_port}
    ports = tuple(
        p
        if p.node_port or not planned.type.opens_node_ports
        else ServicePort(p.port, p.protocol, p.name, p.target_port, node_ports.get((p.port, p.protocol)))
        for p in planned.ports
    )
    keep_ip = planned.cluster_ip is None and (planned.headless == live.headless)
    return dataclasses.replace(
        planned,
        cluster_ip=live.cluster_ip if keep_ip else planned.cluster_ip,
        cluster_ips=live.cluster_ips if keep_ip and not planned.cluster_ips else planned.cluster_ips,
        ip_families=planned.ip_families or live.ip_families,
        ports=ports,
        load_balancer_ingress=live.load_balancer_ingress if planned.type is live.type else (),
    )


_JOB_OF_CRONJOB = re.compile(r"^(?P<cronjob>.+)-\d+$")


def _controlled(pod: Pod, replaced: set[tuple[str, str, str]], replica_sets: set[tuple[str, str]]) -> bool:
    """A live pod the files' objects will replace: itself, or one its replaced controller owns."""
    if ("Pod", pod.namespace, pod.name) in replaced:
        return True
    owner = pod.owner
    if owner is None:
        return False
    if (owner.kind, pod.namespace, owner.name) in replaced:
        return True
    if owner.kind == "ReplicaSet" and (pod.namespace, owner.name) in replica_sets:
        return True
    if owner.kind == "Job" and (m := _JOB_OF_CRONJOB.match(owner.name)):
        return ("CronJob", pod.namespace, m["cronjob"]) in replaced
    return False


def what_if(manifests: Sequence[Manifest], base: Snapshot | None = None) -> Snapshot:
    """The snapshot once the manifests are applied to `base` (None: offline, the files alone)."""
    offline = base is None
    live = base if base is not None else Snapshot()
    judged = [m for m in manifests if m.kind in JUDGED_KINDS]
    keys = {(m.kind, m.namespace or "", m.name) for m in judged}

    def replaces(kind: str, namespace: str, name: str) -> bool:
        return (kind, namespace, name) in keys

    objects = tuple(
        FileObject(
            m.kind,
            m.namespace,
            m.name,
            m.source,
            m.document,
            "planned" if offline else ("replaced" if _exists(live, m) else "added"),
        )
        for m in judged
    )

    files = building.SnapshotBuilder().add(
        m.obj for m in judged if m.kind != "Pod" and m.kind not in WORKLOAD_KINDS
    )
    from_files = files.build()
    source_of = {(m.kind, m.namespace or "", m.name): m.source for m in judged}

    live_services = {(s.namespace, s.name): s for s in live.services}
    services = [s for s in live.services if not replaces("Service", s.namespace, s.name)] + [
        dataclasses.replace(
            _inherit(s, live_services.get((s.namespace, s.name))),
            source=source_of.get(("Service", s.namespace, s.name)),
        )
        for s in from_files.services
    ]
    nodes = [n for n in live.nodes if not replaces("Node", "", n.name)] + list(from_files.nodes)

    # workloads: the files' replace their namesakes, a Deployment's ReplicaSets with it
    replaced_deployments = {(m.namespace, m.name) for m in judged if m.kind == "Deployment"}
    live_replica_sets = {
        (w.namespace, w.name)
        for w in live.workloads
        if w.kind == "ReplicaSet"
        and w.controller is not None
        and w.controller.kind == "Deployment"
        and (w.namespace, w.controller.name) in replaced_deployments
    }
    workloads: list[Workload] = [
        w
        for w in live.workloads
        if not replaces(w.kind, w.namespace, w.name)
        and not (w.kind == "ReplicaSet" and (w.namespace, w.name) in live_replica_sets)
    ]
    workloads += [building.workload_from_api(m.obj) for m in judged if m.kind in building.WORKLOAD_KINDS]

    removed = [p for p in live.pods if _controlled(p, keys, live_replica_sets)]
    removed_keys = {p.key for p in removed}
    planned = [
        p
        for m in judged
        if m.kind == "Pod" or m.kind in WORKLOAD_KINDS
        for p in expand(m.obj, m.source, nodes)
    ]
    pods = [p for p in live.pods if p.key not in removed_keys] + planned

    policies = [p for p in live.network_policies if not replaces("NetworkPolicy", p.namespace, p.name)]
    routes = [r for r in live.routes if not replaces(r.kind, r.namespace, r.name)]
    slices = [s for s in live.slices if not replaces("EndpointSlice", s.namespace, s.name)]
    namespace_labels = dict(live.namespace_labels) | dict(from_files.namespace_labels)

    touched = _touched(services, planned, removed) if not offline else frozenset()
    skipped = [m for m in manifests if m.kind not in JUDGED_KINDS]
    notes = list(live.notes) + list(from_files.notes)
    if skipped:
        kinds: dict[str, int] = {}
        for m in skipped:
            kinds[m.kind] = kinds.get(m.kind, 0) + 1
        notes.append(
            f"skipped {len(skipped)} object(s) of kinds a what-if run does not judge: "
            + ", ".join(f"{k} ({n})" for k, n in sorted(kinds.items()))
        )
    return dataclasses.replace(
        live,
        services=tuple(services),
        slices=(*slices, *from_files.slices),
        pods=tuple(pods),
        nodes=tuple(nodes),
        workloads=tuple(workloads),
        network_policies=(*policies, *from_files.network_policies),
        routes=(*routes, *from_files.routes),
        namespace_labels=MappingProxyType(namespace_labels),
        notes=tuple(dict.fromkeys(notes)),
        what_if=WhatIf(offline, objects, touched),
    )


def _exists(live: Snapshot, m: Manifest) -> bool:
    """Whether the live snapshot holds the object a manifest names (the kinds it reads)."""
    kind, namespace, name = m.kind, m.namespace or "", m.name
    if kind == "Service":
        return live.service(namespace, name) is not None
    if kind == "Pod":
        return any(p.namespace == namespace and p.name == name for p in live.pods)
    if kind == "Node":
        return any(n.name == name for n in live.nodes)
    if kind == "Namespace":
        return name in live.namespace_labels
    if kind == "NetworkPolicy":
        return any(p.namespace == namespace and p.name == name for p in live.network_policies)
    if kind == "EndpointSlice":
        return any(s.namespace == namespace and s.name == name for s in live.slices)
    if kind in building.ROUTE_KINDS:
        return any(r.kind == kind and r.namespace == namespace and r.name == name for r in live.routes)
    return any(w.kind == kind and w.namespace == namespace and w.name == name for w in live.workloads)


def _touched(services: Iterable[Service], planned: list[Pod], removed: list[Pod]) -> frozenset[str]:
    """The Services the files change: their own object, or a pod they select is planned or removed."""
    changed = LabelIndex([*planned, *removed])
    return frozenset(
        s.key
        for s in services
        if s.source is not None or (s.selects_pods and changed.select(s.namespace, s.selector or {}))
    )


def within(snapshot: Snapshot, namespace: str) -> Snapshot:
    """The objects of one namespace (and the cluster's nodes and namespaces): an offline run's -n."""
    keep = snapshot.what_if
    return dataclasses.replace(
        snapshot,
        services=tuple(s for s in snapshot.services if s.namespace == namespace),
        slices=tuple(s for s in snapshot.slices if s.namespace == namespace),
        pods=tuple(p for p in snapshot.pods if p.namespace == namespace),
        workloads=tuple(w for w in snapshot.workloads if w.namespace == namespace),
        network_policies=tuple(p for p in snapshot.network_policies if p.namespace == namespace),
        routes=tuple(r for r in snapshot.routes if r.namespace == namespace),
        namespaces=(namespace,),
        what_if=keep,
    )
