"""Ingress backends on a real cluster: every Service backend judged, from both sides.

The API server serves networking.k8s.io/v1 Ingresses whether or not a controller runs; the Gateway
API's CRDs are not installed on the local cluster, so HTTPRoutes and GRPCRoutes are simply absent:
no error, no note.
"""

from __future__ import annotations

import json

from e2e.harness import WEB_SVC, Cluster, apply, deploy_web, wait_until

ROUTES = """
apiVersion: v1
kind: Service
metadata: {name: idle}
spec:
  selector: {app: idle}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: partner}
spec:
  type: ExternalName
  externalName: partner.example.com
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  defaultBackend: {service: {name: web-svc, port: {name: http}}}
  rules:
    - host: shop.example
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: web-svc, port: {number: 3000}}}}
          - {path: /old, pathType: Prefix, backend: {service: {name: gone, port: {number: 80}}}}
          - {path: /admin, pathType: Prefix, backend: {service: {name: web-svc, port: {number: 81}}}}
          - {path: /idle, pathType: Prefix, backend: {service: {name: idle, port: {number: 80}}}}
          - {path: /partner, pathType: Prefix, backend: {service: {name: partner, port: {number: 443}}}}
"""


def test_ingress_backends_are_judged_and_shown_from_both_sides(cluster: Cluster, namespace: str) -> None:
    deploy_web(cluster, namespace, replicas=1)
    apply(cluster, namespace, WEB_SVC)
    apply(cluster, namespace, ROUTES)

    def diff() -> dict[str, object] | None:
        res = cluster.inspect("diff", "-n", namespace, "-o", "json")
        assert "Traceback" not in res.stderr, res.stderr
        data: dict[str, object] = json.loads(res.stdout)
        routes = data.get("routes")
        # wait until the web pod's endpoint is in the slices, so the ok backends read ok
        return data if isinstance(routes, list) and routes and routes[0]["state"] == "ok" else None

    data = wait_until(diff, what="web-svc's endpoint and the Ingress in the report")
    states = [(r["where"], r["service"].split("/")[1], r["state"]) for r in data["routes"]]
    assert states == [
        ("default backend", "web-svc", "ok"),
        ("shop.example/", "web-svc", "ok"),
        ("shop.example/old", "gone", "service-missing"),
        ("shop.example/admin", "web-svc", "port-missing"),
        ("shop.example/idle", "idle", "no-endpoints"),
        ("shop.example/partner", "partner", "externalname"),
    ]
    assert [f["code"] for f in data["findings"]] == ["ingress-backend-service-missing"]
    by_name = {s["name"]: s for s in data["services"]}
    assert [f["code"] for f in by_name["web-svc"]["findings"]] == ["ingress-backend-port-missing"]
    assert by_name["web-svc"]["findings"][0]["message"] == (
        f"Ingress {namespace}/shop (shop.example/admin) sends traffic to port 81 of Service "
        f"{namespace}/web-svc, which defines ports 3000 (http): those requests fail"
    )
    assert "ingress-backend-no-endpoints" in [f["code"] for f in by_name["idle"]["findings"]]
    assert [f["code"] for f in by_name["partner"]["findings"]] == ["ingress-backend-externalname"]
    # no Gateway API here: its kinds are not served, which is neither an error nor a note
    assert not any("routes" in n for n in data.get("notes", [])), data.get("notes")

    detail = cluster.inspect("services", "web-svc", "-n", namespace)
    assert detail.returncode == 1, detail.stderr  # the port-missing backend is an error
    lines = detail.stdout.splitlines()
    start = lines.index("Routes leading here:")
    assert [line.split() for line in lines[start + 1 : start + 5]] == [
        ["KIND", "ROUTE", "RULE", "PORT", "STATE"],
        ["Ingress", f"{namespace}/shop", "default", "backend", "http", "ok"],
        ["Ingress", f"{namespace}/shop", "shop.example/", "3000", "ok"],
        ["Ingress", f"{namespace}/shop", "shop.example/admin", "81", "port-missing"],
    ]
