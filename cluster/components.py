"""The local cluster's component table: every process, how it starts and how we know it is ready.

Why it exists: `up`, `down`, `status` and the fault handles (cluster/localcluster.py) all walk one
table. A row is either cluster-wide (etcd, the API server, the controllers, kwok, a host CoreDNS) or
per node (containerd, kubelet, kube-proxy and kube-router run once in every real node's network
namespace, as `NAME@NODE`). The settings (state directory, ports, the number of real nodes, the
kube-proxy mode) are read from the environment once, here, and recorded at `up` so that later
commands act on the cluster that is running, whatever their environment says.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import hostnet
import images
import nodes
import pki
from processes import ClusterError, Processes, http_ok

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STATE = Path(os.environ.get("LOCALCLUSTER_DIR", ROOT / ".cluster")).resolve()
PKI = STATE / "pki"
KUBECONFIG = STATE / "kubeconfig"
MODE_FILE = STATE / "mode"
NODES_FILE = STATE / "nodes.json"  # how many real nodes `up` started, kube-proxy's mode, kwok's range
HOST_BEFORE = STATE / "host-before.json"
PROCS = Processes(STATE)

LOOPBACK = "127.0.0.1"
# Without real nodes the API server must still advertise a non-loopback address for the
# `kubernetes` Service: one from TEST-NET-2 (RFC 5737) that nothing here routes or connects to.
# Never this VM's gateway (192.0.2.1).
KWOK_ADVERTISE_IP = "198.51.100.1"
SERVICE_CIDR = "10.96.0.0/16"
# kwok's simulated pods: a /24 per node (the controller-manager's --node-cidr-mask-size), so a /10
# holds 16,384 node ranges (a /16 held 256: the large bench's 500 nodes never all got one). It
# overlaps nothing here: not the Service range, the real nodes' pods (hostnet.POD_CIDR, 10.88.0.0/16)
# or their network (hostnet.NODE_NET, 10.89.0.0/24), nor this machine's DNS server (10.255.255.53:
# 10.192.0.0/10, tried first, held it, and routing kwok's range nowhere cut the host off from every
# name while the cluster ran; `up` refuses a range that holds the host's nameserver); and the real
# nodes route it nowhere (kin-void).
KWOK_POD_CIDR = "10.128.0.0/10"
# the range of a cluster whose nodes.json predates the record of it, for taking that one down
KWOK_POD_CIDR_BEFORE_RECORD = "10.244.0.0/16"
CLUSTER_DNS_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
KWOK_NODES = ("kwok-node-0", "kwok-node-1")
PROXY_MODES = ("iptables", "nftables")


@dataclass(frozen=True)
class Ports:
    etcd: int = 23790
    etcd_peer: int = 23800
    apiserver: int = 26443
    controller_manager: int = 26257
    scheduler: int = 26259
    kwok: int = 26250
    dns: int = 25353
    dns_ready: int = 26181

    @classmethod
    def from_env(cls) -> Ports:
        base = os.environ.get("LOCALCLUSTER_PORT_OFFSET")
        if not base:
            return cls()
        off = int(base)
        d = cls()
        return cls(*(getattr(d, f) + off for f in cls.__dataclass_fields__))


PORTS = Ports.from_env()


# --------------------------------------------------------------------------- settings and mode


def wanted_nodes() -> tuple[int, str, str | None]:
    """(real nodes asked for, kube-proxy mode, the user's reason for none) from the environment."""
    if os.environ.get("LOCALCLUSTER_REAL_NODE") == "0":
        return 0, "iptables", "LOCALCLUSTER_REAL_NODE=0 asks for the kwok-only cluster"
    raw = os.environ.get("LOCALCLUSTER_REAL_NODES", "3")
    if not raw.isdigit() or int(raw) > nodes.MAX_NODES:
        raise ClusterError(f"LOCALCLUSTER_REAL_NODES={raw!r}: a number from 0 to {nodes.MAX_NODES}")
    proxy_mode = os.environ.get("LOCALCLUSTER_PROXY_MODE", "iptables")
    if proxy_mode not in PROXY_MODES:
        raise ClusterError(f"LOCALCLUSTER_PROXY_MODE={proxy_mode!r}: one of {', '.join(PROXY_MODES)}")
    if raw == "0":
        return 0, proxy_mode, "LOCALCLUSTER_REAL_NODES=0 asks for the kwok-only cluster"
    return int(raw), proxy_mode, None


def mode() -> str:
    try:
        return MODE_FILE.read_text().strip()
    except OSError:
        return "kwok"


def real() -> bool:
    return mode() == "real"


def make_nodes(
    count: int, proxy_mode: str, state: Path = STATE, kwok_pod_cidr: str = KWOK_POD_CIDR
) -> list[nodes.Node]:
    return [
        nodes.Node(i, state, SERVICE_CIDR, kwok_pod_cidr, CLUSTER_DNS_IP, CLUSTER_DOMAIN, proxy_mode)
        for i in range(count)
    ]


def nodes_record(count: int, proxy_mode: str) -> dict[str, object]:
    """What `up` records in nodes.json: `down` undoes what was set up, even after this file changed."""
    return {"count": count, "proxyMode": proxy_mode, "kwokPodCIDR": KWOK_POD_CIDR}


def recorded_kwok_pod_cidr(state: Path = STATE) -> str:
    """The kwok range the cluster in `state` was set up with (its routes to kin-void follow it)."""
    try:
        rec = json.loads((state / NODES_FILE.name).read_text())
    except (OSError, ValueError):
        return KWOK_POD_CIDR
    return str(rec.get("kwokPodCIDR", KWOK_POD_CIDR_BEFORE_RECORD))


def real_nodes(state: Path = STATE) -> list[nodes.Node]:
    """The real nodes `up` started (none in kwok mode), from its record."""
    try:
        rec = json.loads((state / NODES_FILE.name).read_text())
    except (OSError, ValueError):
        return []
    return make_nodes(int(rec["count"]), str(rec["proxyMode"]), state, recorded_kwok_pod_cidr(state))


def host_network(state: Path, real: list[nodes.Node]) -> hostnet.Network:
    return hostnet.Network(
        state, SERVICE_CIDR, recorded_kwok_pod_cidr(state), tuple((n.ip, n.pod_cidr) for n in real)
    )


def api_host() -> str:
    """Where the API server listens: the host's node-network address with real nodes, else loopback."""
    return hostnet.API_IP if real() else LOOPBACK


# --------------------------------------------------------------------------- binaries and the API


def binaries() -> dict[str, Path]:
    res = subprocess.run(
        ["bash", str(HERE / "build.sh"), "paths"], capture_output=True, text=True, check=False
    )
    if res.returncode:
        raise ClusterError(f"cluster/build.sh paths failed: {res.stderr.strip()}")
    dirs = dict(line.split("=", 1) for line in res.stdout.split())
    kube = Path(dirs["KUBE_BIN"])
    return {
        "etcd": Path(dirs["ETCD_BIN"]) / "etcd",
        **{b: kube / b for b in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")},
        "kubelet": kube / "kubelet",
        "kube-proxy": kube / "kube-proxy",
        "agnhost": kube / "agnhost",
        "kwok": Path(dirs["KWOK_BIN"]) / "kwok",
        "coredns": Path(dirs["COREDNS_BIN"]) / "coredns",
        "cni": Path(dirs["CNI_BIN"]),
        "crictl": Path(dirs["CRICTL_BIN"]) / "crictl",
        "pause": Path(dirs["PAUSE_BIN"]) / "pause",
        "kube-router": Path(dirs["KUBE_ROUTER_BIN"]) / "kube-router",
        "containerd": Path(shutil.which("containerd") or "/usr/bin/containerd"),
    }


def api_ssl_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(PKI / "ca.crt"))
    ctx.load_cert_chain(str(PKI / "admin.crt"), str(PKI / "admin.key"))
    return ctx


def api_get(path: str, timeout: float = 5) -> bytes:
    url = f"https://{api_host()}:{PORTS.apiserver}{path}"
    with urllib.request.urlopen(url, context=api_ssl_context(), timeout=timeout) as resp:
        return bytes(resp.read())


def http_ok_tls(port: int) -> bool:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with urllib.request.urlopen(f"https://{LOOPBACK}:{port}/healthz", context=ctx, timeout=2) as resp:
        return bool(resp.status == 200)


def kubectl(bins: dict[str, Path], *args: str, stdin: str | None = None) -> str:
    res = subprocess.run(
        [str(bins["kubectl"]), f"--kubeconfig={KUBECONFIG}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode:
        raise ClusterError(f"kubectl {' '.join(args)} failed: {res.stderr.strip()}")
    return res.stdout


def dns_answers(name: str, server: str, port: int) -> list[str]:
    import dns.message
    import dns.query
    import dns.rdatatype

    q = dns.message.make_query(name, dns.rdatatype.A)
    resp = dns.query.udp(q, server, port=port, timeout=1.0)
    return [r.to_text() for rrset in resp.answer for r in rrset]


def nodes_ready(bins: dict[str, Path]) -> set[str]:
    out = kubectl(
        bins,
        "get",
        "nodes",
        "-o",
        'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
    )
    return {line.split("=")[0] for line in out.split() if line.endswith("=True")}


def deployment_ready(bins: dict[str, Path], namespace: str, name: str, replicas: int) -> bool:
    out = kubectl(bins, "-n", namespace, "get", "deploy", name, "-o", "jsonpath={.status.readyReplicas}")
    return out.strip() == str(replicas)


def dns_server() -> tuple[str, int]:
    return (CLUSTER_DNS_IP, 53) if real() else (LOOPBACK, PORTS.dns)


def dns_ready(_: dict[str, Path]) -> bool:
    server, port = dns_server()
    return "10.96.0.1" in dns_answers(f"kubernetes.default.svc.{CLUSTER_DOMAIN}.", server, port)


# --------------------------------------------------------------------------- configuration


def identities(real: list[nodes.Node]) -> list[pki.Identity]:
    sans = [
        f"IP:{LOOPBACK}",
        f"IP:{hostnet.API_IP}",
        "IP:10.96.0.1",
        "DNS:localhost",
        "DNS:kubernetes",
        "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc",
        f"DNS:kubernetes.default.svc.{CLUSTER_DOMAIN}",
    ]
    per_node = []
    for n in real:
        per_node += [
            pki.Identity(f"node-{n.letter}", f"/O=system:nodes/CN=system:node:{n.name}"),
            pki.Identity(f"kubelet-{n.letter}", f"/CN={n.name}", (f"IP:{n.ip}", f"DNS:{n.name}")),
        ]
    return [
        pki.Identity("apiserver", "/CN=kube-apiserver", tuple(sans)),
        pki.Identity("admin", "/O=system:masters/CN=kubernetes-admin"),
        pki.Identity("controller-manager", "/CN=system:kube-controller-manager"),
        pki.Identity("scheduler", "/CN=system:kube-scheduler"),
        pki.Identity("kwok", "/O=system:masters/CN=kwok-controller"),
        pki.Identity("coredns", "/CN=system:coredns"),
        # the apiserver's client identity towards the kubelets (port-forward, logs, exec)
        pki.Identity("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client"),
        pki.Identity("kube-proxy", "/CN=system:kube-proxy"),
        pki.Identity("kube-router", "/CN=system:kube-router"),
        *per_node,
    ]


def host_corefile() -> str:
    """CoreDNS as a host process (kwok mode): on loopback, watching the API with a kubeconfig."""
    return f"""\
.:{PORTS.dns} {{
    bind {LOOPBACK}
    errors
    ready {LOOPBACK}:{PORTS.dns_ready}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {STATE / "coredns.kubeconfig"} local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 0
    }}
}}
"""


def pod_corefile() -> str:
    """CoreDNS in its pods (real mode): in-cluster, as kubeadm writes it, minus the upstream forward
    (nothing outside this machine may be asked) and the cache (tests watch records change)."""
    return f"""\
.:53 {{
    errors
    health {{
        lameduck 2s
    }}
    ready
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 0
    }}
    reload
}}
"""


def kwok_port_forward() -> str:
    """The kube-dns pods' kubelet port-forward (as `kubectl port-forward` or the inspector use it)
    reaches the host CoreDNS (kwok mode): kwok forwards their port 53 to it."""
    return f"""\
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterPortForward
metadata:
  name: kube-dns
spec:
  selector:
    matchNamespaces: [kube-system]
  forwards:
    - ports: [53]
      target:
        address: {LOOPBACK}
        port: {PORTS.dns}
"""


# --------------------------------------------------------------------------- the components

# the node a process runs on: None for the cluster-wide components
OnNode = nodes.Node | None


@dataclass(frozen=True)
class Component:
    """One process of the cluster (or one per real node): how to start it and how to know it is
    ready. `modes` says in which modes it runs; `prepare` and `settle` run once, before the first
    instance starts and after every instance is ready (files it reads, objects it needs)."""

    name: str
    binary: str
    args: Callable[[OnNode], list[str]]
    ready: Callable[[dict[str, Path], OnNode], object]
    ready_what: str
    timeout: float
    modes: tuple[str, ...] = ("real", "kwok")
    per_node: bool = False
    prepare: Callable[[dict[str, Path]], None] | None = None
    settle: Callable[[dict[str, Path]], None] | None = None
    stop_grace: float = 10.0
    # a log line each instance prints once it is past what the next one must not run at the same
    # moment: the instances then start one after the other, each waiting for the line of the one before
    staggered: str | None = None

    def instances(self, real: list[nodes.Node]) -> list[tuple[str, OnNode]]:
        """(process name, node) of every process of this component."""
        if self.per_node:
            return [(f"{self.name}@{n.name}", n) for n in real]
        return [(self.name, None)]


def on(node: OnNode) -> nodes.Node:
    assert node is not None, "a per-node component needs its node"
    return node


def kube_common(name: str) -> list[str]:
    kc = str(STATE / f"{name}.kubeconfig")
    return [
        f"--bind-address={LOOPBACK}",
        "--leader-elect=false",
        f"--authentication-kubeconfig={kc}",
        f"--authorization-kubeconfig={kc}",
        f"--kubeconfig={kc}",
    ]


def etcd_args(_: OnNode) -> list[str]:
    p = PORTS
    return [
        "--name=local",
        f"--data-dir={STATE / 'etcd'}",
        f"--listen-client-urls=http://{LOOPBACK}:{p.etcd}",
        f"--advertise-client-urls=http://{LOOPBACK}:{p.etcd}",
        f"--listen-peer-urls=http://{LOOPBACK}:{p.etcd_peer}",
        f"--initial-advertise-peer-urls=http://{LOOPBACK}:{p.etcd_peer}",
        f"--initial-cluster=local=http://{LOOPBACK}:{p.etcd_peer}",
        "--unsafe-no-fsync",
    ]


def apiserver_args(_: OnNode) -> list[str]:
    logs = PROCS.logs
    return [
        f"--etcd-servers=http://{LOOPBACK}:{PORTS.etcd}",
        f"--cert-dir={PKI}",
        f"--tls-cert-file={PKI / 'apiserver.crt'}",
        f"--tls-private-key-file={PKI / 'apiserver.key'}",
        f"--client-ca-file={PKI / 'ca.crt'}",
        f"--secure-port={PORTS.apiserver}",
        # with real nodes: the host's address on the node network, which the outward interface lacks
        f"--bind-address={api_host()}",
        f"--advertise-address={hostnet.API_IP if real() else KWOK_ADVERTISE_IP}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=Node,RBAC",
        f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
        f"--service-account-key-file={PKI / 'sa.pub'}",
        f"--service-account-signing-key-file={PKI / 'sa.key'}",
        f"--audit-policy-file={HERE / 'audit-policy.yaml'}",
        f"--audit-log-path={logs / 'audit.log'}",
        "--audit-log-maxsize=200",
        "--audit-log-maxbackup=1",
        "--kubelet-preferred-address-types=InternalIP",
        f"--kubelet-client-certificate={PKI / 'apiserver-kubelet-client.crt'}",
        f"--kubelet-client-key={PKI / 'apiserver-kubelet-client.key'}",
        "--allow-privileged=true",
    ]


def controller_manager_args(_: OnNode) -> list[str]:
    return [
        *kube_common("kube-controller-manager"),
        f"--secure-port={PORTS.controller_manager}",
        f"--service-account-private-key-file={PKI / 'sa.key'}",
        f"--root-ca-file={PKI / 'ca.crt'}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--allocate-node-cidrs",
        f"--cluster-cidr={KWOK_POD_CIDR}",
        "--node-cidr-mask-size=24",
        "--use-service-account-credentials=true",
        # kwok-only (the bench's 10,000 Services): the controllers' client at upstream's 20 requests/s
        # took 78 s to write 2,000 EndpointSlices; the real-node cluster keeps upstream's default.
        # And a kwok node is given 5 minutes without a lease renewal, not 50 s: at 100,000 pods on two
        # loaded cores kwok renewed late, the node lifecycle controller marked 1,779 pods not Ready,
        # and kwok (whose stages make a pod Ready once) never made them Ready again
        *([] if real() else ["--kube-api-qps=200", "--kube-api-burst=400", "--node-monitor-grace-period=5m"]),
    ]


def kwok_args(_: OnNode) -> list[str]:
    p = PORTS
    return [
        f"--kubeconfig={STATE / 'kwok.kubeconfig'}",
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        f"--cidr={KWOK_POD_CIDR}",
        f"--node-ip={LOOPBACK}",
        f"--node-port={p.kwok}",
        f"--server-address={LOOPBACK}:{p.kwok}",
        "--node-lease-duration-seconds=40",
        f"--config={HERE / 'kwok-stages.yaml'}",
        f"--config={STATE / 'kwok-port-forward.yaml'}",
        f"--tls-cert-file={PKI / 'apiserver.crt'}",
        f"--tls-private-key-file={PKI / 'apiserver.key'}",
    ]


def kubelet_args(node: OnNode) -> list[str]:
    n = on(node)
    labels = f"type=real,topology.kubernetes.io/zone={n.zone},topology.kubernetes.io/region={nodes.REGION}"
    return [
        f"--config={n.state / 'kubelet-config.json'}",
        f"--kubeconfig={n.state / 'kubelet.kubeconfig'}",
        f"--root-dir={n.state / 'kubelet'}",
        f"--hostname-override={n.name}",
        f"--node-ip={n.ip}",
        f"--node-labels={labels}",
        "--v=1",
    ]


def kube_router_args(node: OnNode) -> list[str]:
    """kube-router as a NetworkPolicy enforcer only: no routing, no service proxy, no CNI, and
    no listening port (health and metrics off)."""
    return [
        f"--kubeconfig={STATE / 'kube-router.kubeconfig'}",
        f"--hostname-override={on(node).name}",
        "--run-firewall=true",
        "--run-router=false",
        "--run-service-proxy=false",
        "--run-loadbalancer=false",
        "--enable-cni=false",
        "--enable-ipv6=false",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--health-port=0",
        "--metrics-port=0",
        "--v=1",
    ]


def say(msg: str) -> None:
    print(f"local-cluster: {msg}", file=sys.stderr, flush=True)


def after_apiserver(bins: dict[str, Path]) -> None:
    say(f"API server ready on https://{api_host()}:{PORTS.apiserver}")
    # CoreDNS reads Services, EndpointSlices, Namespaces (and Pods for `pods insecure`)
    kubectl(bins, "apply", "-f", str(HERE / "manifests" / "coredns-rbac.yaml"))


def after_kwok(bins: dict[str, Path]) -> None:
    kubectl(bins, "apply", "-f", str(HERE / "manifests" / "nodes.yaml"))
    if real():
        # kwok's usual taint: a pod runs for real unless it tolerates being simulated
        kubectl(bins, "taint", "nodes", "--overwrite", *KWOK_NODES, "kwok.x-k8s.io/node=fake:NoSchedule")
    PROCS.wait_for("two Ready kwok nodes", lambda: nodes_ready(bins) >= set(KWOK_NODES), 90, "kwok")
    PROCS.wait_for(
        "the default ServiceAccount",
        lambda: bool(kubectl(bins, "get", "serviceaccount", "default", "-o", "name")),
        60,
        "kube-controller-manager",
    )
    # the CoreDNS configuration where kubeadm and kind keep it (clients read the cluster domain there)
    corefile = pod_corefile() if real() else host_corefile()
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "coredns", "namespace": "kube-system"},
        "data": {"Corefile": corefile},
    }
    kubectl(bins, "apply", "-f", "-", stdin=json.dumps(configmap))
    if not real():
        kubectl(bins, "apply", "-f", str(HERE / "manifests" / "kube-dns.yaml"))


def before_containerd(bins: dict[str, Path]) -> None:
    for n in real_nodes():
        nodes.write_configs(n, images.PAUSE, bins["cni"])
        pki.write_kubeconfig(
            n.state / "kubelet.kubeconfig",
            f"https://{hostnet.API_IP}:{PORTS.apiserver}",
            PKI,
            f"node-{n.letter}",
        )


def after_containerd(bins: dict[str, Path]) -> None:
    t0 = time.monotonic()
    archives = images.build(bins, Path(bins["pause"]).parent.parent / "images")
    for n in real_nodes():
        nodes.import_images(n, archives)
    names = ", ".join(i.name for i in images.images(bins))
    say(
        f"images built and imported into {len(real_nodes())} node(s) in {time.monotonic() - t0:.1f}s ({names})"
    )


def after_kube_proxy(bins: dict[str, Path]) -> None:
    kubectl(bins, "apply", "-f", str(HERE / "manifests" / "coredns.yaml"))
    PROCS.wait_for(
        "the 2 CoreDNS pods to be Ready",
        lambda: deployment_ready(bins, "kube-system", "coredns", 2),
        120,
    )
    # from the host, through the first node's kube-proxy: what the inspector and the tests use
    PROCS.wait_for(f"CoreDNS to answer at {CLUSTER_DNS_IP} from the host", lambda: dns_ready(bins), 60)


def before_kube_router(bins: dict[str, Path]) -> None:
    kubectl(bins, "apply", "-f", str(HERE / "manifests" / "kube-router-rbac.yaml"))


def write_host_corefile(_: dict[str, Path]) -> None:
    (STATE / "Corefile").write_text(host_corefile())


def kube_router_chains(node: OnNode) -> bool:
    res = on(node).sh("iptables", "-w", "-S", "KUBE-ROUTER-FORWARD", check=False)
    return res.returncode == 0


COMPONENTS: tuple[Component, ...] = (
    Component(
        "etcd",
        "etcd",
        etcd_args,
        lambda _, __: http_ok(f"http://{LOOPBACK}:{PORTS.etcd}/health"),
        "etcd",
        30,
    ),
    Component(
        "kube-apiserver",
        "kube-apiserver",
        apiserver_args,
        lambda _, __: api_get("/readyz") == b"ok",
        "the API server to be ready",
        120,
        settle=after_apiserver,
    ),
    Component(
        "kube-controller-manager",
        "kube-controller-manager",
        controller_manager_args,
        lambda _, __: http_ok_tls(PORTS.controller_manager),
        "the controller-manager to serve /healthz",
        60,
    ),
    Component(
        "kube-scheduler",
        "kube-scheduler",
        lambda _: [*kube_common("kube-scheduler"), f"--secure-port={PORTS.scheduler}"],
        lambda _, __: http_ok_tls(PORTS.scheduler),
        "the scheduler to serve /healthz",
        60,
    ),
    Component("kwok", "kwok", kwok_args, lambda _, __: True, "kwok", 10, settle=after_kwok),
    Component(
        "containerd",
        "containerd",
        lambda node: ["--config", str(on(node).state / "containerd.toml")],
        lambda _, node: nodes.ctr(on(node), "version").returncode == 0,
        "containerd to answer on its socket",
        30,
        modes=("real",),
        per_node=True,
        prepare=before_containerd,
        settle=after_containerd,
    ),
    Component(
        "kubelet",
        "kubelet",
        kubelet_args,
        lambda bins, node: on(node).name in nodes_ready(bins),
        "the node to be Ready",
        90,
        modes=("real",),
        per_node=True,
        # every kubelet binds /var/lib/kubelet/device-plugins/kubelet.sock (a path no flag moves): one
        # that cleans the directory while another binds fails with "address already in use"
        staggered="Starting to serve the podresources API",
    ),
    Component(
        "kube-proxy",
        "kube-proxy",
        lambda node: [f"--config={on(node).state / 'kube-proxy-config.json'}", "--v=1"],
        lambda _, node: http_ok(f"http://{on(node).ip}:{nodes.PROXY_HEALTHZ_PORT}/healthz"),
        "kube-proxy's first sync (/healthz)",
        60,
        modes=("real",),
        per_node=True,
        settle=after_kube_proxy,
    ),
    Component(
        "kube-router",
        "kube-router",
        kube_router_args,
        lambda _, node: kube_router_chains(node),
        "kube-router's NetworkPolicy chains",
        60,
        modes=("real",),
        per_node=True,
        prepare=before_kube_router,
    ),
    Component(
        "coredns",
        "coredns",
        lambda _: ["-conf", str(STATE / "Corefile")],
        lambda bins, _: dns_ready(bins),
        f"CoreDNS to answer kubernetes.default.svc.{CLUSTER_DOMAIN}",
        60,
        modes=("kwok",),
        prepare=write_host_corefile,
        settle=lambda bins: PROCS.wait_for(
            "the kube-dns pods to be Ready", lambda: deployment_ready(bins, "kube-system", "coredns", 2), 60
        ),
    ),
)
BY_NAME = {c.name: c for c in COMPONENTS}


def active() -> list[Component]:
    m = mode()
    return [c for c in COMPONENTS if m in c.modes]


def start_instance(comp: Component, bins: dict[str, Path], name: str, node: OnNode) -> None:
    """Starts one process of a component (in its node's namespace) without waiting for it."""
    prefix = node.enter if node is not None else ()
    if comp.name == "kube-proxy":  # it starts unstalled, whatever an earlier run left behind
        on(node).stall_file.unlink(missing_ok=True)
        prefix = (*prefix, "env", f"PATH={on(node).proxy_path()}")
    PROCS.start(name, bins[comp.binary], comp.args(node), prefix)


def wait_instance(comp: Component, bins: dict[str, Path], name: str, node: OnNode) -> None:
    what = comp.ready_what + (f" on {node.name}" if node is not None else "")
    PROCS.wait_for(what, lambda: comp.ready(bins, node), comp.timeout, name)


def _logged(log: Path, offset: int, line: str) -> bool:
    """Whether `line` is in the log after `offset` (the log is appended to across starts)."""
    with log.open("rb") as f:
        f.seek(offset)
        return line in f.read().decode(errors="replace")


def start(comp: Component, bins: dict[str, Path]) -> None:
    """Every process of a component: all started, then each waited for (the nodes in parallel)."""
    if comp.prepare:
        comp.prepare(bins)
    instances = comp.instances(real_nodes())
    for name, node in instances:
        log = PROCS.log(name)
        offset = log.stat().st_size if log.exists() else 0
        start_instance(comp, bins, name, node)
        if comp.staggered:
            line = comp.staggered
            PROCS.wait_for(
                f"{name} to log {line!r}",
                functools.partial(_logged, log, offset, line),
                comp.timeout,
                name,
            )
    for name, node in instances:
        wait_instance(comp, bins, name, node)
    if comp.settle:
        comp.settle(bins)
