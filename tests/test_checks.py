"""Every finding code of the catalogue, through the whole pure pipeline: manifests in, findings out.

Each code has a positive case (it appears, with its severity, exact message and details) and at
least one negative case (a healthy variant of the same situation does not raise it).
"""

from __future__ import annotations

from typing import Any

import pytest

from inspector.diagnosis.report import Report
from inspector.model.findings import CATALOGUE, Finding, Severity
from inspector.output.documents import finding_json
from tests.conftest import inspect_manifests

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def findings_of(report: Report, service: str | None) -> tuple[Finding, ...]:
    """The findings of one Service ("namespace/name"), or the cluster-wide ones (None)."""
    if service is None:
        return report.cluster_findings
    namespace, name = service.split("/")
    sr = report.service(namespace, name)
    assert sr is not None, f"no Service {service} in the report"
    return sr.findings


def web_endpoint(ip: str, pod: str, node: str, port_name: str = "http") -> dict[str, Any]:
    return {
        "ip": ip,
        "port": 8080,
        "protocol": "TCP",
        "portName": port_name,
        "pod": pod,
        "node": node,
        "ready": True,
    }


NAMING = """
apiVersion: v1
kind: Service
metadata: {name: db, namespace: data}
spec: {clusterIP: None, selector: {app: db}, ports: [{name: pg, port: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: data}
spec: {clusterIP: 10.96.50.5, selector: {app: api}, ports: [{name: http, port: 80}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: data}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db}}, spec: {containers: [{name: pg, image: postgres}]}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: cache, namespace: data}
spec:
  serviceName: cache
  selector: {matchLabels: {app: cache}}
  template: {metadata: {labels: {app: cache}}, spec: {containers: [{name: redis, image: redis}]}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: api, namespace: data}
spec:
  serviceName: api
  selector: {matchLabels: {app: api}}
  template: {metadata: {labels: {app: api}}, spec: {containers: [{name: api, image: api}]}}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: data, labels: {app: db}}
spec: {hostname: db-0, subdomain: db, containers: [{name: pg, image: postgres}]}
---
apiVersion: v1
kind: Pod
metadata: {name: api-0, namespace: data, labels: {app: api}}
spec: {hostname: api-0, subdomain: api, containers: [{name: api, image: api}]}
---
apiVersion: v1
kind: Pod
metadata: {name: worker, namespace: data, labels: {app: worker}}
spec: {subdomain: workers, containers: [{name: w, image: w}]}
---
apiVersion: v1
kind: Service
metadata: {name: legacy-db, namespace: data}
spec: {type: ExternalName, externalName: 192.0.2.10}
"""
NAMING_HEALTHY = """
apiVersion: v1
kind: Service
metadata: {name: db, namespace: data}
spec: {clusterIP: None, selector: {app: db}, ports: [{name: pg, port: 5432}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: data}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db}}, spec: {containers: [{name: pg, image: postgres}]}}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: data, labels: {app: db}}
spec: {hostname: db-0, subdomain: db, containers: [{name: pg, image: postgres}]}
---
apiVersion: v1
kind: Service
metadata: {name: legacy-db, namespace: data}
spec: {type: ExternalName, externalName: db.example.com}
"""


