"""What the Corefile's kubernetes plugin serves: its zones, its pods mode, and the dns-corefile findings."""

from __future__ import annotations

from inspector.dns.corefile import KubernetesPlugin, corefile_findings, kubernetes_plugin

KUBEADM = """
.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
}
"""


def test_kubeadm_corefile_serves_the_domain_and_both_reverse_zones_with_insecure_pods() -> None:
    assert kubernetes_plugin(KUBEADM) == KubernetesPlugin(
        ("cluster.local", "in-addr.arpa", "ip6.arpa"), "insecure"
    )
    assert corefile_findings(KUBEADM, "cluster.local") == []


def test_pods_mode_defaults_to_disabled_and_reads_verified() -> None:
    assert kubernetes_plugin(KUBEADM.replace("pods insecure", "")).pods == "disabled"  # type: ignore[union-attr]
    assert kubernetes_plugin(KUBEADM.replace("insecure", "verified")).pods == "verified"  # type: ignore[union-attr]


def test_commented_pods_line_is_not_read() -> None:
    assert kubernetes_plugin(KUBEADM.replace("pods insecure", "# pods insecure")).pods == "disabled"  # type: ignore[union-attr]


def test_plugin_without_zones_serves_its_server_blocks_zone() -> None:
    plugin = kubernetes_plugin("cluster.local:53 {\n    kubernetes\n}\n")
    assert plugin == KubernetesPlugin(("cluster.local",), "disabled")
    assert plugin.serves("cluster.local") and not plugin.serves("in-addr.arpa")
    root = kubernetes_plugin(".:53 {\n    kubernetes {\n        pods verified\n    }\n}\n")
    assert root == KubernetesPlugin((".",), "verified")
    assert root.serves("ip6.arpa")


def test_reverse_zones_left_out_are_warnings_with_their_effect() -> None:
    corefile = KUBEADM.replace("kubernetes cluster.local in-addr.arpa ip6.arpa", "kubernetes cluster.local")
    found = corefile_findings(corefile, "cluster.local")
    assert [(f.code, f.severity.value, f.details["zone"]) for f in found] == [
        ("dns-corefile-zone-not-served", "warning", "in-addr.arpa"),
        ("dns-corefile-zone-not-served", "warning", "ip6.arpa"),
    ]
    assert found[0].message == (
        "the Corefile's kubernetes plugin does not serve in-addr.arpa (its zones are cluster.local): reverse "
        "lookups of IPv4 cluster IPs and endpoints (PTR) are not answered by the API"
    )


def test_corefile_without_the_plugin_serves_no_cluster_name() -> None:
    found = corefile_findings(".:53 {\n    forward . 10.88.0.1\n}\n", "corp.example")
    assert [f.details["zone"] for f in found] == ["corp.example", "in-addr.arpa", "ip6.arpa"]
    assert found[0].message == (
        "the Corefile's kubernetes plugin does not serve corp.example (the Corefile has no kubernetes "
        "plugin): no Service or pod name of the cluster resolves"
    )


def test_plugin_for_another_domain_leaves_the_cluster_domain_unserved() -> None:
    found = corefile_findings(KUBEADM, "corp.example")
    assert [f.details["zone"] for f in found] == ["corp.example"]
