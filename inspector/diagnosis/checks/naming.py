"""DNS naming mistakes the API alone reveals: a pod's `subdomain` that names no headless Service, a
StatefulSet whose `serviceName` names no Service or one with a cluster IP.

Why it exists: these records are silently never created; CoreDNS has nothing to answer and nothing
tells the user. They are about pods and StatefulSets, not about one Service, so they are the
report's cluster findings (like orphan slices), computed from the snapshot alone.
"""

from __future__ import annotations

from collections.abc import Iterator

from inspector.model.findings import Finding, finding
from inspector.model.snapshot import Service, Snapshot


def check_pod_subdomains(snapshot: Snapshot, services: dict[tuple[str, str], Service]) -> Iterator[Finding]:
    for pod in sorted(snapshot.pods, key=lambda p: (p.namespace, p.name)):
        if not pod.subdomain:
            continue
        svc = services.get((pod.namespace, pod.subdomain))
        if svc is None:
            reason = f"no Service {pod.subdomain} exists in namespace {pod.namespace}"
        elif not svc.headless:
            reason = f"Service {svc.key} is not headless (it has cluster IP {svc.cluster_ip})"
        else:
            continue
        yield finding(
            "pod-subdomain-without-headless-service",
            pod=pod.key,
            subdomain=pod.subdomain,
            reason=reason,
            hostname=pod.hostname or pod.name,
        )


def check_statefulset_services(
    snapshot: Snapshot, services: dict[tuple[str, str], Service]
) -> Iterator[Finding]:
    for w in sorted(snapshot.workloads, key=lambda w: (w.namespace, w.name)):
        if w.kind != "StatefulSet" or not w.service_name:
            continue
        svc = services.get((w.namespace, w.service_name))
        statefulset = f"{w.namespace}/{w.name}"
        if svc is None:
            yield finding(
                "statefulset-service-missing",
                statefulset=statefulset,
                service=w.service_name,
                namespace=w.namespace,
            )
        elif not svc.headless:
            yield finding("statefulset-service-not-headless", statefulset=statefulset, service=w.service_name)


def naming_findings(snapshot: Snapshot) -> list[Finding]:
    """The naming mistakes of every pod and StatefulSet of the snapshot."""
    services = {(s.namespace, s.name): s for s in snapshot.services}
    return [*check_pod_subdomains(snapshot, services), *check_statefulset_services(snapshot, services)]