POSITIVE = [
    pytest.param(
        "selector-matches-no-pods",
        ("shop.yaml", "selection.yaml"),
        "shop/checkout",
        [
            (
                ERROR,
                "selector version=1,zone=prod matches no pod in namespace shop: traffic to this Service has "
                "nowhere to go; closest: pod checkout-5c6d-x: missing label version=1; "
                "pod checkout-canary: label version=2 (selector wants version=1)",
                {
                    "selector": "version=1,zone=prod",
                    "namespace": "shop",
                    "closest": "; closest: pod checkout-5c6d-x: missing label version=1; "
                    "pod checkout-canary: label version=2 (selector wants version=1)",
                    "closestPods": [
                        {"pod": "checkout-5c6d-x", "missing": {"version": "1"}, "different": {}},
                        {
                            "pod": "checkout-canary",
                            "missing": {},
                            "different": {"version": {"want": "1", "have": "2"}},
                        },
                    ],
                },
            )
        ],
        id="selector-matches-no-pods--label-typo-names-the-closest-pods",
    ),
    pytest.param(
        "selector-matches-scaled-to-zero",
        ("shop.yaml", "selection.yaml"),
        "shop/reports",
        [
            (
                WARNING,
                "selector app=reports matches no pod because Deployment reports is scaled to 0 replicas on "
                "purpose: traffic fails until it is scaled up",
                {"selector": "app=reports", "workloads": "Deployment reports"},
            )
        ],
        id="selector-matches-scaled-to-zero--deployment-at-zero-replicas",
    ),
    pytest.param(
        "no-ready-endpoints",
        ("shop.yaml", "readiness.yaml"),
        "shop/search",
        [
            (
                ERROR,
                "3 pod(s) selected but none is ready: connections to this Service are refused or time out "
                "until a pod passes its readiness check "
                "(search-0: Running, not ready, search-1: terminating, search-2: Pending, not ready)",
                {
                    "selected": 3,
                    "pods": "search-0: Running, not ready, search-1: terminating, search-2: Pending, not ready",
                },
            )
        ],
        id="no-ready-endpoints--not-ready-terminating-and-pending-pods",
    ),
    pytest.param(
        "pod-not-ready",
        ("notready.yaml",),
        "shop/api",
        [
            (
                INFO,
                "pod api-crashing is not ready (container app: CrashLoopBackOff (last exit: Error, exit code 3); "
                "ContainersReady: ContainersNotReady; 4 restart(s)): it gets no traffic through this Service "
                "until it passes its readiness check",
                {
                    "pod": "api-crashing",
                    "reason": "container app: CrashLoopBackOff (last exit: Error, exit code 3); "
                    "ContainersReady: ContainersNotReady",
                    "restarts": 4,
                    "lastProbeFailure": None,
                    "troubles": [
                        "container app: CrashLoopBackOff (last exit: Error, exit code 3)",
                        "ContainersReady: ContainersNotReady",
                    ],
                },
            ),
            (
                INFO,
                "pod api-wrong-probe is not ready (container app: running, not ready; readiness gate "
                "example.com/load-balancer-registered not True; ContainersReady: ContainersNotReady; "
                "0 restart(s); last probe failure: 'Readiness probe failed: HTTP probe failed with "
                "statuscode: 404' (7x)): it gets no traffic through this Service until it passes its "
                "readiness check",
                {
                    "pod": "api-wrong-probe",
                    "reason": "container app: running, not ready; readiness gate "
                    "example.com/load-balancer-registered not True; ContainersReady: ContainersNotReady",
                    "restarts": 0,
                    "lastProbeFailure": "Readiness probe failed: HTTP probe failed with statuscode: 404",
                    "troubles": [
                        "container app: running, not ready",
                        "readiness gate example.com/load-balancer-registered not True",
                        "ContainersReady: ContainersNotReady",
                    ],
                },
            ),
        ],
        id="pod-not-ready--crashloop-and-failing-probe-with-its-latest-event",
    ),
    pytest.param(
        "endpoints-missing",
        ("shop.yaml", "drift.yaml"),
        "shop/web-missing",
        [
            (
                ERROR,
                "1 expected endpoint(s) absent from the EndpointSlices (10.244.2.7:8080 (web-7d9f8-b2)): "
                "those pods get no traffic through this Service",
                {"count": 1, "endpoints": [web_endpoint("10.244.2.7", "web-7d9f8-b2", "node-b")]},
            )
        ],
        id="endpoints-missing--slice-lacks-a-ready-pod",
    ),
    pytest.param(
        "endpoints-unexpected",
        ("shop.yaml", "drift.yaml"),
        "shop/web-stale",
        [
            (
                WARNING,
                "EndpointSlice web-stale-fghij holds 1 endpoint(s) no selected pod explains "
                "(10.244.3.99:8080 (web-5b4c3-gone)): traffic may be sent to stale or foreign addresses",
                {
                    "count": 1,
                    "slices": "web-stale-fghij",
                    "endpoints": [
                        web_endpoint("10.244.3.99", "web-5b4c3-gone", "node-c")
                        | {"serving": True, "terminating": False}
                    ],
                },
            )
        ],
        id="endpoints-unexpected--slice-keeps-a-deleted-pods-address",
    ),
    pytest.param(
        "endpoint-conditions-differ",
        ("shop.yaml", "drift.yaml"),
        "shop/web-lagging",
        [
            (
                WARNING,
                "1 endpoint(s) whose readiness in the EndpointSlices differs from their pod's "
                "(10.244.2.7:8080 ready=false, pod says true): traffic follows the slices, not the pod, "
                "until the controller catches up",
                {"count": 1, "endpoints": "10.244.2.7:8080 ready=false, pod says true"},
            )
        ],
        id="endpoint-conditions-differ--slice-says-not-ready-pod-says-ready",
    ),
    pytest.param(
        "target-port-unresolved",
        ("shop.yaml", "ports.yaml"),
        "shop/api",
        [
            (
                ERROR,
                f"port http: targetPort 'http' is not a TCP containerPort name of pod {pod}: that pod gets no "
                "traffic on this port",
                {"port": "http", "target": "http", "protocol": "TCP", "pod": pod},
            )
            for pod in ("api-init-only", "api-udp")
        ],
        id="target-port-unresolved--named-port-missing-is-an-error-for-those-pods-only",
    ),
    pytest.param(
        "target-port-not-declared",
        ("shop.yaml", "ports.yaml"),
        "shop/api",
        [
            (
                INFO,
                "port metrics: targetPort 9090 is not listed as a TCP containerPort of pod api-init-only: "
                "traffic is still sent there, but nothing documents that the pod listens on it",
                {"port": "metrics", "target": 9090, "protocol": "TCP", "pod": "api-init-only"},
            )
        ],
        id="target-port-not-declared--numeric-port-no-container-lists",
    ),
    pytest.param(
        "selectorless-no-endpoints",
        ("shop.yaml", "misconfigured-types.yaml"),
        "shop/warehouse-db",
        [
            (
                WARNING,
                "no selector and no endpoint in any EndpointSlice: traffic to this Service goes nowhere until "
                "endpoints are added by hand or by another controller",
                {},
            )
        ],
        id="selectorless-no-endpoints--no-selector-and-no-slice",
    ),
    pytest.param(
        "nodeport-missing",
        ("shop.yaml", "misconfigured-types.yaml"),
        "shop/web-no-nodeport",
        [
            (
                ERROR,
                "port http has no nodePort allocated: this NodePort Service is not reachable on the nodes",
                {"port": "http", "type": "NodePort"},
            )
        ],
        id="nodeport-missing--nodeport-service-without-node-port",
    ),
    pytest.param(
        "loadbalancer-pending",
        ("shop.yaml", "misconfigured-types.yaml"),
        "shop/web-lb-pending",
        [
            (
                WARNING,
                "no load balancer has been provisioned (ingress pending): the Service is reachable only "
                "inside the cluster and, as a NodePort, on each node's port 31443",
                {"fallback": "and, as a NodePort, on each node's port 31443", "nodePorts": ["31443"]},
            )
        ],
        id="loadbalancer-pending--no-ingress-still-reachable-on-node-port",
    ),
    pytest.param(
        "externalname-has-selector",
        ("shop.yaml", "misconfigured-types.yaml"),
        "shop/payments",
        [
            (
                WARNING,
                "ExternalName Service carries selector app=payments, which is ignored: no pod receives "
                "traffic, DNS answers with a CNAME to pay.example.com",
                {"selector": "app=payments", "externalName": "pay.example.com"},
            )
        ],
        id="externalname-has-selector--selector-ignored",
    ),
    pytest.param(
        "externalname-ports-ignored",
        ("shop.yaml", "misconfigured-types.yaml"),
        "shop/payments",
        [
            (
                WARNING,
                "port 443 has targetPort 8443, but ExternalName does no port mapping: clients reach "
                "pay.example.com:443, never port 8443",
                {"port": 443, "target": 8443, "externalName": "pay.example.com"},
            )
        ],
        id="externalname-ports-ignored--target-port-differs-from-port",
    ),
    pytest.param(
        "local-policy-nodes-without-endpoints",
        ("shop.yaml", "misconfigured-types.yaml"),
        "shop/web-canary",
        [
            (
                INFO,
                "externalTrafficPolicy Local: external traffic arriving at 1 node(s) without a ready endpoint "
                "is dropped (node-b)",
                {"count": 1, "nodes": "node-b", "nodeList": ["node-b"]},
            )
        ],
        id="local-policy-nodes-without-endpoints--node-without-a-local-pod-drops-traffic",
    ),
    pytest.param(
        "internal-traffic-policy-local-no-endpoint",
        ("topology.yaml",),
        "edge/web-local",
        [
            (
                WARNING,
                "internalTrafficPolicy Local: 1 node(s) hold no ready endpoint (node-c): connections from pods "
                "there to the Service are dropped (they time out, they are not refused)",
                # node-sim is a kwok node: no kube-proxy, no pod really runs there
                {"count": 1, "nodes": "node-c", "nodeList": ["node-c"]},
            )
        ],
        id="internal-traffic-policy-local-no-endpoint--node-without-a-web-pod",
    ),
    pytest.param(
        "traffic-distribution-zone-without-endpoints",
        ("topology.yaml",),
        "edge/web-zonal",
        [
            (
                INFO,
                "trafficDistribution PreferSameZone: zone(s) zone-c hold nodes but no ready endpoint: traffic "
                "from there leaves its zone",
                {"asked": "trafficDistribution PreferSameZone", "zones": "zone-c", "zoneList": ["zone-c"]},
            )
        ],
        id="traffic-distribution-zone-without-endpoints--zone-c-has-a-node-and-no-pod",
    ),
    pytest.param(
        "topology-hints-missing",
        ("topology.yaml",),
        "edge/web-hintless",
        [
            (
                WARNING,
                "topology-mode Auto, but 2 of 2 ready endpoint(s) carry no zone hint in the EndpointSlices (the "
                "EndpointSlice controller says: 'Insufficient number of endpoints, addressType: IPv4'): kube-proxy "
                "ignores the hints and every node sends traffic to every endpoint, across zones",
                {
                    "asked": "topology-mode Auto",
                    "missing": 2,
                    "total": 2,
                    "hintsDisabledEvent": "Insufficient number of endpoints, addressType: IPv4",
                },
            )
        ],
        id="topology-hints-missing--annotation-without-hints",
    ),
    pytest.param(
        "session-affinity-behind-snat",
        ("topology.yaml",),
        "edge/web-sticky",
        [
            (
                INFO,
                "sessionAffinity ClientIP with externalTrafficPolicy Cluster on node ports, external IPs: each "
                "node keeps its own client-to-endpoint choice and masquerades, so a client whose connections "
                "reach different nodes can land on different endpoints, and endpoints see a node's address, "
                "not the client's (externalTrafficPolicy Local keeps both)",
                {"paths": "node ports, external IPs"},
            )
        ],
        id="session-affinity-behind-snat--client-ip-on-a-cluster-policy-node-port",
    ),
    pytest.param(
        "orphan-endpointslice",
        ("shop.yaml", "drift.yaml"),
        None,
        [
            (
                WARNING,
                "EndpointSlice shop/web-old-pqrst names Service shop/web-old, which does not exist: nothing "
                "routes to it; it is stale and can be deleted",
                {"slice": "shop/web-old-pqrst", "service": "shop/web-old"},
            )
        ],
        id="orphan-endpointslice--slice-names-a-deleted-service",
    ),
    pytest.param(
        "pod-subdomain-without-headless-service",
        (NAMING,),
        None,
        [
            (
                WARNING,
                "pod data/api-0 has subdomain 'api', but Service data/api is not headless (it has cluster IP "
                "10.96.50.5): its api-0.api record never exists",
                {
                    "pod": "data/api-0",
                    "subdomain": "api",
                    "reason": "Service data/api is not headless (it has cluster IP 10.96.50.5)",
                    "hostname": "api-0",
                },
            ),
            (
                WARNING,
                "pod data/worker has subdomain 'workers', but no Service workers exists in namespace data: its "
                "worker.workers record never exists",
                {
                    "pod": "data/worker",
                    "subdomain": "workers",
                    "reason": "no Service workers exists in namespace data",
                    "hostname": "worker",
                },
            ),
        ],
        id="pod-subdomain-without-headless-service--missing-and-not-headless",
    ),
    pytest.param(
        "statefulset-service-missing",
        (NAMING,),
        None,
        [
            (
                ERROR,
                "StatefulSet data/cache has serviceName 'cache', which names no Service in namespace data: its "
                "pods get no stable DNS names",
                {"statefulset": "data/cache", "service": "cache", "namespace": "data"},
            )
        ],
        id="statefulset-service-missing--no-such-service",
    ),
    pytest.param(
        "statefulset-service-not-headless",
        (NAMING,),
        None,
        [
            (
                WARNING,
                "StatefulSet data/api has serviceName 'api', but that Service has a cluster IP: its pods get no "
                "stable per-pod DNS names (only a headless Service gives them)",
                {"statefulset": "data/api", "service": "api"},
            )
        ],
        id="statefulset-service-not-headless--cluster-ip-service",
    ),
    pytest.param(
        "externalname-is-ip",
        (NAMING,),
        "data/legacy-db",
        [
            (
                WARNING,
                "externalName 192.0.2.10 is an IP address, not a DNS name: the cluster DNS has no CNAME to give "
                "(CoreDNS answers NXDOMAIN for the Service's name), so clients fail to resolve it; use a "
                "selectorless Service with an EndpointSlice for that IP instead",
                {"externalName": "192.0.2.10"},
            )
        ],
        id="externalname-is-ip--ipv4-literal",
    ),
    pytest.param(
        "ingress-backend-service-missing",
        ("reach.yaml",),
        None,
        [
            (
                ERROR,
                "Ingress shop/shop (shop.example/old) sends traffic to Service shop/gone, which does not "
                "exist: those requests fail (503 or 500 from the proxy)",
                {
                    "kind": "Ingress",
                    "route": "shop/shop",
                    "where": "shop.example/old",
                    "service": "shop/gone",
                    "port": 80,
                },
            )
        ],
        id="ingress-backend-service-missing--a-path-names-a-deleted-service",
    ),
    pytest.param(
        "ingress-backend-port-missing",
        ("reach.yaml",),
        "shop/api",
        [
            (
                ERROR,
                "HTTPRoute shop/partner (rule 2) sends traffic to port 81 of Service shop/api, which defines "
                "ports 80 (web): those requests fail",
                {
                    "kind": "HTTPRoute",
                    "route": "shop/partner",
                    "where": "rule 2",
                    "service": "shop/api",
                    "port": 81,
                    "ports": "80 (web)",
                },
            ),
            (
                ERROR,
                "Ingress shop/shop (shop.example/admin) sends traffic to port admin of Service shop/api, "
                "which defines ports 80 (web): those requests fail",
                {
                    "kind": "Ingress",
                    "route": "shop/shop",
                    "where": "shop.example/admin",
                    "service": "shop/api",
                    "port": "admin",
                    "ports": "80 (web)",
                },
            ),
        ],
        id="ingress-backend-port-missing--a-number-and-a-name-the-service-lacks",
    ),
    pytest.param(
        "ingress-backend-no-endpoints",
        ("reach.yaml",),
        "shop/idle",
        [
            (
                ERROR,
                "Ingress shop/shop (shop.example/idle) sends traffic to Service shop/idle, which has no ready "
                "endpoint: those requests fail (503) until a pod is ready",
                {
                    "kind": "Ingress",
                    "route": "shop/shop",
                    "where": "shop.example/idle",
                    "service": "shop/idle",
                    "port": 80,
                },
            )
        ],
        id="ingress-backend-no-endpoints--a-path-to-a-service-selecting-nothing",
    ),
    pytest.param(
        "ingress-backend-externalname",
        ("reach.yaml",),
        "shop/partner",
        [
            (
                WARNING,
                "HTTPRoute shop/partner (rule 1) sends traffic to ExternalName Service shop/partner "
                "(partner.example.com): many controllers refuse such backends or need it enabled, and it "
                "leaves the cluster",
                {
                    "kind": "HTTPRoute",
                    "route": "shop/partner",
                    "where": "rule 1",
                    "service": "shop/partner",
                    "port": 443,
                    "externalName": "partner.example.com",
                },
            )
        ],
        id="ingress-backend-externalname--a-route-to-an-externalname-service",
    ),
]


