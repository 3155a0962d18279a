"""Who may reach a Service (NetworkPolicy verdicts per ready endpoint, DNS egress included) and the
routes that lead to it, on the manifests of tests/manifests/reach.yaml."""

from __future__ import annotations

import pytest

from inspector.diagnosis.policyverdicts import PolicyClient
from inspector.diagnosis.reach import client_findings, reachability
from inspector.diagnosis.report import inspect_snapshot
from inspector.model import netpol
from inspector.model.snapshot import Route, RouteBackend, Service, Snapshot
from inspector.output.reachviews import reach_json
from tests.conftest import snapshot_of


@pytest.fixture(scope="module")
def shop() -> Snapshot:
    return snapshot_of("reach.yaml")


def api(snapshot: Snapshot) -> Service:
    svc = snapshot.service("shop", "api")
    assert svc is not None
    return svc


def test_the_snapshot_holds_policies_namespace_labels_and_routes(shop: Snapshot) -> None:
    assert sorted(str(p.ref) for p in shop.network_policies) == [
        "shop/allow-web",
        "shop/default-deny",
        "shop/for-nothing",
        "test-ns/deny-egress",
    ]
    assert dict(shop.namespace_labels["frontend"]) == {
        "kubernetes.io/metadata.name": "frontend",
        "team": "web",
    }
    assert [(r.kind, r.key) for r in shop.routes] == [("Ingress", "shop/shop"), ("HTTPRoute", "shop/partner")]
    ingress = shop.routes[0]
    assert ingress.backends == (
        RouteBackend("shop", "api", "web", "default backend"),
        RouteBackend("shop", "api", 80, "shop.example/"),
        RouteBackend("shop", "gone", 80, "shop.example/old"),
        RouteBackend("shop", "api", "admin", "shop.example/admin"),
        RouteBackend("shop", "idle", 80, "shop.example/idle"),
    )
    # the non-Service backendRef (kind Bucket) is left out
    assert shop.routes[1] == Route(
        "HTTPRoute",
        "shop",
        "partner",
        (RouteBackend("shop", "partner", 443, "rule 1"), RouteBackend("shop", "api", 81, "rule 2")),
    )


def test_a_namespace_the_policy_admits_reaches_every_endpoint_on_the_named_port(shop: Snapshot) -> None:
    reach = reachability(shop, api(shop), PolicyClient.in_namespace("frontend"))

    assert reach.reachable
    assert [(e.endpoint.pod, e.ingress.message) for e in reach.endpoints] == [
        ("api-1", "allowed: rule 1 of policy shop/allow-web admits namespace frontend on port 8080/TCP"),
        ("api-2", "allowed: rule 1 of policy shop/allow-web admits namespace frontend on port 8080/TCP"),
    ]
    assert reach.endpoints[0].ingress.selecting == (
        netpol.PolicyRef("shop", "allow-web"),
        netpol.PolicyRef("shop", "default-deny"),
    )
    assert reach.dns is not None
    assert (
        reach.dns.message
        == "allowed: no policy selects pods in namespace frontend for egress (allowed by default)"
    )


def test_a_namespace_no_rule_admits_is_denied_and_its_own_egress_denial_names_its_policy(
    shop: Snapshot,
) -> None:
    reach = reachability(shop, api(shop), PolicyClient.in_namespace("test-ns"))

    assert not reach.reachable
    assert reach.client_policies == (netpol.PolicyRef("test-ns", "deny-egress"),)
    assert [(e.ingress.message, e.egress.message) for e in reach.endpoints] == [
        (
            "denied: no rule of policies shop/allow-web, shop/default-deny admits namespace test-ns",
            "denied: no rule of policy test-ns/deny-egress admits pod shop/api-1",
        ),
        (
            "denied: no rule of policies shop/allow-web, shop/default-deny admits namespace test-ns",
            "denied: no rule of policy test-ns/deny-egress admits pod shop/api-2",
        ),
    ]
    assert reach.dns is not None and not reach.dns.allowed
    assert reach_json(reach)["reachable"] is False


def test_a_pod_client_carries_its_labels_and_ip(shop: Snapshot) -> None:
    web = next(p for p in shop.pods if p.name == "web-1")

    reach = reachability(shop, api(shop), PolicyClient.of_pod(web))

    assert reach.client.describe() == "pod frontend/web-1"
    assert reach.endpoints[0].ingress.message == (
        "allowed: rule 1 of policy shop/allow-web admits pod frontend/web-1 on port 8080/TCP"
    )


def test_a_service_without_ready_endpoints_is_not_reachable(shop: Snapshot) -> None:
    idle = shop.service("shop", "idle")
    assert idle is not None
    reach = reachability(shop, idle, PolicyClient.in_namespace("frontend"))
    assert reach.endpoints == () and not reach.reachable


