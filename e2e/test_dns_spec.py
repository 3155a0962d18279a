"""The rest of the DNS specification on the real cluster: the naming mistakes the API reveals, reverse
lookups, and every CoreDNS replica asked (one made to disagree, one made to answer nothing).

The replica tests add a second CoreDNS Deployment behind the kube-dns selector, with its own
ConfigMap, on the real node: they disturb the cluster DNS for others, so they are brief and restore
everything in a `finally`, waiting until kube-dns has only its own replicas again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from e2e.harness import AGNHOST, Cluster, apply, inspect_with_env, wait_until

DOMAIN = "cluster.local"
COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.15.0"


def no_pinned_server(cluster: Cluster, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    res = inspect_with_env(cluster, {"INSPECTOR_DNS_SERVER": None}, *args)
    assert "Traceback" not in res.stderr, res.stderr
    return res.returncode, json.loads(res.stdout) if res.stdout.strip() else {}


def test_subdomain_statefulset_and_externalname_mistakes_from_the_api(
    cluster: Cluster, namespace: str
) -> None:
    apply(
        cluster,
        namespace,
        """
apiVersion: v1
kind: Service
metadata: {name: api}
spec: {selector: {app: api}, ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {clusterIP: None, selector: {app: db}, ports: [{name: pg, port: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: legacy}
spec: {type: ExternalName, externalName: 192.0.2.10}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: cache}
spec:
  replicas: 0
  serviceName: cache
  selector: {matchLabels: {app: cache}}
  template: {metadata: {labels: {app: cache}}, spec: {containers: [{name: c, image: AGNHOST}]}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: api}
spec:
  replicas: 0
  serviceName: api
  selector: {matchLabels: {app: api}}
  template: {metadata: {labels: {app: api}}, spec: {containers: [{name: c, image: AGNHOST}]}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 0
  serviceName: db
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db}}, spec: {containers: [{name: c, image: AGNHOST}]}}
---
apiVersion: v1
kind: Pod
metadata: {name: worker, labels: {app: worker}}
spec:
  hostname: w0
  subdomain: workers
  tolerations: [{operator: Exists}]
  containers: [{name: c, image: AGNHOST, args: [pause]}]
""".replace("AGNHOST", AGNHOST),
    )
    res = cluster.inspect("diff", "-n", namespace, "-o", "json")
    data = json.loads(res.stdout)
    cluster_findings = sorted((f["code"], f["message"]) for f in data["findings"])
    assert cluster_findings == [
        (
            "pod-subdomain-without-headless-service",
            f"pod {namespace}/worker has subdomain 'workers', but no Service workers exists in namespace "
            f"{namespace}: its w0.workers record never exists",
        ),
        (
            "statefulset-service-missing",
            f"StatefulSet {namespace}/cache has serviceName 'cache', which names no Service in namespace "
            f"{namespace}: its pods get no stable DNS names",
        ),
        (
            "statefulset-service-not-headless",
            f"StatefulSet {namespace}/api has serviceName 'api', but that Service has a cluster IP: its pods "
            "get no stable per-pod DNS names (only a headless Service gives them)",
        ),
    ]
    legacy = next(s for s in data["services"] if s["name"] == "legacy")
    assert [f["code"] for f in legacy["findings"]] == ["externalname-is-ip"]
    # the real CoreDNS (v1.15) gives no CNAME for it at all: the name does not exist
    fqdn = f"legacy.{namespace}.svc.{DOMAIN}"
    res = cluster.inspect("resolve", fqdn + ".", "-n", namespace, "-t", "CNAME", "-o", "json")
    assert res.returncode == 1
    assert [a["rcode"] for a in json.loads(res.stdout)["attempts"]] == ["NXDOMAIN"]


def test_resolve_an_ip_is_a_reverse_lookup(cluster: Cluster, namespace: str) -> None:
    apply(
        cluster,
        namespace,
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n",
    )
    ip = cluster.get_json("service", "web", "-n", namespace)["spec"]["clusterIP"]
    res = cluster.inspect("resolve", ip, "-o", "json")
    data = json.loads(res.stdout)
    assert res.returncode == 0, res.stdout + res.stderr
    assert [(a["qtype"], a["answers"]) for a in data["attempts"]] == [
        ("PTR", [f"web.{namespace}.svc.{DOMAIN}."])
    ]
    assert data["match"] is True


# --------------------------------------------------------------------------- every replica


def _coredns(name: str, corefile: str) -> str:
    indented = "\n".join("    " + line for line in corefile.strip().splitlines())
    return f"""
apiVersion: v1
kind: ConfigMap
metadata: {{name: {name}, namespace: kube-system}}
data:
  Corefile: |
{indented}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: kube-system}}
spec:
  replicas: 1
  selector: {{matchLabels: {{k8s-app: kube-dns, e2e-replica: {name}}}}}
  template:
    metadata: {{labels: {{k8s-app: kube-dns, e2e-replica: {name}}}}}
    spec:
      serviceAccountName: coredns
      dnsPolicy: Default
      nodeSelector: {{type: real}}
      terminationGracePeriodSeconds: 1
      containers:
        - name: coredns
          image: {COREDNS_IMAGE}
          imagePullPolicy: IfNotPresent
          args: ["-conf", "/etc/coredns/Corefile"]
          volumeMounts: [{{name: config, mountPath: /etc/coredns, readOnly: true}}]
          ports:
            - {{name: dns, containerPort: 53, protocol: UDP}}
            - {{name: dns-tcp, containerPort: 53, protocol: TCP}}
          readinessProbe: {{httpGet: {{path: /ready, port: 8181}}, periodSeconds: 1}}
      volumes: [{{name: config, configMap: {{name: {name}}}}}]