@pytest.mark.parametrize(("code", "sources", "service", "expected"), POSITIVE)
def test_finding_appears_with_its_severity_message_and_details(
    code: str,
    sources: tuple[str, ...],
    service: str | None,
    expected: list[tuple[Severity, str, dict[str, Any]]],
) -> None:
    found = [f for f in findings_of(inspect_manifests(*sources), service) if f.code == code]

    # the details as the JSON document carries them (endpoints among them as their JSON objects)
    assert [(f.severity, f.message, finding_json(f)["details"]) for f in found] == expected


def test_every_catalogue_code_but_dns_has_a_positive_case() -> None:
    covered = {p.values[0] for p in POSITIVE}

    # the active codes (`why`'s probe) are covered by tests/test_why.py; the DNS codes by
    # test_dnschecking; the client's NetworkPolicy ones (they need a client) by test_reach
    assert covered == {
        code
        for code, c in CATALOGUE.items()
        if not code.startswith(("dns-", "networkpolicy-")) and not c.active
    }


LB_WITHOUT_NODE_PORTS = """
apiVersion: v1
kind: Service
metadata: {name: web-direct, namespace: shop}
spec:
  type: LoadBalancer
  allocateLoadBalancerNodePorts: false
  clusterIP: 10.96.106.10
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: http}
status:
  loadBalancer:
    ingress: [{ip: 203.0.113.20}]
"""
EXTERNALNAME_SAME_PORT = """
apiVersion: v1
kind: Service
metadata: {name: mail, namespace: shop}
spec:
  type: ExternalName
  externalName: smtp.example.com
  ports:
    - {name: smtp, port: 587, targetPort: 587}
"""
REPORTS_V2_SCALED_DOWN = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: reports-v2, namespace: shop}
spec:
  replicas: 0
  selector: {matchLabels: {app: reports-v2}}
  template:
    metadata: {labels: {app: reports-v2}}
    spec: {containers: [{name: reports, image: "shop/reports:4.0"}]}
