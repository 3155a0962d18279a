"""`reach` against a real enforcer: every static verdict equals what a real TCP connect observes.

On the local cluster's real node, kube-router's network-policy controller (iptables + ipset)
enforces NetworkPolicies. One scenario is built for the module: a server namespace with a pod
listening on 8080 (named `http`) and 8081 (named `admin`), five client pods in four namespaces, and
policies in the style of the upstream suite (test/e2e/network/netpol): default deny, allow from a
namespace by label on a named port, allow from a pod selector within the namespace on an endPort
range, an ipBlock with `except`, and an egress deny (DNS included) with one egress exception. For
every (client, endpoint, port) cell, `reach -o json` gives the static verdict; the client pod then
connects for real (agnhost connect, 2 s timeout), polled until it agrees (policies are programmed a
moment after they are created), bounded: a cell that never agrees fails the test. DNS likewise:
the client's `reach` DNS verdict against a real lookup through kube-dns, UDP and TCP.

Traffic goes only to pod IPs (the cluster's pod range) from pods on this machine. The namespaces are ours,
labelled by us, and deleted afterwards; policies live in them only.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from e2e.harness import (
    AGNHOST,
    LOCAL_STATE,
    Cluster,
    apply,
    client_pod,
    fresh_namespace,
    unavailable,
    wait_pod_ready,
    wait_until,
)

PORTS = (8080, 8081)


def enforcer_running(cluster: Cluster) -> bool:
    """kube-router's controllers, one per real node: on the local cluster, every pid file names a
    live process; on make e2e-kind's cluster, its DaemonSet (e2e/manifests/kind-kube-router.yaml) is
    ready on every node."""
    if cluster.kind:
        ds = json.loads(
            cluster.kubectl("get", "daemonset", "kube-router", "-n", "kube-system", "-o", "json", check=False)
            or "{}"
        )
        status = ds.get("status") or {}
        return bool(status.get("desiredNumberScheduled")) and status.get("numberReady") == status.get(
            "desiredNumberScheduled"
        )
    pid_files = list((LOCAL_STATE / "pids").glob("kube-router@*.pid"))
    try:
        for pid_file in pid_files:
            os.kill(int(pid_file.read_text().split()[0]), 0)
    except (OSError, ValueError, IndexError):
        return False
    return bool(pid_files)


def server_pod() -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata:
  name: api
  labels: {{app: api}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: http
      image: {AGNHOST}
      args: [netexec, --http-port=8080, --udp-port=-1]
      ports: [{{name: http, containerPort: 8080}}]
    - name: admin
      image: {AGNHOST}
      args: [netexec, --http-port=8081, --udp-port=-1]
      ports: [{{name: admin, containerPort: 8081}}]
---
apiVersion: v1
kind: Service
metadata: {{name: api}}
spec:
  selector: {{app: api}}
  ports:
    - {{name: http, port: 80, targetPort: http}}
    - {{name: admin, port: 81, targetPort: admin}}
"""


def labelled_client(name: str, role: str) -> str:
    return client_pod(name).replace("role: client", f"role: {role}")


@dataclass(frozen=True)
class Scenario:
    server: str  # namespace
    server_ip: str
    clients: dict[str, str]  # "namespace/pod" -> pod IP


def pod_ip(cluster: Cluster, namespace: str, pod: str) -> str:
    return str(cluster.get_json("pod", "-n", namespace, pod)["status"]["podIP"])


