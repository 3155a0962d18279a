"""The local cluster: upstream Kubernetes components as plain processes, and one real node.

Why it exists: this project's tests and demo need a *real* API server, real endpoint controllers,
a real CoreDNS and, to observe traffic, pods that really run. No container registry is reachable
here, so kind cannot run: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok
(simulated nodes for tests that need many pods), and the real node's containerd, kubelet and
kube-proxy are built or installed by cluster/build.sh and started here, one table row each.

    python cluster/localcluster.py up|down|status
    python cluster/localcluster.py stop-component|start-component NAME   (fault injection in tests)
    python cluster/localcluster.py host-state                            (JSON, for the leak test)

Two modes, chosen by `up` and written to .cluster/mode:
- real: root, containerd and runc present (the project's machines and CI). The API server serves on
  the node's bridge address; CoreDNS runs as two pods on the real node behind kube-dns.
- kwok: anything else, or LOCALCLUSTER_REAL_NODE=0. Every pod is simulated, CoreDNS is a host
  process on 127.0.0.1, and nothing may send traffic to pod or Service IPs.

State lives in .cluster/ (kubeconfig, env, pki, logs, pids). `up` is idempotent; `down` stops every
process it started, by pid, and restores every host change the real node made.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import images  # noqa: E402
import pki  # noqa: E402
import realnode  # noqa: E402

ROOT = HERE.parent
STATE = Path(os.environ.get("LOCALCLUSTER_DIR", ROOT / ".cluster")).resolve()
PKI, LOGS, PIDS = STATE / "pki", STATE / "logs", STATE / "pids"
KUBECONFIG = STATE / "kubeconfig"
MODE_FILE = STATE / "mode"
HOST_BEFORE = STATE / "host-before.json"

LOOPBACK = "127.0.0.1"
# Without the real node the API server must still advertise a non-loopback address for the
# `kubernetes` Service: one from TEST-NET-2 (RFC 5737) that nothing here routes or connects to.
# Never this VM's gateway (192.0.2.1).
KWOK_ADVERTISE_IP = "198.51.100.1"
SERVICE_CIDR = "10.96.0.0/16"
KWOK_POD_CIDR = "10.244.0.0/16"
CLUSTER_DNS_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
KWOK_NODES = ("kwok-node-0", "kwok-node-1")


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
LAYOUT = realnode.Layout(
    state=STATE,
    service_cidr=SERVICE_CIDR,
    kwok_pod_cidr=KWOK_POD_CIDR,
    cluster_dns=CLUSTER_DNS_IP,
    cluster_domain=CLUSTER_DOMAIN,
    port_offset=int(os.environ.get("LOCALCLUSTER_PORT_OFFSET") or 0),
)


class ClusterError(Exception):
    """A failure with a one-line explanation for the user."""


def say(msg: str) -> None:
    print(f"local-cluster: {msg}", file=sys.stderr, flush=True)


def mode() -> str:
    try:
        return MODE_FILE.read_text().strip()
    except OSError:
        return "kwok"


def real() -> bool:
    return mode() == "real"


def api_host() -> str:
    """Where the API server listens: the node's bridge address with the real node, else loopback."""
    return realnode.NODE_IP if real() else LOOPBACK


# --------------------------------------------------------------------------- binaries


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


def require(bins: dict[str, Path], names: list[str]) -> None:
    missing = [n for n in names if not os.access(bins[n], os.X_OK)]
    if missing:
        raise ClusterError(f"binaries not built: {', '.join(missing)}; run `make cluster-binaries` first")


# --------------------------------------------------------------------------- processes


def pid_file(name: str) -> Path:
    return PIDS / f"{name}.pid"


def running_pid(name: str) -> int | None:
    """The pid recorded for a component, if that process is still the one we started."""
    try:
        pid, exe = pid_file(name).read_text().split("\n", 1)
        cmdline = Path(f"/proc/{int(pid)}/cmdline").read_bytes().split(b"\0")[0].decode()
    except (OSError, ValueError):
        return None
    return int(pid) if cmdline == exe.strip() else None