---
apiVersion: v1
kind: Service
metadata: {name: reports, namespace: shop}
spec:
  selector: {app: reports}
  ports: [{port: 80, targetPort: 8000}]
"""
REPORTS_SCALING_UP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: reports, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: reports}}
  template:
    metadata: {labels: {app: reports}}
    spec: {containers: [{name: reports, image: "shop/reports:3.1"}]}
---
apiVersion: v1
kind: Service
metadata: {name: reports, namespace: shop}
spec:
  selector: {app: reports}
  ports: [{port: 80, targetPort: 8000}]
"""
UNLABELLED_SLICE = """
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: hand-made, namespace: shop}
addressType: IPv4
endpoints: [{addresses: [10.244.9.9]}]
"""

ROUTE_TO_EXISTING_PORT = """
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  clusterIP: 10.96.1.1
  ports: [{name: web, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: api, namespace: shop}
spec:
  rules: [{backendRefs: [{name: api, port: 80}]}]
"""


NEGATIVE = [
    pytest.param(
        "selector-matches-no-pods",
        ("shop.yaml",),
        "shop/web",
        id="selector-matches-no-pods-service-selects-its-pods",
    ),
    pytest.param(
        "selector-matches-no-pods",
        ("shop.yaml", "misconfigured-types.yaml"),
        "shop/payments",
        id="selector-matches-no-pods-externalname-selector-ignored",
    ),
    pytest.param(
        "selector-matches-no-pods",
        ("shop.yaml", "selection.yaml"),
        "shop/reports",
        id="selector-matches-no-pods-scaled-to-zero-is-no-error",
    ),
    pytest.param(
        "selector-matches-scaled-to-zero",
        ("shop.yaml", "selection.yaml"),
        "shop/checkout",
        id="selector-matches-scaled-to-zero-no-workload",
    ),
    pytest.param(
        "selector-matches-scaled-to-zero",
        (REPORTS_V2_SCALED_DOWN,),
        "shop/reports",
        id="selector-matches-scaled-to-zero-template-labels-differ",
    ),
    pytest.param(
        "selector-matches-scaled-to-zero",
        (REPORTS_SCALING_UP,),
        "shop/reports",
        id="selector-matches-scaled-to-zero-replicas-wanted",
    ),
    pytest.param("no-ready-endpoints", ("readiness.yaml",), "shop/queue", id="no-ready-endpoints-one-ready"),
    pytest.param("pod-not-ready", ("shop.yaml",), "shop/web", id="pod-not-ready-every-pod-ready"),
    pytest.param(
        "no-ready-endpoints",
        ("readiness.yaml",),
        "shop/queue-peers",
        id="no-ready-endpoints-publish-not-ready-addresses",
    ),
    pytest.param(
        "endpoints-missing", ("shop.yaml",), "shop/web", id="endpoints-missing-slice-lists-every-pod"
    ),
    pytest.param(
        "endpoints-missing",
        ("readiness.yaml",),
        "shop/queue",
        id="endpoints-missing-not-ready-and-terminating-listed-not-ready",
    ),
    pytest.param(
        "endpoints-unexpected",
        ("shop.yaml",),
        "shop/web",
        id="endpoints-unexpected-slice-lists-only-selected-pods",
    ),
    pytest.param(
        "endpoints-unexpected",
        ("shop.yaml", "service-types.yaml"),
        "shop/legacy-db",
        id="endpoints-unexpected-selectorless-manual-slice",
    ),
    pytest.param(
        "endpoint-conditions-differ",
        ("shop.yaml",),
        "shop/web",
        id="endpoint-conditions-differ-ready-on-both-sides",
    ),
    pytest.param(
        "endpoint-conditions-differ",
        ("readiness.yaml",),
        "shop/queue",
        id="endpoint-conditions-differ-not-ready-on-both-sides",
    ),
    pytest.param(
        "target-port-unresolved",
        ("shop.yaml",),
        "shop/web",
        id="target-port-unresolved-every-pod-declares-the-name",
    ),
    pytest.param(
        "target-port-not-declared",
        ("shop.yaml", "service-types.yaml"),
        "shop/web-public",
        id="target-port-not-declared-every-pod-lists-the-number",
    ),
    pytest.param(
        "selectorless-no-endpoints",
        ("shop.yaml", "service-types.yaml"),
        "shop/legacy-db",
        id="selectorless-no-endpoints-manual-slice",
    ),
    pytest.param(
        "selectorless-no-endpoints",
        ("shop.yaml", "service-types.yaml"),
        "shop/payments-gateway",
        id="selectorless-no-endpoints-externalname",
    ),
    pytest.param(
        "nodeport-missing",
        ("shop.yaml", "service-types.yaml"),
        "shop/web-nodeport",
        id="nodeport-missing-node-port-allocated",
    ),
    pytest.param(
        "nodeport-missing",
        ("shop.yaml", LB_WITHOUT_NODE_PORTS),
        "shop/web-direct",
        id="nodeport-missing-allocate-load-balancer-node-ports-false",
    ),
    pytest.param(
        "loadbalancer-pending",
        ("shop.yaml", "service-types.yaml"),
        "shop/web-public",
        id="loadbalancer-pending-ingress-provisioned",
    ),
    pytest.param(
        "externalname-has-selector",
        ("shop.yaml", "service-types.yaml"),
        "shop/payments-gateway",
        id="externalname-has-selector-none",
    ),
    pytest.param(
        "externalname-ports-ignored",
        ("shop.yaml", "service-types.yaml"),
        "shop/payments-gateway",
        id="externalname-ports-ignored-no-target-port",
    ),
    pytest.param(
        "externalname-ports-ignored",
        (EXTERNALNAME_SAME_PORT,),
        "shop/mail",
        id="externalname-ports-ignored-same-target-port",
    ),
    pytest.param(
        "local-policy-nodes-without-endpoints",
        ("shop.yaml", "service-types.yaml"),
        "shop/web-public",
        id="local-policy-pod-on-every-node",
    ),
    pytest.param(
        "local-policy-nodes-without-endpoints",
        ("shop.yaml", "service-types.yaml"),
        "shop/web-nodeport",
        id="local-policy-cluster-policy",
    ),
    pytest.param(
        "internal-traffic-policy-local-no-endpoint",
        ("topology-healthy.yaml",),
        "edge/web-local",
        id="internal-local-pod-on-every-node",
    ),
    pytest.param(
        "internal-traffic-policy-local-no-endpoint",
        ("topology.yaml",),
        "edge/web-zonal",
        id="internal-cluster-policy",
    ),
    pytest.param(
        "traffic-distribution-zone-without-endpoints",
        ("topology-healthy.yaml",),
        "edge/web-zonal",
        id="distribution-endpoint-in-every-zone",
    ),
    pytest.param(
        "traffic-distribution-zone-without-endpoints",
        ("topology.yaml",),
        "edge/web-local",
        id="distribution-not-asked",
    ),
    pytest.param(
        "topology-hints-missing", ("topology-healthy.yaml",), "edge/web-zonal", id="hints-on-every-endpoint"
    ),
    pytest.param(
        "topology-hints-missing",
        ("topology.yaml",),
        "edge/web-zonal",
        id="hints-present-though-a-zone-is-empty",
    ),
    pytest.param(
        "session-affinity-behind-snat",
        ("topology-healthy.yaml",),
        "edge/web-sticky",
        id="affinity-with-local-external-policy",
    ),
    pytest.param(
        "orphan-endpointslice",
        ("shop.yaml", "service-types.yaml"),
        None,
        id="orphan-endpointslice-every-slice-has-its-service",
    ),
    pytest.param(
        "orphan-endpointslice",
        ("shop.yaml", UNLABELLED_SLICE),
        None,
        id="orphan-endpointslice-unlabelled-slice",
    ),
    pytest.param(
        "pod-subdomain-without-headless-service", (NAMING_HEALTHY,), None, id="subdomain-is-headless"
    ),
    pytest.param("statefulset-service-missing", (NAMING_HEALTHY,), None, id="statefulset-service-exists"),
    pytest.param(
        "statefulset-service-not-headless", (NAMING_HEALTHY,), None, id="statefulset-service-headless"
    ),
    pytest.param("externalname-is-ip", (NAMING_HEALTHY,), "data/legacy-db", id="externalname-is-a-name"),
    pytest.param(
        "ingress-backend-service-missing", (ROUTE_TO_EXISTING_PORT,), None, id="route-service-exists"
    ),
    pytest.param(
        "ingress-backend-port-missing", (ROUTE_TO_EXISTING_PORT,), "shop/api", id="route-port-defined"
    ),
    pytest.param(
        "ingress-backend-no-endpoints", ("reach.yaml",), "shop/api", id="route-service-has-endpoints"
    ),
    pytest.param(
        "ingress-backend-externalname", ("reach.yaml",), "shop/api", id="route-to-a-selector-service"
    ),
]