@pytest.fixture(scope="module")
def scenario(cluster: Cluster) -> Iterator[Scenario]:
    if not cluster.real_pods or not enforcer_running(cluster):
        reason = "no NetworkPolicy enforcer (kube-router) on the local cluster's real node"
        unavailable(reason)
    tag = uuid.uuid4().hex[:5]
    names = [f"e2e-reach-{role}-{tag}" for role in ("srv", "web", "other", "egress")]
    gens = [fresh_namespace(cluster, n) for n in names]
    srv, web, other, egress = (next(g) for g in gens)
    try:
        # the namespaces are ours: label them for the namespaceSelector
        cluster.kubectl("label", "namespace", web, "team=web")
        cluster.kubectl("label", "namespace", egress, "team=web")
        apply(cluster, srv, server_pod())
        apply(cluster, srv, labelled_client("friend", "friend"))
        apply(cluster, srv, labelled_client("stranger", "stranger"))
        apply(cluster, web, client_pod("client"))
        apply(cluster, other, client_pod("client"))
        apply(cluster, egress, client_pod("client"))
        pods = [(srv, "api"), (srv, "friend"), (srv, "stranger"), (web, "client"), (other, "client")]
        pods.append((egress, "client"))
        for ns, pod in pods:
            wait_pod_ready(cluster, ns, pod, timeout=120)
        ips = {f"{ns}/{pod}": pod_ip(cluster, ns, pod) for ns, pod in pods}
        apply(cluster, srv, policies(ips[f"{web}/client"], ips[f"{srv}/stranger"], cluster.pod_cidr))
        apply(cluster, egress, egress_policy(srv))
        clients = {k: v for k, v in ips.items() if k != f"{srv}/api"}
        yield Scenario(srv, ips[f"{srv}/api"], clients)
    finally:
        for g in gens:
            next(g, None)


def policies(web_ip: str, stranger_ip: str, pod_cidr: str) -> str:
    return f"""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: default-deny}}
spec:
  podSelector: {{}}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: allow-web-namespaces}}
spec:
  podSelector: {{matchLabels: {{app: api}}}}
  ingress:
    - from: [{{namespaceSelector: {{matchLabels: {{team: web}}}}}}]
      ports: [{{port: http}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: allow-friends}}
spec:
  podSelector: {{matchLabels: {{app: api}}}}
  ingress:
    - from: [{{podSelector: {{matchLabels: {{role: friend}}}}}}]
      ports: [{{port: 8081, endPort: 8090}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: allow-pod-network}}
spec:
  podSelector: {{matchLabels: {{app: api}}}}
  ingress:
    - from: [{{ipBlock: {{cidr: {pod_cidr}, except: [{web_ip}/32, {stranger_ip}/32]}}}}]
      ports: [{{port: 8081}}]
"""


def egress_policy(server_namespace: str) -> str:
    return f"""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: deny-egress-but-api-http}}
spec:
  podSelector: {{}}
  policyTypes: [Egress]
  egress:
    - to:
        - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {server_namespace}}}}}
          podSelector: {{matchLabels: {{app: api}}}}
      ports: [{{port: 8080}}]
"""


def reach(cluster: Cluster, scenario: Scenario, client: str) -> dict[str, object]:
    res = cluster.inspect("reach", "api", "-n", scenario.server, "--from-pod", client, "-o", "json")
    assert res.returncode in (0, 1) and "Traceback" not in res.stderr, res.stderr
    data: dict[str, object] = json.loads(res.stdout)
    assert data["reachable"] is (res.returncode == 0)
    return data


def connects(cluster: Cluster, client: str, ip: str, port: int) -> bool:
    namespace, pod = client.split("/")
    return cluster.exec_ok(namespace, pod, "/agnhost", "connect", f"{ip}:{port}", "--timeout=2s")


def resolves(cluster: Cluster, client: str) -> bool:
    """A lookup through the pod's own resolver (kube-dns on 53/UDP, as a pod asks)."""
    namespace, pod = client.split("/")
    return cluster.exec_ok(
        namespace, pod, "timeout", "5", "nslookup", "-timeout=2", "kubernetes.default.svc.cluster.local"
    )