def start_process(name: str, exe: Path, args: list[str]) -> None:
    log = (LOGS / f"{name}.log").open("ab")
    proc = subprocess.Popen(
        [str(exe), *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=STATE,
    )
    pid_file(name).write_text(f"{proc.pid}\n{exe}\n")
    # until the child has exec'd, /proc shows python's command line, not the component's
    deadline = time.monotonic() + 5
    while running_pid(name) is None and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


def stop_process(name: str, grace: float = 10.0) -> bool:
    pid = running_pid(name)
    pid_file(name).unlink(missing_ok=True)
    if pid is None:
        return False
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
                return True
            time.sleep(0.1)
    return True


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return True


def require_alive(name: str) -> None:
    if running_pid(name) is None:
        tail = "".join((LOGS / f"{name}.log").read_text(errors="replace").splitlines(True)[-5:])
        raise ClusterError(f"{name} exited; last lines of {LOGS / (name + '.log')}:\n{tail}")


def wait_for(what: str, check: Callable[[], object], timeout: float, component: str | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if component:
            require_alive(component)
        try:
            if check():
                return
        except Exception as exc:  # the component is still starting
            last = exc
        time.sleep(0.25)
    raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}" + (f" ({last})" if last else ""))


def port_busy(host: str, port: int, kind: int = socket.SOCK_STREAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def check_ports() -> None:
    for name in Ports.__dataclass_fields__:
        port = getattr(PORTS, name)
        if port_busy(LOOPBACK, port) or (name == "dns" and port_busy(LOOPBACK, port, socket.SOCK_DGRAM)):
            raise ClusterError(
                f"port {port} on {LOOPBACK} (for {name.replace('_', '-')}) is busy; "
                "free it or set LOCALCLUSTER_PORT_OFFSET to move every port"
            )


# --------------------------------------------------------------------------- the API


def api_ssl_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(PKI / "ca.crt"))
    ctx.load_cert_chain(str(PKI / "admin.crt"), str(PKI / "admin.key"))
    return ctx


def api_get(path: str, timeout: float = 5) -> bytes:
    url = f"https://{api_host()}:{PORTS.apiserver}{path}"
    with urllib.request.urlopen(url, context=api_ssl_context(), timeout=timeout) as resp:
        return bytes(resp.read())


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:
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


# --------------------------------------------------------------------------- configuration


def identities() -> list[pki.Identity]:
    sans = [
        f"IP:{LOOPBACK}",
        f"IP:{realnode.NODE_IP}",
        "IP:10.96.0.1",
        "DNS:localhost",
        "DNS:kubernetes",
        "DNS:kubernetes.default",
        "DNS:kubernetes.default.svc",
        f"DNS:kubernetes.default.svc.{CLUSTER_DOMAIN}",
    ]
    node = realnode.NODE_NAME
    return [
        pki.Identity("apiserver", "/CN=kube-apiserver", tuple(sans)),
        pki.Identity("admin", "/O=system:masters/CN=kubernetes-admin"),
        pki.Identity("controller-manager", "/CN=system:kube-controller-manager"),
        pki.Identity("scheduler", "/CN=system:kube-scheduler"),
        pki.Identity("kwok", "/O=system:masters/CN=kwok-controller"),
        pki.Identity("coredns", "/CN=system:coredns"),
        # the apiserver's client identity towards the kubelets (port-forward, logs, exec)
        pki.Identity("apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet-client"),
        pki.Identity("node", f"/O=system:nodes/CN=system:node:{node}"),
        pki.Identity("kubelet", f"/CN={node}", (f"IP:{realnode.NODE_IP}", f"DNS:{node}")),
        pki.Identity("kube-proxy", "/CN=system:kube-proxy"),
        pki.Identity("kube-router", "/CN=system:kube-router"),
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


@dataclass(frozen=True)
class Component:
    """One process of the cluster: how to start it and how to know it is ready.

    `modes` says in which modes it runs; `prepare` and `settle` run before its start and after it
    is ready (files it reads, objects it needs)."""

    name: str
    binary: str
    args: Callable[[], list[str]]
    ready: Callable[[dict[str, Path]], object]
    ready_what: str
    timeout: float
    modes: tuple[str, ...] = ("real", "kwok")
    prepare: Callable[[dict[str, Path]], None] | None = None
    settle: Callable[[dict[str, Path]], None] | None = None
    stop_grace: float = 10.0


def kube_common(name: str) -> list[str]:
    kc = str(STATE / f"{name}.kubeconfig")
    return [
        f"--bind-address={LOOPBACK}",
        "--leader-elect=false",
        f"--authentication-kubeconfig={kc}",
        f"--authorization-kubeconfig={kc}",
        f"--kubeconfig={kc}",
    ]


def etcd_args() -> list[str]:
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


def apiserver_args() -> list[str]:
    host = api_host()
    return [
        f"--etcd-servers=http://{LOOPBACK}:{PORTS.etcd}",
        f"--cert-dir={PKI}",
        f"--tls-cert-file={PKI / 'apiserver.crt'}",
        f"--tls-private-key-file={PKI / 'apiserver.key'}",
        f"--client-ca-file={PKI / 'ca.crt'}",
        f"--secure-port={PORTS.apiserver}",
        # with the real node: the bridge address, which pods reach and the outward interface lacks
        f"--bind-address={host}",
        f"--advertise-address={realnode.NODE_IP if real() else KWOK_ADVERTISE_IP}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--authorization-mode=Node,RBAC",
        f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
        f"--service-account-key-file={PKI / 'sa.pub'}",
        f"--service-account-signing-key-file={PKI / 'sa.key'}",
        f"--audit-policy-file={HERE / 'audit-policy.yaml'}",
        f"--audit-log-path={LOGS / 'audit.log'}",
        "--audit-log-maxsize=200",
        "--audit-log-maxbackup=1",
        "--kubelet-preferred-address-types=InternalIP",
        f"--kubelet-client-certificate={PKI / 'apiserver-kubelet-client.crt'}",
        f"--kubelet-client-key={PKI / 'apiserver-kubelet-client.key'}",
        "--allow-privileged=true",
    ]


def controller_manager_args() -> list[str]:
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
    ]


def kwok_args() -> list[str]:
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


def kubelet_args() -> list[str]:
    return [
        f"--config={STATE / 'kubelet-config.json'}",
        f"--kubeconfig={STATE / 'kubelet.kubeconfig'}",
        f"--root-dir={STATE / 'kubelet'}",
        f"--hostname-override={realnode.NODE_NAME}",
        f"--node-ip={realnode.NODE_IP}",
        "--node-labels=type=real",
        "--v=1",
    ]


def kube_router_args() -> list[str]:
    """kube-router as a NetworkPolicy enforcer only: no routing, no service proxy, no CNI, and
    no listening port (health and metrics off)."""
    return [
        f"--kubeconfig={STATE / 'kube-router.kubeconfig'}",
        f"--hostname-override={realnode.NODE_NAME}",
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


def before_kube_router(bins: dict[str, Path]) -> None:
    kubectl(bins, "apply", "-f", str(HERE / "manifests" / "kube-router-rbac.yaml"))


def kube_proxy_args() -> list[str]:
    return [f"--config={STATE / 'kube-proxy-config.json'}", "--v=1"]


def after_apiserver(bins: dict[str, Path]) -> None:
    say(f"API server ready on https://{api_host()}:{PORTS.apiserver}")
    # CoreDNS reads Services, EndpointSlices, Namespaces (and Pods for `pods insecure`)
    kubectl(bins, "apply", "-f", str(HERE / "manifests" / "coredns-rbac.yaml"))


def after_kwok(bins: dict[str, Path]) -> None:
    kubectl(bins, "apply", "-f", str(HERE / "manifests" / "nodes.yaml"))
    if real():
        # kwok's usual taint: a pod runs for real unless it tolerates being simulated
        kubectl(bins, "taint", "nodes", "--overwrite", *KWOK_NODES, "kwok.x-k8s.io/node=fake:NoSchedule")
    wait_for("two Ready kwok nodes", lambda: nodes_ready(bins) >= set(KWOK_NODES), 90, "kwok")
    wait_for(
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
    realnode.write_configs(LAYOUT, images.PAUSE)
    realnode.install_cni_plugins(LAYOUT, bins["cni"])


def after_containerd(bins: dict[str, Path]) -> None:
    t0 = time.monotonic()
    archives = images.build(bins, Path(bins["pause"]).parent.parent / "images")
    realnode.import_images(LAYOUT, archives)
    say(
        f"images built and imported in {time.monotonic() - t0:.1f}s ({', '.join(i.name for i in images.images(bins))})"
    )


def after_kube_proxy(bins: dict[str, Path]) -> None:
    kubectl(bins, "apply", "-f", str(HERE / "manifests" / "coredns.yaml"))
    wait_for(
        "the 2 CoreDNS pods on the real node to be Ready",
        lambda: deployment_ready(bins, "kube-system", "coredns", 2),
        120,
    )
    # from the host, through kube-proxy's rules: what the inspector and the tests use
    wait_for(f"CoreDNS to answer at {CLUSTER_DNS_IP} from the host", lambda: dns_ready(bins), 60)


def dns_ready(_: dict[str, Path]) -> bool:
    server, port = dns_server()
    return "10.96.0.1" in dns_answers(f"kubernetes.default.svc.{CLUSTER_DOMAIN}.", server, port)


def dns_server() -> tuple[str, int]:
    return (CLUSTER_DNS_IP, 53) if real() else (LOOPBACK, PORTS.dns)


COMPONENTS: tuple[Component, ...] = (
    Component(
        "etcd",
        "etcd",
        etcd_args,
        lambda _: http_ok(f"http://{LOOPBACK}:{PORTS.etcd}/health"),
        "etcd",
        30,
    ),
    Component(
        "kube-apiserver",
        "kube-apiserver",
        apiserver_args,
        lambda _: api_get("/readyz") == b"ok",
        "the API server to be ready",
        120,
        settle=after_apiserver,
    ),
    Component(
        "kube-controller-manager",
        "kube-controller-manager",
        controller_manager_args,
        lambda _: http_ok_tls(PORTS.controller_manager),
        "the controller-manager to serve /healthz",
        60,
    ),
    Component(
        "kube-scheduler",
        "kube-scheduler",
        lambda: [*kube_common("kube-scheduler"), f"--secure-port={PORTS.scheduler}"],
        lambda _: http_ok_tls(PORTS.scheduler),
        "the scheduler to serve /healthz",
        60,
    ),
    Component(
        "kwok",
        "kwok",
        kwok_args,
        lambda _: True,
        "kwok",
        10,
        settle=after_kwok,
    ),
    Component(
        "containerd",
        "containerd",
        lambda: ["--config", str(STATE / "containerd.toml")],
        lambda _: realnode.ctr(LAYOUT, "version").returncode == 0,
        "containerd to answer on its socket",
        30,
        modes=("real",),
        prepare=before_containerd,
        settle=after_containerd,
    ),
    Component(
        "kubelet",
        "kubelet",
        kubelet_args,
        lambda bins: realnode.NODE_NAME in nodes_ready(bins),
        f"node {realnode.NODE_NAME} to be Ready",
        90,
        modes=("real",),
    ),
    Component(
        "kube-proxy",
        "kube-proxy",
        kube_proxy_args,
        lambda _: http_ok(f"http://127.0.0.1:{LAYOUT.proxy_healthz_port}/healthz"),
        "kube-proxy's first sync (/healthz)",
        60,
        modes=("real",),
        settle=after_kube_proxy,
    ),
    Component(
        "kube-router",
        "kube-router",
        kube_router_args,
        lambda _: realnode.run("iptables", "-w", "-S", "KUBE-ROUTER-FORWARD", check=False).returncode == 0,
        "kube-router's NetworkPolicy chains",
        60,
        modes=("real",),
        prepare=before_kube_router,
    ),
    Component(
        "coredns",
        "coredns",
        lambda: ["-conf", str(STATE / "Corefile")],
        dns_ready,
        f"CoreDNS to answer kubernetes.default.svc.{CLUSTER_DOMAIN}",
        60,
        modes=("kwok",),
        prepare=lambda _: write_host_corefile(),
        settle=lambda bins: wait_for(
            "the kube-dns pods to be Ready", lambda: deployment_ready(bins, "kube-system", "coredns", 2), 60
        ),
    ),
)
BY_NAME = {c.name: c for c in COMPONENTS}


def write_host_corefile() -> None:
    (STATE / "Corefile").write_text(host_corefile())


def http_ok_tls(port: int) -> bool:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with urllib.request.urlopen(f"https://{LOOPBACK}:{port}/healthz", context=ctx, timeout=2) as resp:
        return bool(resp.status == 200)


def active() -> list[Component]:
    m = mode()
    return [c for c in COMPONENTS if m in c.modes]


def start(comp: Component, bins: dict[str, Path]) -> None:
    if comp.prepare:
        comp.prepare(bins)
    start_process(comp.name, bins[comp.binary], comp.args())
    wait_for(comp.ready_what, lambda: comp.ready(bins), comp.timeout, comp.name)
    if comp.settle:
        comp.settle(bins)


# --------------------------------------------------------------------------- commands


def healthy() -> bool:
    if not MODE_FILE.exists() or not all(running_pid(c.name) for c in active()):
        return False
    try:
        return api_get("/readyz") == b"ok"
    except OSError:
        return False


def choose_mode(bins: dict[str, Path]) -> str:
    want = os.environ.get("LOCALCLUSTER_REAL_NODE", "1") != "0"
    if want and os.geteuid() == 0:
        reclaim_stale_real_node(bins)
    reason = realnode.why_not(want)
    if reason is None:
        missing = [
            n
            for n in ("kubelet", "kube-proxy", "crictl", "pause", "agnhost", "kube-router")
            if not os.access(bins[n], os.X_OK)
        ]
        if not (bins["cni"] / "bridge").exists():
            missing.append("CNI plugins")
        if missing:
            reason = f"real-node binaries not built ({', '.join(missing)})"
    if reason:
        say(f"no real node: {reason}; starting the kwok-only cluster (every pod simulated)")
        return "kwok"
    return "real"


def up() -> None:
    if healthy():
        say(f"already up ({mode()} mode)")
        print_usage()
        return
    down(quiet=True)
    bins = binaries()
    require(
        bins,
        ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok", "coredns"],
    )
    check_ports()
    t0 = time.monotonic()
    if mounts := realnode.our_mounts(LAYOUT):
        # never delete through a mount: a pod volume may be a host directory
        raise ClusterError(
            f"{len(mounts)} mounts remain under {STATE} (first: {mounts[0]}); unmount them first"
        )
    for name in ("etcd", "pki", "logs", "pids", "kubelet", "containerd", "cni", "pod-logs"):
        shutil.rmtree(STATE / name, ignore_errors=True)
    for d in (PKI, LOGS, PIDS):
        d.mkdir(parents=True, exist_ok=True)
    chosen = choose_mode(bins)
    if chosen == "real":
        HOST_BEFORE.write_text(json.dumps(realnode.host_state(LAYOUT), indent=1))
    MODE_FILE.write_text(chosen + "\n")
    pki.make_pki(PKI, identities())
    server = f"https://{api_host()}:{PORTS.apiserver}"
    pki.write_kubeconfig(KUBECONFIG, server, PKI, "admin")
    for name, user in (
        ("kube-controller-manager", "controller-manager"),
        ("kube-scheduler", "scheduler"),
        ("kwok", "kwok"),
        ("coredns", "coredns"),
        ("kubelet", "node"),
        ("kube-proxy", "kube-proxy"),
        ("kube-router", "kube-router"),
    ):
        pki.write_kubeconfig(STATE / f"{name}.kubeconfig", server, PKI, user)
    (STATE / "kwok-port-forward.yaml").write_text(kwok_port_forward())
    if chosen == "real":
        realnode.setup_network(LAYOUT)
    for comp in active():
        t = time.monotonic()
        start(comp, bins)
        say(f"{comp.name} ready ({time.monotonic() - t:.1f}s)")
    write_env(bins)
    say(f"up in {time.monotonic() - t0:.1f}s ({chosen} mode)")
    print_usage()


def write_env(bins: dict[str, Path]) -> None:
    server, port = dns_server()
    (STATE / "env").write_text(
        f"export KUBECONFIG={KUBECONFIG}\n"
        f"export INSPECTOR_DNS_SERVER={server}:{port}\n"
        f"export LOCALCLUSTER_KUBECTL={bins['kubectl']}\n"
        f"export LOCALCLUSTER_ETCD=http://{LOOPBACK}:{PORTS.etcd}\n"
        f"export LOCALCLUSTER_MODE={mode()}\n"
        f"export LOCALCLUSTER_NODE_IP={realnode.NODE_IP if real() else ''}\n"
    )


def print_usage() -> None:
    server, port = dns_server()
    traffic = (
        f"Pods on node {realnode.NODE_NAME} really run; kwok nodes' pods are simulated (never send traffic to them)."
        if real()
        else "Pod and Service IPs here are simulated: never send traffic to them."
    )
    print(
        f"Local cluster is up (Kubernetes API https://{api_host()}:{PORTS.apiserver}, DNS {server}:{port}).\n"
        f"  source {STATE / 'env'}      # sets KUBECONFIG and INSPECTOR_DNS_SERVER\n"
        f"  .venv/bin/kubectl-svc_inspect diff -A\n"
        f"Logs: {LOGS}/   Stop: make cluster-down\n"
        f"{traffic}"
    )


def take_down_real_node(layout: realnode.Layout, bins: dict[str, Path] | None, quiet: bool) -> None:
    """Every host change of the real node whose state lives in `layout`, undone."""
    before_file = layout.state / HOST_BEFORE.name
    before = json.loads(before_file.read_text()) if before_file.exists() else None
    realnode.kill_leftovers(layout)
    realnode.unmount_all(layout)
    if bins is not None and os.access(bins["kube-proxy"], os.X_OK):
        subprocess.run([str(bins["kube-proxy"]), "--cleanup"], capture_output=True, check=False, timeout=60)
    realnode.teardown_network(layout, before)
    realnode.remove_cgroups()
    realnode.cleanup_files(layout)
    if before is not None:
        left = realnode.differences(before, realnode.host_state(layout))
        if left and not quiet:
            say("the host differs from before `up`:\n  " + "\n  ".join(left))


def reclaim_stale_real_node(bins: dict[str, Path]) -> None:
    """A real node left by a cluster whose processes were all killed (its session stopped without
    `down`) still holds the bridge, routes and chains: undo them, from its own records."""
    owner = realnode.stale_owner()
    if owner is None:
        return
    say(f"taking down the host changes of a stopped real node left by {owner}")
    stale = realnode.Layout(
        owner, SERVICE_CIDR, KWOK_POD_CIDR, CLUSTER_DNS_IP, CLUSTER_DOMAIN, LAYOUT.port_offset
    )
    take_down_real_node(stale, bins, quiet=True)
    with contextlib.suppress(OSError):
        (owner / MODE_FILE.name).unlink()


def down(quiet: bool = False) -> None:
    was_real = real()
    stopped = []
    bins: dict[str, Path] | None = None
    with contextlib.suppress(ClusterError, KeyError):
        bins = binaries()
    for comp in reversed(COMPONENTS):
        if comp.name == "containerd" and was_real and bins is not None:
            # containerd must still run for the CRI to tear each pod's network down
            realnode.remove_pods(LAYOUT, bins["crictl"])
        if stop_process(comp.name, comp.stop_grace):
            stopped.append(comp.name)
    if was_real:
        take_down_real_node(LAYOUT, bins, quiet)
        MODE_FILE.unlink(missing_ok=True)
    if not quiet:
        say(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")


def status() -> int:
    code = 0
    print(f"{'mode':26} {mode()}")
    for c in active():
        pid = running_pid(c.name)
        print(f"{c.name:26} {'running, pid ' + str(pid) if pid else 'stopped'}")
        code |= pid is None
    return int(code)


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "status"
    try:
        if cmd == "up":
            STATE.mkdir(parents=True, exist_ok=True)
            try:
                up()
            except BaseException:
                down(quiet=True)  # leave nothing half-started behind; the logs stay
                raise
        elif cmd == "down":
            down()
        elif cmd == "status":
            return status()
        elif cmd == "host-state":
            print(
                json.dumps(
                    {
                        "before": json.loads(HOST_BEFORE.read_text()) if HOST_BEFORE.exists() else None,
                        "now": realnode.host_state(LAYOUT),
                    }
                )
            )
        elif cmd in ("stop-component", "start-component") and len(argv) == 3 and argv[2] in BY_NAME:
            # fault injection for tests: stop one component, or start it again as `up` did
            comp = BY_NAME[argv[2]]
            if cmd == "stop-component":
                stop_process(comp.name, comp.stop_grace)
            elif running_pid(comp.name) is None:
                bins = binaries()
                start_process(comp.name, bins[comp.binary], comp.args())
                wait_for(comp.ready_what, lambda: comp.ready(bins), comp.timeout, comp.name)
                if comp.name == "kube-apiserver":
                    # their informers would back off for tens of seconds: start them afresh instead
                    for name in ("kube-controller-manager", "kube-scheduler"):
                        other = BY_NAME[name]
                        stop_process(name)
                        start_process(name, bins[other.binary], other.args())
        else:
            say("usage: localcluster.py up|down|status|host-state|stop-component NAME|start-component NAME")
            return 2
    except ClusterError as exc:
        say(str(exc))
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