@pytest.mark.parametrize(("code", "sources", "service"), NEGATIVE)
def test_healthy_variant_yields_no_such_finding(
    code: str, sources: tuple[str, ...], service: str | None
) -> None:
    codes = [f.code for f in findings_of(inspect_manifests(*sources), service)]

    assert code not in codes


def test_every_catalogue_code_but_dns_has_a_negative_case() -> None:
    covered = {p.values[0] for p in NEGATIVE}

    # the active codes (`why`'s probe) are covered by tests/test_why.py; the DNS codes by
    # test_dnschecking; the client's NetworkPolicy ones (they need a client) by test_reach
    assert covered == {
        code
        for code, c in CATALOGUE.items()
        if not code.startswith(("dns-", "networkpolicy-")) and not c.active
    }


# ----------------------------------------------------------------------------- whole services


@pytest.mark.parametrize(
    "service",
    ["web", "web-nodeport", "web-public", "web-headless", "payments-gateway", "legacy-db"],
)
def test_healthy_service_of_every_type_has_no_finding(service: str) -> None:
    report = inspect_manifests("shop.yaml", "service-types.yaml")

    assert findings_of(report, f"shop/{service}") == ()
    assert report.cluster_findings == ()


def test_scaled_to_zero_deployment_makes_an_empty_selection_a_warning_not_an_error() -> None:
    report = inspect_manifests("shop.yaml", "selection.yaml")
    reports = report.service("shop", "reports")
    assert reports is not None

    assert [(f.code, f.severity) for f in reports.findings] == [("selector-matches-scaled-to-zero", WARNING)]
    assert reports.status == "warn"