def test_every_static_verdict_equals_a_real_connect(cluster: Cluster, scenario: Scenario) -> None:
    cells = []
    for client in scenario.clients:
        data = reach(cluster, scenario, client)
        endpoints = data["endpoints"]
        assert isinstance(endpoints, list)
        by_port = {e["port"]: e for e in endpoints}
        assert sorted(by_port) == list(PORTS), endpoints
        for port in PORTS:
            cells.append((client, port, bool(by_port[port]["allowed"]), by_port[port]))
    # the matrix is not one-sided: it holds allowed and denied cells, for ingress and for egress
    assert {allowed for *_, allowed, _ in cells} == {True, False}
    assert any(not e["egress"]["allowed"] for *_, e in cells)

    for client, port, allowed, entry in cells:
        wait_until(
            lambda c=client, p=port, a=allowed: connects(cluster, c, scenario.server_ip, p) is a,
            what=f"{client} -> {scenario.server_ip}:{port} to be {'allowed' if allowed else 'denied'} as "
            f"reach says ({entry['ingress']['message']}; {entry['egress']['message']})",
            timeout=45,
            interval=1,
        )


def test_the_expected_cells_of_the_matrix(cluster: Cluster, scenario: Scenario) -> None:
    """The scenario's verdicts, written out, so that a change in reasoning shows here first."""
    srv = scenario.server
    verdicts = {}
    for client in scenario.clients:
        data = reach(cluster, scenario, client)
        endpoints = data["endpoints"]
        assert isinstance(endpoints, list)
        verdicts[client.split("/")[1] if client.startswith(srv) else client.split("-")[2]] = {
            e["port"]: e["allowed"] for e in endpoints
        }
    assert verdicts == {
        "friend": {8080: False, 8081: True},  # endPort range from a pod selector
        "stranger": {8080: False, 8081: False},  # in ipBlock's except
        "web": {8080: True, 8081: False},  # named port http from team=web; 8081: in except
        "other": {8080: False, 8081: True},  # ipBlock: the pod range (10.88.0.0/16 on the local cluster)
        "egress": {8080: True, 8081: False},  # its own egress admits only 8080
    }


def test_dns_egress_verdicts_equal_a_real_lookup(cluster: Cluster, scenario: Scenario) -> None:
    verdicts = {}
    for client in scenario.clients:
        dns = reach(cluster, scenario, client)["dns"]
        assert isinstance(dns, dict)
        verdicts[client] = bool(dns["allowed"])
    assert sorted(verdicts.values()) == [False, True, True, True, True]  # only the egress namespace
    for client, allowed in verdicts.items():
        wait_until(
            lambda c=client, a=allowed: resolves(cluster, c) is a,
            what=f"{client}'s DNS lookup to {'succeed' if allowed else 'fail'} as reach says",
            timeout=45,
            interval=1,
        )


def test_reach_exits_1_and_names_the_deciding_policy_for_a_denied_client(
    cluster: Cluster, scenario: Scenario
) -> None:
    client = next(c for c in scenario.clients if c.endswith("/stranger"))
    res = cluster.inspect("reach", "api", "-n", scenario.server, "--from-pod", client)

    assert res.returncode == 1, res.stderr
    policies = ", ".join(
        f"{scenario.server}/{p}"
        for p in ("allow-friends", "allow-pod-network", "allow-web-namespaces", "default-deny")
    )
    assert f"  api 8080/TCP ingress: denied: no rule of policies {policies} admits pod {client}" in (
        res.stdout.splitlines()
    ), res.stdout
    assert res.stdout.rstrip().endswith("Reachable: no")


def test_diff_from_a_namespace_reports_the_denial(cluster: Cluster, scenario: Scenario) -> None:
    other = next(c for c in scenario.clients if "-other-" in c).split("/")[0]
    res = cluster.inspect("diff", "-n", scenario.server, "--from-namespace", other, "-o", "json")
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    api = next(s for s in json.loads(res.stdout)["services"] if s["name"] == "api")
    (denied,) = [f for f in api["findings"] if f["code"] == "networkpolicy-denies-client"]
    # a pod of that namespace without labels or a known IP: ipBlock cannot admit it, nothing does
    assert denied["message"].startswith(f"NetworkPolicy drops traffic from namespace {other} to 2 of 2")