def test_diff_from_a_namespace_adds_the_policy_findings(shop: Snapshot) -> None:
    by_service, cluster = client_findings(shop, shop.services, PolicyClient.in_namespace("test-ns"))

    assert {k: [f.message for f in v] for k, v in by_service.items()} == {
        "kube-system/kube-dns": [
            "NetworkPolicy drops traffic from namespace test-ns to 2 of 2 ready endpoint(s) (denied: no rule "
            "of policy test-ns/deny-egress admits pod kube-system/coredns-1): connections from there time out"
        ],
        "shop/api": [
            "NetworkPolicy drops traffic from namespace test-ns to 2 of 2 ready endpoint(s) (denied: no rule "
            "of policies shop/allow-web, shop/default-deny admits namespace test-ns): connections from there "
            "time out"
        ],
    }
    assert [(f.code, f.severity.value, f.message) for f in cluster] == [
        (
            "networkpolicy-denies-dns-egress",
            "error",
            "pods in namespace test-ns cannot reach kube-dns (denied: no rule of policy test-ns/deny-egress "
            "admits pod kube-system/coredns-1): names do not resolve there, so no Service is found by name",
        ),
        (
            "networkpolicy-selects-no-pods",
            "info",
            "NetworkPolicy shop/for-nothing selects no pod in namespace shop (podSelector app=retired): its "
            "rules apply to nothing",
        ),
    ]


def test_a_namespace_the_policies_admit_gets_no_policy_finding_but_the_unused_policy(shop: Snapshot) -> None:
    by_service, cluster = client_findings(shop, shop.services, PolicyClient.in_namespace("frontend"))
    assert by_service == {}
    assert [f.code for f in cluster] == ["networkpolicy-selects-no-pods"]


def test_route_backends_are_judged_from_both_sides(shop: Snapshot) -> None:
    report = inspect_snapshot(shop)

    assert [(b.route.key, b.backend.where, b.state) for b in report.routes] == [
        ("shop/partner", "rule 1", "externalname"),
        ("shop/partner", "rule 2", "port-missing"),
        ("shop/shop", "default backend", "ok"),
        ("shop/shop", "shop.example/", "ok"),
        ("shop/shop", "shop.example/old", "service-missing"),
        ("shop/shop", "shop.example/admin", "port-missing"),
        ("shop/shop", "shop.example/idle", "no-endpoints"),
    ]
    sr = report.service("shop", "api")
    assert sr is not None
    assert [(f.code, f.message) for f in sr.findings] == [
        (
            "ingress-backend-port-missing",
            "HTTPRoute shop/partner (rule 2) sends traffic to port 81 of Service shop/api, which defines "
            "ports 80 (web): those requests fail",
        ),
        (
            "ingress-backend-port-missing",
            "Ingress shop/shop (shop.example/admin) sends traffic to port admin of Service shop/api, which "
            "defines ports 80 (web): those requests fail",
        ),
    ]
    assert len(sr.routes) == 4
    assert [(f.code, f.message) for f in report.cluster_findings] == [
        (
            "ingress-backend-service-missing",
            "Ingress shop/shop (shop.example/old) sends traffic to Service shop/gone, which does not exist: "
            "those requests fail (503 or 500 from the proxy)",
        )
    ]
    idle = report.service("shop", "idle")
    assert idle is not None
    assert "ingress-backend-no-endpoints" in [f.code for f in idle.findings]
    partner = report.service("shop", "partner")
    assert partner is not None
    assert [f.code for f in partner.findings] == ["ingress-backend-externalname"]


def test_an_invalid_policy_in_a_manifest_is_left_out_with_a_note() -> None:
    snapshot = snapshot_of(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad, namespace: x}\n"
        "spec: {podSelector: {}, policyTypes: [Sideways]}\n"
    )
    assert snapshot.network_policies == ()
    assert snapshot.notes == (
        "left out: NetworkPolicy x/bad: spec.policyTypes[0]: 'Sideways' is not Ingress or Egress",
    )


def test_the_reach_table_names_the_policies_and_the_deciding_rules(shop: Snapshot) -> None:
    from inspector.output.reachviews import reach_text

    text = reach_text(reachability(shop, api(shop), PolicyClient.in_namespace("test-ns")))

    assert text.splitlines() == [
        "Service:  shop/api (ClusterIP 10.96.1.1)",
        "Client:   namespace test-ns",
        "Client's egress policies: test-ns/deny-egress",
        "",
        "ENDPOINT         POD     PORT           INGRESS-POLICIES                   VERDICT",
        "10.88.1.1:8080   api-1   web 8080/TCP   shop/allow-web,shop/default-deny   DENIED",
        "10.88.1.2:8080   api-2   web 8080/TCP   shop/allow-web,shop/default-deny   DENIED",
        "",
        "Why:",
        "  api-1 8080/TCP ingress: denied: no rule of policies shop/allow-web, shop/default-deny admits "
        "namespace test-ns",
        "  api-1 8080/TCP egress:  denied: no rule of policy test-ns/deny-egress admits pod shop/api-1",
        "  api-2 8080/TCP ingress: denied: no rule of policies shop/allow-web, shop/default-deny admits "
        "namespace test-ns",
        "  api-2 8080/TCP egress:  denied: no rule of policy test-ns/deny-egress admits pod shop/api-2",
        "",
        "DNS:      denied: no rule of policy test-ns/deny-egress admits pod kube-system/coredns-1",
        "Reachable: no",
    ]


def test_a_bare_ip_client_has_no_egress_policy_and_no_dns_verdict(shop: Snapshot) -> None:
    reach = reachability(shop, api(shop), PolicyClient.from_ip("10.88.9.9"))

    assert [(e.ingress.message, e.egress.message) for e in reach.endpoints] == [
        (
            "denied: no rule of policies shop/allow-web, shop/default-deny admits IP 10.88.9.9",
            "allowed: IP 10.88.9.9 is not a pod: no egress policy applies",
        )
    ] * 2
    assert reach.dns is None and not reach.reachable