def test_deployment_scaled_to_zero_with_other_labels_leaves_the_error() -> None:
    report = inspect_manifests(REPORTS_V2_SCALED_DOWN)

    assert [(f.code, f.severity) for f in findings_of(report, "shop/reports")] == [
        ("selector-matches-no-pods", ERROR)
    ]


def test_externalname_with_selector_gets_only_externalname_findings() -> None:
    report = inspect_manifests("shop.yaml", "misconfigured-types.yaml")

    assert [f.code for f in findings_of(report, "shop/payments")] == [
        "externalname-has-selector",
        "externalname-ports-ignored",
    ]


def test_terminating_pods_listed_serving_and_terminating_raise_nothing() -> None:
    report = inspect_manifests("shop.yaml", "readiness.yaml")

    # only the pods still starting (not ready, not terminating) are said to be not ready
    for service in ("shop/queue", "shop/queue-peers"):
        assert [(f.code, f.details["pod"]) for f in findings_of(report, service)] == [
            ("pod-not-ready", "queue-starting"),
            ("pod-not-ready", "queue-unscheduled"),
        ]


def test_pending_load_balancer_without_node_ports_says_there_is_no_fallback() -> None:
    pending = LB_WITHOUT_NODE_PORTS.replace("    ingress: [{ip: 203.0.113.20}]", "    ingress: []")
    report = inspect_manifests("shop.yaml", pending)

    assert [
        f.message for f in findings_of(report, "shop/web-direct") if f.code == "loadbalancer-pending"
    ] == [
        "no load balancer has been provisioned (ingress pending): the Service is reachable only inside "
        "the cluster (no node ports are allocated, so there is no NodePort fallback)"
    ]


