"""Smoke tests proving the cluster under test is real: scheduler, kwok kubelets, the endpoint
controllers and CoreDNS all do their jobs. They talk to the API with kubectl and to DNS with dnspython
(the inspector is not involved)."""

from __future__ import annotations

import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from e2e.harness import WEB_SVC, Cluster, apply, deploy_web, ready_pod_ips, slice_addresses, wait_until


def query(cluster: Cluster, name: str, rdtype: str) -> dns.message.Message:
    if not cluster.dns_server:
        pytest.skip("no INSPECTOR_DNS_SERVER for this cluster")
    host, _, port = cluster.dns_server.partition(":")
    return dns.query.udp(dns.message.make_query(name, rdtype), host, port=int(port or 53), timeout=2)


def answers(cluster: Cluster, name: str, rdtype: str) -> list[str]:
    resp = query(cluster, name, rdtype)
    want = dns.rdatatype.from_text(rdtype)
    return sorted(r.to_text() for rrset in resp.answer if rrset.rdtype == want for r in rrset)


def test_deployment_of_three_gets_three_running_ready_pods_with_distinct_ips(
    cluster: Cluster, namespace: str
):
    ips = deploy_web(cluster, namespace)
    pods = cluster.get_json("pods", "-n", namespace, "-l", "app=web")["items"]
    assert [p["status"]["phase"] for p in pods] == ["Running"] * 3
    assert len(set(ips)) == 3
    assert all(p["spec"].get("nodeName") for p in pods), "every pod is scheduled to a node"


def test_clusterip_service_with_named_target_port_gets_slices_of_exactly_its_pods(
    cluster: Cluster, namespace: str
):
    ips = deploy_web(cluster, namespace)
    apply(cluster, namespace, WEB_SVC)
    expected = sorted((ip, 5000, True) for ip in ips)
    wait_until(
        lambda: slice_addresses(cluster, namespace, "web-svc") == expected, what="3 endpoints on port 5000"
    )

    cluster.kubectl("scale", "-n", namespace, "deployment/web", "--replicas=1")
    remaining = wait_until(
        lambda: len(ips := ready_pod_ips(cluster, namespace, "app=web")) == 1 and ips, what="one ready pod"
    )
    wait_until(
        lambda: slice_addresses(cluster, namespace, "web-svc") == [(remaining[0], 5000, True)],
        what="exactly 1 endpoint after scaling to 1",
    )


def test_nodeport_service_gets_a_node_port_in_the_default_range(cluster: Cluster, namespace: str):
    apply(cluster, namespace, WEB_SVC.replace("name: web-svc", "name: web-np") + "  type: NodePort\n")
    svc = cluster.get_json("service", "-n", namespace, "web-np")
    assert 30000 <= svc["spec"]["ports"][0]["nodePort"] <= 32767


def test_loadbalancer_service_stays_without_ingress(cluster: Cluster, namespace: str):
    apply(cluster, namespace, WEB_SVC.replace("name: web-svc", "name: web-lb") + "  type: LoadBalancer\n")
    time.sleep(3)  # no cloud provider: nothing will ever fill the ingress
    svc = cluster.get_json("service", "-n", namespace, "web-lb")
    assert svc["status"].get("loadBalancer", {}).get("ingress") is None
    assert 30000 <= svc["spec"]["ports"][0]["nodePort"] <= 32767


def test_coredns_answers_a_clusterip_service_fqdn_with_its_cluster_ip(cluster: Cluster, namespace: str):
    apply(cluster, namespace, WEB_SVC)
    cluster_ip = cluster.get_json("service", "-n", namespace, "web-svc")["spec"]["clusterIP"]
    fqdn = f"web-svc.{namespace}.svc.cluster.local."
    wait_until(lambda: answers(cluster, fqdn, "A") == [cluster_ip], what=f"A {fqdn} = {cluster_ip}")


def test_coredns_answers_a_headless_service_with_the_ready_pod_ips_and_follows_a_scale_down(
    cluster: Cluster, namespace: str
):
    ips = deploy_web(cluster, namespace)
    apply(
        cluster,
        namespace,
        WEB_SVC.replace("name: web-svc", "name: web-headless") + "  clusterIP: None\n",
    )
    fqdn = f"web-headless.{namespace}.svc.cluster.local."
    wait_until(lambda: answers(cluster, fqdn, "A") == ips, what=f"A {fqdn} = the 3 pod IPs")

    cluster.kubectl("scale", "-n", namespace, "deployment/web", "--replicas=1")
    wait_until(
        lambda: len(a := answers(cluster, fqdn, "A")) == 1 and a[0] in ips, what="1 pod IP after scaling"
    )


def test_coredns_answers_an_externalname_service_with_a_cname(cluster: Cluster, namespace: str):
    apply(
        cluster,
        namespace,
        """
apiVersion: v1
kind: Service
metadata:
  name: example-prod
spec:
  type: ExternalName
  externalName: example.com
""",
    )
    fqdn = f"example-prod.{namespace}.svc.cluster.local."
    wait_until(
        lambda: answers(cluster, fqdn, "CNAME") == ["example.com."], what=f"CNAME {fqdn} = example.com."
    )


def test_coredns_answers_the_srv_record_of_a_named_port(cluster: Cluster, namespace: str):
    deploy_web(cluster, namespace)
    apply(cluster, namespace, WEB_SVC)
    srv = f"_http._tcp.web-svc.{namespace}.svc.cluster.local."
    target = f"web-svc.{namespace}.svc.cluster.local."
    got = wait_until(lambda: answers(cluster, srv, "SRV"), what=f"SRV {srv}")
    assert len(got) == 1
    _priority, _weight, port, host = got[0].split()
    assert (int(port), host) == (3000, target)