"""


def _kube_dns_ready_pods(cluster: Cluster) -> set[str]:
    data = cluster.get_json(
        "endpointslices", "-n", "kube-system", "-l", "kubernetes.io/service-name=kube-dns"
    )
    return {
        e["targetRef"]["name"]
        for s in data["items"]
        for e in s.get("endpoints") or []
        if (e.get("conditions") or {}).get("ready") and e.get("targetRef")
    }


@pytest.fixture
def extra_replica(real_node: Cluster) -> Iterator[tuple[Cluster, str]]:
    """A name for a second CoreDNS Deployment; whatever the test adds under it is removed after."""
    name = f"coredns-e2e-{uuid.uuid4().hex[:5]}"
    try:
        yield real_node, name
    finally:
        real_node.kubectl(
            "delete",
            "-n",
            "kube-system",
            f"deployment/{name}",
            f"configmap/{name}",
            "--ignore-not-found",
            "--wait=false",
            check=False,
        )
        wait_until(
            lambda: not any(p.startswith(name) for p in _kube_dns_ready_pods(real_node)),
            what="kube-dns back to its own replicas",
        )


def _start(cluster: Cluster, name: str, corefile: str) -> str:
    cluster.kubectl("apply", "-f", "-", stdin=_coredns(name, corefile))
    return wait_until(
        lambda: next((p for p in _kube_dns_ready_pods(cluster) if p.startswith(name)), None),
        what=f"the {name} replica ready behind kube-dns",
        timeout=90,
    )


def test_a_replica_that_answers_one_name_differently_is_named(
    extra_replica: tuple[Cluster, str], namespace: str
) -> None:
    cluster, name = extra_replica
    apply(
        cluster,
        namespace,
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n",
    )
    fqdn = f"web.{namespace}.svc.{DOMAIN}"
    corefile = f"""
.:53 {{
    errors
    health
    ready
    hosts {{
        10.96.99.99 {fqdn}
        fallthrough
    }}
    kubernetes {DOMAIN} in-addr.arpa ip6.arpa {{
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 0
    }}
}}
"""
    pod = _start(cluster, name, corefile)
    code, data = no_pinned_server(cluster, "dns", "web", "-n", namespace, "-o", "json")
    assert code == 1
    assert len(data["replicas"]) == 3
    assert {r["pod"] for r in data["replicas"]} >= {f"kube-system/{pod}"}
    disagree = [f for f in data["services"][0]["findings"] if f["code"] == "dns-replicas-disagree"]
    assert [f["details"]["qname"] for f in disagree] == [f"{fqdn}."]
    said = {who.split(" ")[0]: what for who, what in disagree[0]["details"]["replicas"].items()}
    assert said.pop(f"kube-system/{pod}") == "10.96.99.99"
    ip = cluster.get_json("service", "web", "-n", namespace)["spec"]["clusterIP"]
    assert set(said.values()) == {ip}


def test_a_replica_that_answers_nothing_is_unreachable(
    extra_replica: tuple[Cluster, str], namespace: str
) -> None:
    cluster, name = extra_replica
    apply(
        cluster,
        namespace,
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n",
    )
    # ready (its ready plugin says so) but listening on 5353, not on the port kube-dns sends to
    corefile = f"""
.:5353 {{
    health
    ready
    kubernetes {DOMAIN} in-addr.arpa ip6.arpa
}}
"""
    pod = _start(cluster, name, corefile)
    code, data = no_pinned_server(cluster, "dns", "web", "-n", namespace, "-o", "json")
    assert code == 1
    (down,) = [f for f in data["cluster"]["findings"] if f["code"] == "dns-replica-unreachable"]
    assert down["details"]["pod"] == f"kube-system/{pod}"
    assert down["message"].startswith(f"DNS replica kube-system/{pod} (")
    # the others still answered, and the records were judged against one of them
    assert data["summary"]["records"] >= 2
    assert all(r["ok"] for s in data["services"] for r in s["records"])


def test_every_replica_through_its_own_port_forward_agrees(cluster: Cluster, namespace: str) -> None:
    apply(
        cluster,
        namespace,
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n",
    )
    res = inspect_with_env(
        cluster,
        {"INSPECTOR_DNS_SERVER": None, "INSPECTOR_DNS_VIA": "port-forward"},
        "dns",
        "-n",
        namespace,
        "-o",
        "json",
    )
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads(res.stdout)
    pods = cluster.get_json("pods", "-n", "kube-system", "-l", "k8s-app=kube-dns")["items"]
    ready = {f"kube-system/{p['metadata']['name']}" for p in pods if p["status"].get("podIP")}
    assert {r["pod"] for r in data["replicas"]} <= ready
    assert len(data["replicas"]) >= 2
    assert {r["via"] for r in data["replicas"]} == {"port-forward through the API server, DNS over TCP"}
    assert all(r["ready"] for r in data["replicas"])
    assert all(rec["ok"] for s in data["services"] for rec in s["records"])


def test_unknown_way_to_reach_the_replicas_is_one_line_and_exit_2(cluster: Cluster, namespace: str) -> None:
    res = inspect_with_env(
        cluster, {"INSPECTOR_DNS_SERVER": None, "INSPECTOR_DNS_VIA": "carrier-pigeon"}, "dns", "-n", namespace
    )
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "error: invalid INSPECTOR_DNS_VIA 'carrier-pigeon': use one of auto, direct, port-forward"
    ]
