"""The one catalogue of findings: every code, its severity and its message template.

Why it exists: checks say *what* they found (a code and the facts); the catalogue says how serious it
is and how to put it to a user, so wording and severity live in one place and the README's table is
generated from (and tested against) this file. Messages say what is wrong and what traffic will do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, get_args

# Every code of the catalogue: a typo in a check is a mypy error, not a KeyError at run time.
FindingCode = Literal[
    "selector-matches-no-pods",
    "selector-matches-scaled-to-zero",
    "no-ready-endpoints",
    "endpoints-missing",
    "endpoints-unexpected",
    "endpoint-conditions-differ",
    "target-port-unresolved",
    "target-port-not-declared",
    "selectorless-no-endpoints",
    "nodeport-missing",
    "loadbalancer-pending",
    "externalname-has-selector",
    "externalname-ports-ignored",
    "local-policy-nodes-without-endpoints",
    "internal-traffic-policy-local-no-endpoint",
    "traffic-distribution-zone-without-endpoints",
    "topology-hints-missing",
    "session-affinity-behind-snat",
    "orphan-endpointslice",
    "dns-nxdomain",
    "dns-mismatch",
    "dns-missing-srv",
    "dns-unreachable",
    "pod-not-ready",
    "endpoint-refused",
    "endpoint-timeout",
    "service-ip-unreachable",
    "nodeport-unreachable",
    "kube-proxy-stale",
    "kube-proxy-unhealthy",
    "hairpin-failed",
    "dns-from-pod-differs",
    "dns-missing-ptr",
    "dns-missing-pod-record",
    "dns-replicas-disagree",
    "dns-replica-unreachable",
    "dns-corefile-zone-not-served",
    "pod-subdomain-without-headless-service",
    "statefulset-service-missing",
    "statefulset-service-not-headless",
    "externalname-is-ip",
    "networkpolicy-denies-client",
    "networkpolicy-denies-dns-egress",
    "networkpolicy-selects-no-pods",
    "ingress-backend-service-missing",
    "ingress-backend-port-missing",
    "ingress-backend-no-endpoints",
    "ingress-backend-externalname",
]
FINDING_CODES: tuple[FindingCode, ...] = get_args(FindingCode)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True, slots=True)
class Code:
    code: FindingCode
    severity: Severity
    template: str
    when: str  # for the README's table
    active: bool = False  # raised by `why`'s probe from inside the cluster, never by reading the API
    # judged from manifests alone: a what-if run (-f) claims it for objects that are not running yet
    offline: bool = False


CATALOGUE: dict[FindingCode, Code] = {
    c.code: c
    for c in (
        Code(
            "selector-matches-no-pods",
            Severity.ERROR,
            "selector {selector} matches no pod in namespace {namespace}: traffic to this Service has "
            "nowhere to go{closest}",
            "a Service with a selector selects no pod in its namespace; details name the closest pods "
            "and the selector keys they miss or differ on",
            offline=True,
        ),
        Code(
            "selector-matches-scaled-to-zero",
            Severity.WARNING,
            "selector {selector} matches no pod because {workloads} is scaled to 0 replicas on purpose: "
            "traffic fails until it is scaled up",
            "a Service selects no pod, but a workload whose pods it would select is deliberately "
            "scaled to zero (the warning form of selector-matches-no-pods)",
            offline=True,
        ),
        Code(
            "no-ready-endpoints",
            Severity.ERROR,
            "{selected} pod(s) selected but none is ready: connections to this Service are refused or "
            "time out until a pod passes its readiness check ({pods})",
            "pods are selected but none is ready (and publishNotReadyAddresses is off)",
        ),
        Code(
            "endpoints-missing",
            Severity.ERROR,
            "{count} expected endpoint(s) absent from the EndpointSlices ({endpoints}): those pods get no "
            "traffic through this Service",
            "an expected endpoint (pod IP + port) is absent from the EndpointSlices",
        ),
        Code(
            "endpoints-unexpected",
            Severity.WARNING,
            "EndpointSlice {slices} holds {count} endpoint(s) no selected pod explains ({endpoints}): "
            "traffic may be sent to stale or foreign addresses",
            "an EndpointSlice holds an address no selected ready pod explains (stale, relabelled pod, or "
            "a manual slice on a selector Service)",
        ),
        Code(
            "endpoint-conditions-differ",
            Severity.WARNING,
            "{count} endpoint(s) whose readiness in the EndpointSlices differs from their pod's ({endpoints}): "
            "traffic follows the slices, not the pod, until the controller catches up",
            "an endpoint is present but its ready condition disagrees with its pod",
        ),
        Code(
            "target-port-unresolved",
            Severity.ERROR,
            "port {port}: targetPort {target!r} is not a {protocol} containerPort name of pod {pod}: that "
            "pod gets no traffic on this port",
            "a named targetPort that a selected pod does not declare (per pod)",
            offline=True,
        ),
        Code(
            "target-port-not-declared",
            Severity.INFO,
            "port {port}: targetPort {target} is not listed as a {protocol} containerPort of pod {pod}: "
            "traffic is still sent there, but nothing documents that the pod listens on it",
            "a numeric targetPort that a selected pod does not list as a containerPort (works, undocumented)",
            offline=True,
        ),
        Code(
            "selectorless-no-endpoints",
            Severity.WARNING,
            "no selector and no endpoint in any EndpointSlice: traffic to this Service goes nowhere until "
            "endpoints are added by hand or by another controller",
            "a Service without selector whose manually managed EndpointSlices hold no endpoint (or that has none)",
        ),
        Code(
            "nodeport-missing",
            Severity.ERROR,
            "port {port} has no nodePort allocated: this {type} Service is not reachable on the nodes",
            "a NodePort/LoadBalancer port without an allocated nodePort",
        ),
        Code(
            "loadbalancer-pending",
            Severity.WARNING,
            "no load balancer has been provisioned (ingress pending): the Service is reachable only "
            "inside the cluster {fallback}",
            "a LoadBalancer without ingress; it still works as a NodePort on each node's port",
        ),
        Code(
            "externalname-has-selector",
            Severity.WARNING,
            "ExternalName Service carries selector {selector}, which is ignored: no pod receives traffic, "
            "DNS answers with a CNAME to {external_name}",
            "an ExternalName Service carrying a selector (ignored)",
            offline=True,
        ),
        Code(
            "externalname-ports-ignored",
            Severity.WARNING,
            "port {port} has targetPort {target}, but ExternalName does no port mapping: clients reach "
            "{external_name}:{port}, never port {target}",
            "an ExternalName Service whose targetPort differs from port",
            offline=True,
        ),
        Code(
            "local-policy-nodes-without-endpoints",
            Severity.INFO,
            "externalTrafficPolicy Local: external traffic arriving at {count} node(s) without a ready "
            "endpoint is dropped ({nodes})",
            "externalTrafficPolicy: Local: the nodes that would drop external traffic",
        ),
        Code(
            "internal-traffic-policy-local-no-endpoint",
            Severity.WARNING,
            "internalTrafficPolicy Local: {count} node(s) hold no ready endpoint ({nodes}): connections from "
            "pods there to the Service are dropped (they time out, they are not refused)",
            "internalTrafficPolicy: Local: the nodes (real and Ready) without a usable local endpoint, where "
            "kube-proxy drops the Service's traffic",
        ),
        Code(
            "traffic-distribution-zone-without-endpoints",
            Severity.INFO,
            "{asked}: zone(s) {zones} hold nodes but no ready endpoint: traffic from there leaves its zone",
            "trafficDistribution or topology hints: the zones with nodes but no endpoint, whose traffic goes "
            "to other zones",
        ),
        Code(
            "topology-hints-missing",
            Severity.WARNING,
            "{asked}, but {missing} of {total} ready endpoint(s) carry no zone hint in the EndpointSlices"
            "{why}: kube-proxy ignores the hints and every node sends traffic to every endpoint, across zones",
            "the Service asks for topology-aware routing (trafficDistribution or the topology-mode annotation) "
            "but its slices lack hints; details: the controller's TopologyAwareHintsDisabled event",
        ),
        Code(
            "session-affinity-behind-snat",
            Severity.INFO,
            "sessionAffinity ClientIP with externalTrafficPolicy Cluster on {paths}: each node keeps its own "
            "client-to-endpoint choice and masquerades, so a client whose connections reach different nodes "
            "can land on different endpoints, and endpoints see a node's address, not the client's "
            "(externalTrafficPolicy Local keeps both)",
            "ClientIP session affinity on node ports, load balancers or external IPs with "
            "externalTrafficPolicy: Cluster",
        ),
        Code(
            "orphan-endpointslice",
            Severity.WARNING,
            "EndpointSlice {slice} names Service {service}, which does not exist: nothing routes to it; "
            "it is stale and can be deleted",
            "a slice whose kubernetes.io/service-name names no existing Service",
        ),
        Code(
            "dns-nxdomain",
            Severity.ERROR,
            "{qname} ({qtype}) does not exist in the cluster DNS (NXDOMAIN), but the API says it should "
            "answer {expected}: clients using this name fail to resolve it",
            "the cluster DNS says a name does not exist that the API says it should",
        ),
        Code(
            "dns-mismatch",
            Severity.ERROR,
            "{qname} ({qtype}) answers {got}, but the API says {expected}: clients using this name are not sent "
            "where the Service points",
            "the cluster DNS answers a name differently from what the API says",
        ),
        Code(
            "dns-missing-srv",
            Severity.ERROR,
            "SRV record {qname} for named port {port} is missing (expected {expected}): clients that "
            "discover ports by SRV cannot find it",
            "a named port has no SRV record",
        ),
        Code(
            "dns-unreachable",
            Severity.ERROR,
            "the cluster DNS at {server} did not answer {qname} ({reason}): name resolution cannot be checked",
            "the cluster DNS did not answer",
        ),
        Code(
            "pod-not-ready",
            Severity.INFO,  # traffic skips it by design (startup, rollout); no-ready-endpoints is the error
            "pod {pod} is not ready ({reason}; {restarts} restart(s){probe}): it gets no traffic through "
            "this Service until it passes its readiness check",
            "a selected pod is not ready; details: the reason (container waiting/terminated states, exit "
            "codes, readiness gates, conditions), restarts, the last failed probe's event",
        ),
        Code(
            "endpoint-refused",
            Severity.ERROR,
            "endpoint {endpoint} (pod {pod}) refused the connection from {client}: nothing listens on port "
            "{port} on the pod's address (the app listens on another port, or on 127.0.0.1 only)",
            "`why`: a connection from inside the cluster to an endpoint's podIP:targetPort was refused",
            active=True,
        ),
        Code(
            "endpoint-timeout",
            Severity.ERROR,
            "endpoint {endpoint} (pod {pod}) did not accept a connection from {client} ({outcome}): packets "
            "are dropped on the way (a NetworkPolicy, routing, or a firewall in the pod)",
            "`why`: a connection to an endpoint timed out or found no route",
            active=True,
        ),
        Code(
            "service-ip-unreachable",
            Severity.ERROR,
            "{address} (port {port}) did not connect from {client} on node {node} ({outcome}) while every "
            "endpoint connects: kube-proxy on node {node} is not forwarding this Service (is it running?)",
            "`why`: the ClusterIP does not connect while the endpoints do (points at kube-proxy on the "
            "client's node)",
            active=True,
        ),
        Code(
            "nodeport-unreachable",
            Severity.ERROR,
            "node port {address} of node {node} did not connect from {client} ({outcome}) while the "
            "endpoints connect: kube-proxy on node {node} is not serving node port {node_port}",
            "`why`: a NodePort does not connect on a node while the endpoints do",
            active=True,
        ),
        Code(
            "kube-proxy-stale",
            Severity.ERROR,
            "kube-proxy on node {node} last synced its rules at {last_updated}, {behind} before this "
            "Service's last change ({changed}): the node still routes the Service as it was then (is "
            "kube-proxy stuck, or cut off from the API server?)",
            "`why --node-health`: a node's kube-proxy reports (/healthz lastUpdated) that its last sync is "
            "older than the Service's or its EndpointSlices' last change",
            active=True,
        ),
        Code(
            "kube-proxy-unhealthy",
            Severity.ERROR,
            "kube-proxy on node {node} is unhealthy: {reason}",
            "`why --node-health`: a node's kube-proxy answers /healthz with 503 (it has not synced for "
            "longer than its health timeout) or does not answer at all (not running)",
            active=True,
        ),
        Code(
            "hairpin-failed",
            Severity.ERROR,
            "pod {pod} cannot reach itself through its Service at {address} ({outcome}): the node's bridge "
            "lacks hairpin mode (kubelet hairpinMode, CNI bridge hairpinMode)",
            "`why --from-pod` a selected pod: it cannot reach its own Service (hairpin)",
            active=True,
        ),
        Code(
            "dns-from-pod-differs",
            Severity.ERROR,
            "{name} from {client} answers {got}, but the API says {expected}{hint}",
            "`why`: the name, resolved by the client pod's own resolver, does not answer what the API says",
            active=True,
        ),
        Code(
            "dns-missing-ptr",
            Severity.ERROR,
            "{qname} (PTR) answers {got}, but the API says it should point at {expected}: reverse lookups "
            "of {ip} (dig -x, logging, TLS and SSH name checks) do not find the Service's name",
            "a ClusterIP, or a ready endpoint of a headless Service, has no PTR record pointing at its name",
        ),
        Code(
            "dns-missing-pod-record",
            Severity.ERROR,
            "pod record {qname} ({qtype}) answers {got}, but the Corefile serves pod records ({mode}) and the "
            "API says {expected}: clients using the pod's dashed-IP name fail to resolve it",
            "the Corefile says `pods insecure` or `pods verified` but a pod's `a-b-c-d.<ns>.pod.<zone>` record "
            "does not answer its IP",
        ),
        Code(
            "dns-replicas-disagree",
            Severity.ERROR,
            "the DNS replicas disagree on {qname} ({qtype}): {answers}: clients get a different answer "
            "depending on which replica the Service sends them to",
            "the ready endpoints of kube-system/kube-dns answer one name differently; details say which "
            "replica said what",
        ),
        Code(
            "dns-replica-unreachable",
            Severity.ERROR,
            "DNS replica {replica} did not answer ({reason}): the share of queries the Service sends it "
            "times out or fails",
            "a ready endpoint of kube-system/kube-dns answers nothing",
        ),
        Code(
            "dns-corefile-zone-not-served",
            Severity.WARNING,
            "the Corefile's kubernetes plugin does not serve {zone} ({reason}): {effect}",
            "the Corefile (kube-system/coredns) has no kubernetes plugin for the cluster domain or for a "
            "reverse zone (in-addr.arpa, ip6.arpa)",
        ),
        Code(
            "pod-subdomain-without-headless-service",
            Severity.WARNING,
            "pod {pod} has subdomain {subdomain!r}, but {reason}: its {hostname}.{subdomain} record never "
            "exists",
            "a pod's `subdomain` names no headless Service in its namespace",
            offline=True,
        ),
        Code(
            "statefulset-service-missing",
            Severity.ERROR,
            "StatefulSet {statefulset} has serviceName {service!r}, which names no Service in namespace "
            "{namespace}: its pods get no stable DNS names",
            "a StatefulSet's `serviceName` names no Service",
            offline=True,
        ),
        Code(
            "statefulset-service-not-headless",
            Severity.WARNING,
            "StatefulSet {statefulset} has serviceName {service!r}, but that Service has a cluster IP: its "
            "pods get no stable per-pod DNS names (only a headless Service gives them)",
            "a StatefulSet's `serviceName` names a Service that is not headless",
            offline=True,
        ),
        Code(
            "externalname-is-ip",
            Severity.WARNING,
            "externalName {external_name} is an IP address, not a DNS name: the cluster DNS has no CNAME to give "
            "(CoreDNS answers NXDOMAIN for the Service's name), so clients fail to resolve it; use a selectorless "
            "Service with an EndpointSlice for that IP instead",
            "an ExternalName Service whose `externalName` is an IP address",
            offline=True,
        ),
        Code(
            "networkpolicy-denies-client",
            Severity.ERROR,
            "NetworkPolicy drops traffic from {client} to {count} of {total} ready endpoint(s) "
            "({reason}): connections from there time out",
            "diff --from-namespace: a NetworkPolicy (the endpoint pod's ingress or the client's egress) "
            "drops the client's traffic to a ready endpoint",
            offline=True,
        ),
        Code(
            "networkpolicy-denies-dns-egress",
            Severity.ERROR,
            "{client} cannot reach kube-dns ({reason}): names do not resolve there, so no Service is found "
            "by name",
            "diff --from-namespace: the client's egress policies drop its DNS queries to kube-dns "
            "(53/UDP or 53/TCP)",
            offline=True,
        ),
        Code(
            "networkpolicy-selects-no-pods",
            Severity.INFO,
            "NetworkPolicy {policy} selects no pod in namespace {namespace} (podSelector {selector}): its "
            "rules apply to nothing",
            "diff --from-namespace: a NetworkPolicy whose podSelector selects no pod of its namespace",
            offline=True,
        ),
        Code(
            "ingress-backend-service-missing",
            Severity.ERROR,
            "{kind} {route} ({where}) sends traffic to Service {service}, which does not exist: those "
            "requests fail (503 or 500 from the proxy)",
            "an Ingress, HTTPRoute or GRPCRoute backend names a Service that does not exist",
            offline=True,
        ),
        Code(
            "ingress-backend-port-missing",
            Severity.ERROR,
            "{kind} {route} ({where}) sends traffic to port {port} of Service {service}, which defines "
            "ports {ports}: those requests fail",
            "a route backend names a port the Service does not define",
            offline=True,
        ),
        Code(
            "ingress-backend-no-endpoints",
            Severity.ERROR,
            "{kind} {route} ({where}) sends traffic to Service {service}, which has no ready endpoint: "
            "those requests fail (503) until a pod is ready",
            "a route backend names a Service with no ready endpoint",
            offline=True,
        ),
        Code(
            "ingress-backend-externalname",
            Severity.WARNING,
            "{kind} {route} ({where}) sends traffic to ExternalName Service {service} ({external_name}): "
            "many controllers refuse such backends or need it enabled, and it leaves the cluster",
            "a route backend names an ExternalName Service",
            offline=True,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Finding:
    code: FindingCode
    severity: Severity
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)  # the facts, by camelCase name


def finding(code: FindingCode, /, *, extra: Mapping[str, Any] | None = None, **facts: Any) -> Finding:
    """A finding from the catalogue; `facts` fill the template and, with `extra`, become its details."""
    entry = CATALOGUE[code]
    details = {_camel(k): v for k, v in facts.items()} | dict(extra or {})
    return Finding(code, entry.severity, entry.template.format(**facts), details)


def _camel(name: str) -> str:
    """JSON keys are camelCase, like the Kubernetes API's."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def worst(findings: list[Finding]) -> Severity | None:
    return min((f.severity for f in findings), key=lambda s: s.rank, default=None)


def offline_codes() -> tuple[FindingCode, ...]:
    """The codes a what-if run judges from manifests alone (the README lists them from here)."""
    return tuple(c.code for c in CATALOGUE.values() if c.offline)


def offline_list() -> str:
    """The README's list of the findings judged offline, generated from the catalogue."""
    return "\n".join(f"- `{code}`" for code in offline_codes())


def markdown_table() -> str:
    """The README's table of codes, generated from the catalogue."""
    rows = ["| code | severity | when |", "|---|---|---|"]
    rows += [f"| `{c.code}` | {c.severity.value} | {c.when} |" for c in CATALOGUE.values()]
    return "\n".join(rows)