def test_slice_naming_a_service_of_another_namespace_is_an_orphan() -> None:
    moved = """
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-zz9zz
  namespace: staging
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints: []
"""
    report = inspect_manifests("shop.yaml", moved)

    assert [dict(f.details) for f in report.cluster_findings] == [
        {"slice": "staging/web-zz9zz", "service": "staging/web"}
    ]


def test_pods_missing_the_same_label_are_named_together_as_closest() -> None:
    web_v2 = """
apiVersion: v1
kind: Service
metadata: {name: web-v2, namespace: shop}
spec:
  selector: {app: web, version: v2}
  ports: [{name: http, port: 80, targetPort: http}]
"""
    report = inspect_manifests("shop.yaml", web_v2)

    assert [f.message for f in findings_of(report, "shop/web-v2")] == [
        "selector app=web,version=v2 matches no pod in namespace shop: traffic to this Service has nowhere "
        "to go; closest: pods web-7d9f8-a1, web-7d9f8-b2: missing label version=v2"
    ]


DUAL_STACK = """
apiVersion: v1
kind: Pod
metadata: {name: api-0, namespace: net, labels: {app: api}}
spec:
  nodeName: node-a
  containers: [{name: api, image: "api:1", ports: [{name: http, containerPort: 8080}]}]
status:
  phase: Running
  podIP: 10.244.1.9
  podIPs: [{ip: 10.244.1.9}, {ip: "fd00:10:244:1::9"}]
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: net}
spec:
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv4, IPv6]
  clusterIP: 10.96.7.7
  clusterIPs: [10.96.7.7, "fd00:96::7"]
  selector: {app: api}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: api-v4abc
  namespace: net
  labels: {kubernetes.io/service-name: api, endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
  - addresses: [10.244.1.9]
    conditions: {ready: true, serving: true, terminating: false}
    nodeName: node-a
    targetRef: {kind: Pod, namespace: net, name: api-0}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: api-v6def
  namespace: net
  labels: {kubernetes.io/service-name: api, endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io}
addressType: IPv6
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
  - addresses: ["fd00:10:244:1::9"]
    conditions: {ready: true, serving: true, terminating: false}
    nodeName: node-a
    targetRef: {kind: Pod, namespace: net, name: api-0}
"""


def test_dual_stack_service_with_one_slice_per_family_has_no_finding() -> None:
    report = inspect_manifests(DUAL_STACK)
    sr = report.service("net", "api")
    assert sr is not None

    assert [e.address for e in sr.expected] == ["10.244.1.9:8080", "[fd00:10:244:1::9]:8080"]
    assert [e.address for e in sr.actual] == ["10.244.1.9:8080", "[fd00:10:244:1::9]:8080"]
    assert sr.findings == ()


def test_dual_stack_service_missing_its_ipv6_slice_misses_the_ipv6_endpoint() -> None:
    report = inspect_manifests(DUAL_STACK.rsplit("---", 1)[0])

    assert [(f.code, dict(f.details)["count"]) for f in findings_of(report, "net/api")] == [
        ("endpoints-missing", 1)
    ]


def test_the_finding_codes_mypy_checks_are_exactly_the_catalogues() -> None:
    from inspector.model.findings import FINDING_CODES

    assert list(FINDING_CODES) == list(CATALOGUE)
