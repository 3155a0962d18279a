"""Unusual but valid objects, created through the real API server: the inspector reads them without
error and reaches the right verdict (tools we compete with crash on some of these)."""

from __future__ import annotations

import json
from typing import Any

from e2e.harness import AGNHOST, Cluster, apply, bare_web_pod, wait_until

PORTS = 40
CONTAINERS = 8


def diff(cluster: Cluster, namespace: str, *args: str) -> tuple[dict[str, Any], int]:
    res = cluster.inspect("diff", "-n", namespace, *args, "-o", "json")
    assert "Traceback" not in res.stderr and res.returncode in (0, 1), res.stderr
    return json.loads(res.stdout), res.returncode


def test_service_with_many_ports_over_pods_with_many_containers(cluster: Cluster, namespace: str):
    per = PORTS // CONTAINERS
    containers = "".join(
        f"""
        - name: c{c}
          image: registry.example/multi:1
          ports:"""
        + "".join(
            f"""
            - name: p{c * per + i}
              containerPort: {8000 + c * per + i}"""
            for i in range(per)
        )
        for c in range(CONTAINERS)
    )
    ports = "".join(
        f"""
    - name: p{i}
      port: {9000 + i}
      targetPort: p{i}"""
        for i in range(PORTS)
    )
    apply(
        cluster,
        namespace,
        f"""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: multi
spec:
  replicas: 2
  selector:
    matchLabels:
      app: multi
  template:
    metadata:
      labels:
        app: multi
    spec:
      # simulated (kwok): eight containers of an image that exists nowhere
      tolerations:
        - key: kwok.x-k8s.io/node
          operator: Exists
          effect: NoSchedule
      nodeSelector:
        type: kwok
      containers:{containers}
---
apiVersion: v1
kind: Service
metadata:
  name: multi
spec:
  selector:
    app: multi
  ports:{ports}
""",
    )

    def settled() -> dict[str, Any] | None:
        report, _ = diff(cluster, namespace, "multi")
        svc = report["services"][0]
        return svc if len(svc["actual"]) == 2 * PORTS and not svc["findings"] else None

    svc = wait_until(settled, what="80 endpoints (2 pods x 40 named ports), no findings")
    assert sorted({e["port"] for e in svc["expected"]}) == list(range(8000, 8000 + PORTS))
    assert svc["missing"] == [] and svc["unexpected"] == []


def test_sixty_three_character_names_and_unicode_annotations(cluster: Cluster, namespace: str):
    name = "s" * 63
    apply(
        cluster,
        namespace,
        f"""
apiVersion: v1
kind: Pod
metadata:
  name: {"p" * 63}
  labels:
    {"k" * 63}: {"v" * 63}
  annotations:
    description: "Zahlungsdienst — 支付服务 🚀"
spec:
  containers:
    - name: {"c" * 63}
      image: {AGNHOST}
      args: [netexec, --http-port=5000, --udp-port=-1]
      ports:
        - name: http
          containerPort: 5000
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  annotations:
    owner: "équipe paiements ✓"
spec:
  selector:
    {"k" * 63}: {"v" * 63}
  ports:
    - name: http
      port: 80
      targetPort: http
""",
    )
    # the endpoint once its pod is ready: listed before that (no IP yet, or not ready), it is rightly
    # a finding, and how soon a pod on a real node gets ready is the machine's business
    report = wait_until(
        lambda: (
            (r := diff(cluster, namespace, name)[0])
            and [e["ready"] for e in r["services"][0]["actual"]] == [True]
            and r
        ),
        what="one ready endpoint for the 63-character Service",
    )
    assert report["services"][0]["findings"] == []
    for command in (["services", name], ["endpoints", name], ["pods"], ["services", "-o", "wide"]):
        res = cluster.inspect(*command, "-n", namespace)
        assert res.returncode == 0 and "Traceback" not in res.stderr, (command, res.stderr)


def test_endpoints_without_target_ref_or_node_and_slices_without_endpoints(cluster: Cluster, namespace: str):
    apply(
        cluster,
        namespace,
        """
apiVersion: v1
kind: Service
metadata:
  name: external-db
spec:
  ports:
    - name: sql
      port: 5432
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: external-db-1
  labels:
    kubernetes.io/service-name: external-db
    endpointslice.kubernetes.io/managed-by: staff.example.com
addressType: IPv4
ports:
  - name: sql
    port: 5432
endpoints:
  - addresses: ["10.191.255.10"]
  - addresses: ["10.191.255.11"]
    conditions:
      ready: false
---
apiVersion: v1
kind: Service
metadata:
  name: empty-db
spec:
  ports:
    - name: sql
      port: 5432
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: empty-db-1
  labels:
    kubernetes.io/service-name: empty-db
    endpointslice.kubernetes.io/managed-by: staff.example.com
addressType: IPv4
ports: []
endpoints: []
""",
    )
    report, status = diff(cluster, namespace)
    by_name = {s["name"]: s for s in report["services"]}
    external = by_name["external-db"]
    assert external["findings"] == [] and status == 0
    assert sorted((e["ip"], e["ready"], e["pod"], e["node"]) for e in external["actual"]) == [
        ("10.191.255.10", True, None, None),
        ("10.191.255.11", False, None, None),
    ]
    assert [f["code"] for f in by_name["empty-db"]["findings"]] == ["selectorless-no-endpoints"]
    res = cluster.inspect("endpoints", "-n", namespace)
    assert res.returncode == 0 and "10.191.255.11:5432" in res.stdout and "manual" in res.stdout


def test_dual_stack_fields_on_a_single_stack_cluster(cluster: Cluster, namespace: str):
    apply(cluster, namespace, bare_web_pod("solo"))
    apply(
        cluster,
        namespace,
        """
apiVersion: v1
kind: Service
metadata:
  name: prefer-dual
spec:
  ipFamilyPolicy: PreferDualStack
  selector:
    app: web
  ports:
    - name: http
      port: 80
      targetPort: http
""",
    )
    svc = cluster.get_json("service", "prefer-dual", "-n", namespace)
    assert svc["spec"]["ipFamilies"] == ["IPv4"]  # the cluster is single-stack: one family granted
    report = wait_until(
        lambda: (r := diff(cluster, namespace)[0]) and r["services"][0]["actual"] and r,
        what="the endpoint of prefer-dual",
    )
    assert report["services"][0]["findings"] == []
    assert len(report["services"][0]["actual"]) == 1
