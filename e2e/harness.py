"""Helpers for end-to-end tests: a handle on the cluster under test, and polling."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INSPECT = str(Path(sys.executable).with_name("kubectl-svc_inspect"))
ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ROOT / "e2e" / "manifests"
# the local cluster's state (kubeconfig, env, pki, logs, pids): LOCALCLUSTER_DIR names another
# checkout's, so that several work trees can share one running cluster
LOCAL_STATE = Path(os.environ.get("LOCALCLUSTER_DIR") or Path(__file__).resolve().parent.parent / ".cluster")
# Pods that really run use Kubernetes' own e2e test image (built locally on the local cluster, pulled
# on kind). Manifests that name an image under registry.example are simulated: they tolerate kwok's
# taint and select its nodes. On a cluster without kwok (kind), E2E_IMAGE replaces those images with
# one its nodes have (e.g. pause).
AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.66.1"
IMAGE = os.environ.get("E2E_IMAGE")
WEB_SVC = (MANIFESTS / "web-svc.yaml").read_text()
# Addresses of no pod, for manually managed EndpointSlices: on the local cluster they route to a
# bridge with no ports, so even a packet that kube-proxy sent there would go nowhere: the last /24 of
# kwok's range (cluster/components.py KWOK_POD_CIDR, 10.128.0.0/10), which no node is ever given.
NOWHERE = "10.191.255"


@dataclass(frozen=True)
class RealNode:
    """A real node of the local cluster: its name, its address on the node network, and the network
    namespace its kubelet, kube-proxy and pods' bridge live in."""

    name: str
    ip: str
    netns: str

    def run(self, *command: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """A command in the node's network namespace (its interfaces, routes, rules)."""
        return subprocess.run(
            ["nsenter", f"--net=/run/netns/{self.netns}", "--", *command],
            capture_output=True,
            text=True,
            timeout=60,
            check=check,
        )


def parse_nodes(spec: str) -> list[RealNode]:
    """LOCALCLUSTER_NODES of .cluster/env: NAME=IP=NETNS, space-separated."""
    return [RealNode(*item.split("=")) for item in spec.split()]


@dataclass
class Cluster:
    kubeconfig: str
    dns_server: str | None
    kubectl_bin: str
    local: bool
    # pods without kwok's toleration really run (the local cluster's real node, or kind)
    real_pods: bool = True
    # the first real node's address on the local cluster (where the host's Service traffic enters)
    node_ip: str | None = None
    # this test session brought the local cluster up (and takes it down)
    started_here: bool = False
    # the local cluster's real nodes, the API server's address among them, kube-proxy's mode
    nodes: list[RealNode] = field(default_factory=list)
    api_ip: str | None = None
    proxy_mode: str | None = None
    # the kind cluster of make e2e-kind (E2E_KIND=1): its nodes are containers, not the local
    # cluster's network namespaces and processes
    kind: bool = False
    # where the pods that really run get their addresses (CNI's range; kwok's pods have others)
    pod_cidr: str = "10.88.0.0/16"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBECONFIG")}
        env["KUBECONFIG"] = self.kubeconfig
        if self.dns_server:
            env["INSPECTOR_DNS_SERVER"] = self.dns_server
        return env

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        if args[:1] == ("apply",) and "-f" in args and args[args.index("-f") + 1] != "-":
            # files go through stdin too, so that every manifest gets the cluster's image
            i = args.index("-f") + 1
            stdin, args = Path(args[i]).read_text(), (*args[:i], "-", *args[i + 1 :])
        if stdin is not None and IMAGE:
            # a cluster without kwok: simulated pods become pods of an image its nodes have
            stdin = re.sub(r"image: registry\.example/\S+", f"image: {IMAGE}", stdin)
            stdin = re.sub(r"\n\s*nodeSelector:\n\s*type: kwok", "", stdin)
        res = subprocess.run(
            [self.kubectl_bin, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )
        if check and res.returncode:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {res.stderr.strip()}")
        return res.stdout

    def exec(self, namespace: str, pod: str, *command: str, check: bool = True) -> str:
        """Runs a command in a pod's first container (kubectl exec), returns its stdout."""
        return self.kubectl("exec", "-n", namespace, pod, "--", *command, check=check)

    def exec_ok(self, namespace: str, pod: str, *command: str) -> bool:
        """Whether a command in the pod exits 0 (False too while the container is not running)."""
        res = subprocess.run(
            [self.kubectl_bin, "exec", "-n", namespace, pod, "--", *command],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )
        return res.returncode == 0

    def get_json(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def inspect(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Runs the installed kubectl-svc_inspect as a user would, against this cluster."""
        return subprocess.run(
            [INSPECT, *args], capture_output=True, text=True, env=self.env, timeout=timeout, check=False
        )

    def start_inspect(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Starts kubectl-svc_inspect in the background (a `wait` that the test then acts upon)."""
        return subprocess.Popen(
            [INSPECT, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env | (env or {}),
        )

    def inspect_json(self, *args: str) -> Any:
        res = self.inspect(*args, "-o", "json")
        assert "Traceback" not in res.stderr, res.stderr
        try:
            return json.loads(res.stdout)
        except ValueError:
            raise AssertionError(f"not JSON (exit {res.returncode}): {res.stdout!r} {res.stderr!r}") from None


def unavailable(reason: str) -> None:
    """A tier this test needs cannot run here. Strict by default: the test fails, so that no run
    passes by skipping; E2E_ALLOW_SKIP=1 (a developer's machine without root, say) skips instead,
    and pytest's summary counts the skips."""
    import pytest

    if os.environ.get("E2E_ALLOW_SKIP") == "1":
        pytest.skip(reason)
    pytest.fail(reason + " (set E2E_ALLOW_SKIP=1 to skip such tests instead)")


def wait_until(check: Callable[[], Any], what: str, timeout: float = 60, interval: float = 0.3) -> Any:
    """Polls `check` until it returns something truthy; fails the test with `what` at the timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def apply(cluster: Cluster, namespace: str, manifest: str) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=manifest)


def slice_addresses(cluster: Cluster, namespace: str, service: str) -> list[tuple[str, int | None, bool]]:
    """(address, port, ready) of every endpoint in the Service's EndpointSlices, as the API holds them."""
    data = cluster.get_json("endpointslices", "-n", namespace, "-l", f"kubernetes.io/service-name={service}")
    out = []
    for s in data["items"]:
        ports = [p.get("port") for p in s.get("ports") or []] or [None]
        for e in s.get("endpoints") or []:
            ready = (e.get("conditions") or {}).get("ready") is not False
            out += [(a, port, ready) for a in e["addresses"] for port in ports]
    return sorted(out)


def ready_pod_ips(cluster: Cluster, namespace: str, selector: str) -> list[str]:
    pods = cluster.get_json("pods", "-n", namespace, "-l", selector)["items"]
    return sorted(
        p["status"]["podIP"]
        for p in pods
        if p["status"].get("podIP")
        and not p["metadata"].get("deletionTimestamp")
        and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))
    )


def inspect_with_env(
    cluster: Cluster, env: dict[str, str | None], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """kubectl-svc_inspect with some environment variables changed (None: removed), e.g. without
    INSPECTOR_DNS_SERVER so that it finds the cluster DNS itself."""
    full = cluster.env
    for key, value in env.items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    return subprocess.run(
        [INSPECT, *args], capture_output=True, text=True, env=full, timeout=timeout, check=False
    )


def deploy_web(cluster: Cluster, namespace: str, replicas: int = 3) -> list[str]:
    """web.yaml's Deployment with `replicas` pods, once they are Ready; returns their IPs."""
    cluster.kubectl("apply", "-n", namespace, "-f", str(MANIFESTS / "web.yaml"))
    if replicas != 3:
        cluster.kubectl("scale", "-n", namespace, "deployment/web", f"--replicas={replicas}")
    ips = wait_until(
        lambda: len(ips := ready_pod_ips(cluster, namespace, "app=web")) == replicas and ips,
        what=f"{replicas} ready web pods",
    )
    # and the pods scaled away are gone, not only terminating (real pods take their grace period)
    wait_until(
        lambda: len(cluster.get_json("pods", "-n", namespace, "-l", "app=web")["items"]) == replicas,
        what=f"exactly {replicas} web pods",
    )
    return ips


def fresh_namespace(cluster: Cluster, name: str) -> Iterator[str]:
    """Creates namespace `name` (ready for pods), yields it, and deletes it without waiting."""
    cluster.kubectl("create", "namespace", name)
    wait_until(
        lambda: cluster.kubectl("get", "serviceaccount", "default", "-n", name, check=False) != "",
        what=f"ServiceAccount default in {name}",
    )
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def bare_web_pod(name: str) -> str:
    """A pod of no workload, like web.yaml's: nothing recreates it when it is relabelled."""
    return f"""
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
    app: web
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: web
      image: {AGNHOST}
      args: [netexec, --http-port=5000, --udp-port=-1]
      ports:
        - name: http
          containerPort: 5000
"""


def client_pod(name: str, extra_spec: str = "") -> str:
    """A real pod to act from: agnhost idling, with the e2e image's shell, nc, nslookup and getent."""
    return f"""
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
    role: client
spec:
  terminationGracePeriodSeconds: 1
{extra_spec}  containers:
    - name: client
      image: {AGNHOST}
      args: [pause]
"""


def web_pod_on(cluster: Cluster, namespace: str, name: str, node: str) -> None:
    """bare_web_pod `name`, pinned to `node` (spec.nodeName: no scheduler involved)."""
    manifest = bare_web_pod(name).replace("spec:\n", f"spec:\n  nodeName: {node}\n", 1)
    cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=manifest)


def pods_on_every_node(cluster: Cluster, namespace: str, prefix: str = "web") -> dict[str, tuple[str, str]]:
    """One agnhost web pod (label app=web, port 5000 `http`) pinned to every real node; returns
    node -> (pod, IP) once all are Ready."""
    for node in cluster.nodes:
        web_pod_on(cluster, namespace, f"{prefix}-{node.name}", node.name)
    out = {}
    for node in cluster.nodes:
        name = f"{prefix}-{node.name}"
        wait_pod_ready(cluster, namespace, name)
        out[node.name] = (name, str(cluster.get_json("pod", name, "-n", namespace)["status"]["podIP"]))
    return out


def cluster_dns(cluster: Cluster) -> str:
    """kube-dns's ClusterIP: the address kubelets write into pods' resolv.conf (10.96.0.10 on the local
    cluster, 10.97.0.10 on make e2e-kind's)."""
    return str(cluster.get_json("service", "kube-dns", "-n", "kube-system")["spec"]["clusterIP"])


def apply_dns_clients(cluster: Cluster, namespace: str) -> None:
    """e2e/manifests/dns/clients.yaml, with the cluster's DNS address where a pod names its own
    nameservers (dnsPolicy None): the file holds the placeholder CLUSTER_DNS, not one cluster's address."""
    text = (MANIFESTS / "dns" / "clients.yaml").read_text()
    assert "CLUSTER_DNS" in text, "clients.yaml: the placeholder CLUSTER_DNS is gone"
    apply(cluster, namespace, text.replace("CLUSTER_DNS", cluster_dns(cluster)))


def wait_pod_ready(cluster: Cluster, namespace: str, pod: str, timeout: float = 90) -> None:
    cluster.kubectl(
        "wait", "-n", namespace, "--for=condition=Ready", f"pod/{pod}", f"--timeout={int(timeout)}s"
    )


def http_get(url: str, timeout: float = 5) -> str:
    """GET from the host to an address on this machine (pod, Service, node port on the bridge)."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return str(resp.read().decode())


# --------------------------------------------------------------------------- make e2e-kind's nodes


def kind_exec(
    node: str, *command: str, check: bool = False, stdin: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """A command in a kind node's container (`docker exec`, through the dockerd of
    cluster/kind/dockerd.sh, which e2e/kind.sh names in KIND_DOCKER_HOST); `stdin` a file fed to it."""
    env = os.environ | {"DOCKER_HOST": os.environ["KIND_DOCKER_HOST"]}
    with stdin.open("rb") if stdin else open(os.devnull, "rb") as feed:
        res = subprocess.run(
            ["docker", "exec", "-i", node, *command],
            stdin=feed,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    if check and res.returncode:
        raise AssertionError(f"docker exec {node} {' '.join(command)} failed: {res.stderr.strip()}")
    return res


def kind_nodes(cluster: Cluster, selector: str = "") -> list[str]:
    """The kind cluster's node names (each the name of its container), `selector` a label selector."""
    found = cluster.get_json("nodes", *(["-l", selector] if selector else []))["items"]
    return [str(n["metadata"]["name"]) for n in found]


def kind_load(cluster: Cluster, archive: Path) -> None:
    """An image archive (docker-archive, as cluster/images.py writes) imported into every kind node's
    containerd, as `kind load image-archive` does: nothing is pulled, the pods use it as it is."""
    for node in kind_nodes(cluster):
        kind_exec(
            node, "ctr", "--namespace=k8s.io", "images", "import", "--all-platforms", "--digests", "-",
            stdin=archive, check=True,
        )  # fmt: skip


# --------------------------------------------------------------------------- a fleet of clusters


def merged_kubeconfig(
    target: Path, members: dict[str, str], unreachable: dict[str, str] | None = None
) -> str:
    """One kubeconfig holding a context per cluster, named as `members` says (context -> that
    cluster's kubeconfig): each context's cluster and user renamed after it, so that nothing is shared
    (every local cluster names its own `local` and its user `admin`). `unreachable` adds contexts
    whose server (context -> URL) has no API server listening. The first member is the current context."""
    import yaml

    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [],
        "users": [],
        "contexts": [],
    }
    for name, path in members.items():
        source = yaml.safe_load(Path(path).read_text())
        current = next(c for c in source["contexts"] if c["name"] == source["current-context"])["context"]
        cluster = next(c for c in source["clusters"] if c["name"] == current["cluster"])["cluster"]
        user = next(u for u in source["users"] if u["name"] == current["user"])["user"]
        config["clusters"].append({"name": name, "cluster": cluster})
        config["users"].append({"name": name, "user": user})
        config["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    for name, server in (unreachable or {}).items():
        config["clusters"].append({"name": name, "cluster": {"server": server}})
        config["users"].append({"name": name, "user": {"token": "none"}})
        config["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    config["current-context"] = next(iter(members))
    target.write_text(json.dumps(config, indent=2) + "\n")
    target.chmod(0o600)
    return str(target)


def second_cluster_env() -> dict[str, str]:
    """The environment of a second local cluster beside the session's: kwok-only (no real node, so
    neither the real nodes' names nor the host's bridge), its own state directory beside the
    session's (`.cluster2`) and its ports 500 above the session's (E2E_FLEET_PORT_OFFSET moves them)."""
    base = int(os.environ.get("LOCALCLUSTER_PORT_OFFSET") or 0)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCALCLUSTER_", "KUBECONFIG"))}
    return env | {
        "LOCALCLUSTER_DIR": str(LOCAL_STATE.with_name(LOCAL_STATE.name + "2")),
        "LOCALCLUSTER_PORT_OFFSET": os.environ.get("E2E_FLEET_PORT_OFFSET") or str(base + 500),
        "LOCALCLUSTER_REAL_NODE": "0",
    }


def start_second_cluster(env: dict[str, str]) -> Cluster:
    """Brings up the second local cluster (kwok-only), or fails the test (`unavailable`) when it
    cannot; the caller takes it down with `stop_second_cluster`, pass or fail."""
    local = [sys.executable, str(Path(__file__).resolve().parent.parent / "cluster" / "localcluster.py")]
    up = subprocess.run([*local, "up"], capture_output=True, text=True, env=env, timeout=300, check=False)
    if up.returncode:
        unavailable(
            f"the second local cluster did not start: {(up.stderr.strip().splitlines() or ['?'])[-1]}"
        )
    state = Path(env["LOCALCLUSTER_DIR"])
    values = {}
    for line in (state / "env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        values[key] = value
    return Cluster(
        values["KUBECONFIG"],
        values["INSPECTOR_DNS_SERVER"],
        values["LOCALCLUSTER_KUBECTL"],
        local=True,
        real_pods=False,
    )


def stop_second_cluster(env: dict[str, str]) -> None:
    local = [sys.executable, str(Path(__file__).resolve().parent.parent / "cluster" / "localcluster.py")]
    subprocess.run([*local, "down"], capture_output=True, env=env, timeout=120, check=False)


SA = "system:serviceaccount:default:svc-inspect"  # deploy/rbac.yaml's ServiceAccount


def bind_why_role(cluster: Cluster, namespace: str) -> None:
    """deploy/rbac-why.yaml's role bound to deploy/rbac.yaml's ServiceAccount in `namespace`, once
    the API server says it may create pods there."""
    cluster.kubectl("apply", "-f", str(ROOT / "deploy" / "rbac-why.yaml"))
    cluster.kubectl(
        "create", "rolebinding", "why", "-n", namespace, "--clusterrole=svc-inspect-why",
        "--serviceaccount=default:svc-inspect",
    )  # fmt: skip
    wait_until(
        lambda: (
            cluster.kubectl(
                "auth", "can-i", "create", "pods", "-n", namespace, f"--as={SA}", check=False
            ).strip()
            == "yes"
        ),
        "the why role to take effect",
    )
