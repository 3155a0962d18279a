"""Workloads expanded into the pods they will create: what-if runs (-f) judge pods that do not run yet.

Why it exists: a manifest holds a Deployment, not its pods, and a Service selects pods. Each
workload kind is expanded the way its controller creates pods: replicas copies of the template
(a Deployment's through the ReplicaSet it creates, with the `pod-template-hash` label), a
StatefulSet's pods named `<name>-<ordinal>` with that hostname and the `serviceName` subdomain, a
DaemonSet's one pod per node (one representative pod when no node is known), a Job's `parallelism`
pods (a CronJob's through its next Job). The pods carry the file they come from (`Pod.source`),
are assumed Running and Ready, and have no IP yet. Pure: manifests (dicts) in, `Pod` values out,
built by the same `pod_from_api` as pods read from the cluster.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from inspector.model.building import JSON, pod_from_api
from inspector.model.snapshot import Node, Pod

# the kinds whose pods a what-if run creates, besides bare Pods
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
RUNNING = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}


def _map(value: Any) -> JSON:
    return value if isinstance(value, Mapping) else {}


def _count(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def template_hash(template: JSON) -> str:
    """A stable stand-in for the controller's pod-template-hash: the same template, the same hash."""
    text = json.dumps(template, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _pod(
    template: JSON,
    namespace: str,
    name: str,
    owner: tuple[str, str],
    source: str,
    labels: Mapping[str, str] = {},
    spec: Mapping[str, Any] = {},
) -> Pod:
    meta = _map(template.get("metadata"))
    obj = {
        "kind": "Pod",
        "metadata": {
            "namespace": namespace,
            "name": name,
            "labels": {**_map(meta.get("labels")), **labels},
            "ownerReferences": [{"kind": owner[0], "name": owner[1], "controller": True}],
        },
        "spec": {**_map(template.get("spec")), **spec},
        "status": RUNNING,
    }
    return dataclasses.replace(pod_from_api(obj), source=source)


def planned_pod(obj: JSON, source: str) -> Pod:
    """A bare Pod of a manifest: as written, assumed Running and Ready (its status, if any, is a
    copy of another cluster's), with no IP yet."""
    meta = _map(obj.get("metadata"))
    pod = pod_from_api({**obj, "status": RUNNING})
    return dataclasses.replace(pod, namespace=str(meta.get("namespace") or "default"), source=source)


def expand(obj: JSON, source: str, nodes: Iterable[Node] = ()) -> list[Pod]:
    """The pods a workload manifest will create (a bare Pod: itself); [] for any other kind."""
    kind = str(obj.get("kind") or "")
    meta = _map(obj.get("metadata"))
    namespace, name = str(meta.get("namespace") or "default"), str(meta.get("name") or "")
    spec = _map(obj.get("spec"))
    template = _map(spec.get("template"))
    if kind == "Pod":
        return [planned_pod(obj, source)]
    if kind == "Deployment":
        replicas = _count(spec.get("replicas"), 1)
        pod_hash = template_hash(template)
        replica_set = f"{name}-{pod_hash}"
        return [
            _pod(
                template,
                namespace,
                f"{replica_set}-{i}",
                ("ReplicaSet", replica_set),
                source,
                {"pod-template-hash": pod_hash},
            )
            for i in range(replicas)
        ]
    if kind == "ReplicaSet":
        return [
            _pod(template, namespace, f"{name}-{i}", ("ReplicaSet", name), source)
            for i in range(_count(spec.get("replicas"), 1))
        ]
    if kind == "StatefulSet":
        service = spec.get("serviceName")
        pods = []
        start = _count(_map(spec.get("ordinals")).get("start"), 0)
        for ordinal in range(start, start + _count(spec.get("replicas"), 1)):
            pod_name = f"{name}-{ordinal}"
            pods.append(
                _pod(
                    template,
                    namespace,
                    pod_name,
                    ("StatefulSet", name),
                    source,
                    {
                        "statefulset.kubernetes.io/pod-name": pod_name,
                        "apps.kubernetes.io/pod-index": str(ordinal),
                    },
                    {"hostname": pod_name, **({"subdomain": service} if isinstance(service, str) else {})},
                )
            )
        return pods
    if kind == "DaemonSet":
        names = [n.name for n in nodes]
        if not names:  # where it will run is not known: one pod stands for all of them
            return [_pod(template, namespace, f"{name}-0", ("DaemonSet", name), source)]
        return [
            _pod(template, namespace, f"{name}-{node}", ("DaemonSet", name), source, spec={"nodeName": node})
            for node in names
        ]
    if kind == "Job":
        return _job_pods(template, namespace, name, spec, source)
    if kind == "CronJob":
        job_spec = _map(_map(spec.get("jobTemplate")).get("spec"))
        job_template = _map(job_spec.get("template"))
        return _job_pods(job_template, namespace, f"{name}-next", job_spec, source)
    return []


def _job_pods(template: JSON, namespace: str, name: str, spec: JSON, source: str) -> list[Pod]:
    """A Job runs `parallelism` pods at once (no more than `completions`), labelled with its name."""
    parallelism = _count(spec.get("parallelism"), 1)
    completions = spec.get("completions")
    if isinstance(completions, int) and not isinstance(completions, bool):
        parallelism = min(parallelism, max(completions, 0))
    labels = {"job-name": name, "batch.kubernetes.io/job-name": name}
    return [
        _pod(template, namespace, f"{name}-{i}", ("Job", name), source, labels) for i in range(parallelism)
    ]
