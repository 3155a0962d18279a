"""The local cluster: upstream Kubernetes components as plain processes on 127.0.0.1.

Why it exists: this project's tests and demo need a *real* API server, real endpoint controllers and
a real CoreDNS, and no container registry is reachable here, so kind cannot run. etcd,
kube-apiserver, kube-controller-manager, kube-scheduler, kwok (simulated nodes and kubelets) and
CoreDNS (its `kubernetes` plugin watching this API server) are built from their Go modules by
cluster/build.sh and started here. Pod and Service IPs are simulated: nothing may send traffic to them.

    python cluster/localcluster.py up|down|status
    python cluster/localcluster.py stop-component|start-component NAME   (fault injection in tests)

State lives in .cluster/ (kubeconfig, env, pki, logs, pids). `up` is idempotent; `down` stops every
process it started, by pid.
"""

from __future__ import annotations

import base64
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
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STATE = Path(os.environ.get("LOCALCLUSTER_DIR", ROOT / ".cluster")).resolve()
PKI, LOGS, PIDS = STATE / "pki", STATE / "logs", STATE / "pids"
KUBECONFIG = STATE / "kubeconfig"

HOST = "127.0.0.1"
# The address the `kubernetes` Service's endpoints show. The API refuses loopback there, so it is an
# address from TEST-NET-1 (RFC 5737, never routed); nothing ever connects to it.
ADVERTISE_IP = "192.0.2.1"
SERVICE_CIDR = "10.96.0.0/16"
CLUSTER_CIDR = "10.244.0.0/16"
CLUSTER_DOMAIN = "cluster.local"
NODES = ("kwok-node-0", "kwok-node-1")


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
# the order in which components start; `down` stops them in reverse
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "coredns")


class ClusterError(Exception):
    """A failure with a one-line explanation for the user."""


def say(msg: str) -> None:
    print(f"local-cluster: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- binaries


def binaries() -> dict[str, Path]:
    res = subprocess.run(
        ["bash", str(HERE / "build.sh"), "paths"], capture_output=True, text=True, check=False
    )
    if res.returncode:
        raise ClusterError(f"cluster/build.sh paths failed: {res.stderr.strip()}")
    out = res.stdout
    dirs = dict(line.split("=", 1) for line in out.split())
    paths = {
        "etcd": Path(dirs["ETCD_BIN"]) / "etcd",
        "kube-apiserver": Path(dirs["KUBE_BIN"]) / "kube-apiserver",
        "kube-controller-manager": Path(dirs["KUBE_BIN"]) / "kube-controller-manager",
        "kube-scheduler": Path(dirs["KUBE_BIN"]) / "kube-scheduler",
        "kubectl": Path(dirs["KUBE_BIN"]) / "kubectl",
        "kwok": Path(dirs["KWOK_BIN"]) / "kwok",
        "coredns": Path(dirs["COREDNS_BIN"]) / "coredns",
    }
    missing = [name for name, p in paths.items() if not os.access(p, os.X_OK)]
    if missing:
        raise ClusterError(f"binaries not built: {', '.join(missing)}; run `make cluster-binaries` first")
    return paths


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


def start(name: str, exe: Path, args: list[str]) -> None:
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


def stop(name: str) -> bool:
    pid = running_pid(name)
    pid_file(name).unlink(missing_ok=True)
    if pid is None:
        return False
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
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


def wait_for(what: str, check, timeout: float, component: str | None = None) -> None:
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


def port_busy(port: int, kind: int = socket.SOCK_STREAM) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def check_ports() -> None:
    for field in Ports.__dataclass_fields__:
        port = getattr(PORTS, field)
        if port_busy(port) or (field == "dns" and port_busy(port, socket.SOCK_DGRAM)):
            raise ClusterError(
                f"port {port} on {HOST} (for {field.replace('_', '-')}) is busy; "
                "free it or set LOCALCLUSTER_PORT_OFFSET to move every port"
            )


# --------------------------------------------------------------------------- pki and kubeconfigs


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=PKI)


def make_pki() -> None:
    PKI.mkdir(parents=True, exist_ok=True)
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "3650",
        "-subj",
        "/CN=local-cluster-ca",
    )
    openssl("genrsa", "-out", "sa.key", "2048")
    openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")
    sans = ",".join(
        [
            f"IP:{HOST}",
            "IP:10.96.0.1",
            "DNS:localhost",
            "DNS:kubernetes",
            "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc",
            f"DNS:kubernetes.default.svc.{CLUSTER_DOMAIN}",
        ]
    )
    certs = {
        "apiserver": ("/CN=kube-apiserver", f"subjectAltName={sans}\nextendedKeyUsage=serverAuth"),
        "admin": ("/O=system:masters/CN=kubernetes-admin", "extendedKeyUsage=clientAuth"),
        "controller-manager": ("/CN=system:kube-controller-manager", "extendedKeyUsage=clientAuth"),
        "scheduler": ("/CN=system:kube-scheduler", "extendedKeyUsage=clientAuth"),
        "kwok": ("/O=system:masters/CN=kwok-controller", "extendedKeyUsage=clientAuth"),
        "coredns": ("/CN=system:coredns", "extendedKeyUsage=clientAuth"),
        # the apiserver's client identity towards kwok's kubelet API (port-forward, logs, exec)
        "apiserver-kubelet-client": (
            "/O=system:masters/CN=kube-apiserver-kubelet-client",
            "extendedKeyUsage=clientAuth",
        ),
    }
    for name, (subj, ext) in certs.items():
        (PKI / f"{name}.ext").write_text(ext + "\n")
        openssl(
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            subj,
        )
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "3650",
            "-out",
            f"{name}.crt",
            "-extfile",
            f"{name}.ext",
        )


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(path: Path, user: str, namespace: str = "default") -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "local",
                "cluster": {
                    "server": f"https://{HOST}:{PORTS.apiserver}",
                    "certificate-authority-data": b64(PKI / "ca.crt"),
                },
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": b64(PKI / f"{user}.crt"),
                    "client-key-data": b64(PKI / f"{user}.key"),
                },
            }
        ],
        "contexts": [
            {"name": "local", "context": {"cluster": "local", "user": user, "namespace": namespace}}
        ],
        "current-context": "local",
    }
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)


def api_ssl_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(PKI / "ca.crt"))
    ctx.load_cert_chain(str(PKI / "admin.crt"), str(PKI / "admin.key"))
    return ctx


def api_get(path: str) -> bytes:
    url = f"https://{HOST}:{PORTS.apiserver}{path}"
    with urllib.request.urlopen(url, context=api_ssl_context(), timeout=5) as resp:
        return bytes(resp.read())


# --------------------------------------------------------------------------- components


def corefile() -> str:
    return f"""\
.:{PORTS.dns} {{
    bind {HOST}
    errors
    ready {HOST}:{PORTS.dns_ready}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {STATE / "coredns.kubeconfig"} local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 0
    }}
}}
"""


def kwok_port_forward() -> str:
    """The kube-dns pods' kubelet port-forward (as `kubectl port-forward` or the inspector use it)
    reaches the real CoreDNS: kwok forwards their port 53 to it."""
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
        address: {HOST}
        port: {PORTS.dns}
"""


def component_args(name: str) -> list[str]:
    p = PORTS
    kc = str(STATE / f"{name}.kubeconfig")
    common_kube = [
        f"--bind-address={HOST}",
        "--leader-elect=false",
        f"--authentication-kubeconfig={kc}",
        f"--authorization-kubeconfig={kc}",
        f"--kubeconfig={kc}",
    ]
    if name == "etcd":
        return [
            "--name=local",
            f"--data-dir={STATE / 'etcd'}",
            f"--listen-client-urls=http://{HOST}:{p.etcd}",
            f"--advertise-client-urls=http://{HOST}:{p.etcd}",
            f"--listen-peer-urls=http://{HOST}:{p.etcd_peer}",
            f"--initial-advertise-peer-urls=http://{HOST}:{p.etcd_peer}",
            f"--initial-cluster=local=http://{HOST}:{p.etcd_peer}",
            "--unsafe-no-fsync",
        ]
    if name == "kube-apiserver":
        return [
            f"--etcd-servers=http://{HOST}:{p.etcd}",
            f"--cert-dir={PKI}",
            f"--tls-cert-file={PKI / 'apiserver.crt'}",
            f"--tls-private-key-file={PKI / 'apiserver.key'}",
            f"--client-ca-file={PKI / 'ca.crt'}",
            f"--secure-port={p.apiserver}",
            f"--bind-address={HOST}",
            f"--advertise-address={ADVERTISE_IP}",
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
    if name == "kube-controller-manager":
        return [
            *common_kube,
            f"--secure-port={p.controller_manager}",
            f"--service-account-private-key-file={PKI / 'sa.key'}",
            f"--root-ca-file={PKI / 'ca.crt'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allocate-node-cidrs",
            f"--cluster-cidr={CLUSTER_CIDR}",
            "--node-cidr-mask-size=24",
            "--use-service-account-credentials=true",
        ]
    if name == "kube-scheduler":
        return [*common_kube, f"--secure-port={p.scheduler}"]
    if name == "kwok":
        return [
            f"--kubeconfig={kc}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--cidr={CLUSTER_CIDR}",
            f"--node-ip={HOST}",
            f"--node-port={p.kwok}",
            f"--server-address={HOST}:{p.kwok}",
            "--node-lease-duration-seconds=40",
            f"--config={HERE / 'kwok-stages.yaml'}",
            f"--config={STATE / 'kwok-port-forward.yaml'}",
            f"--tls-cert-file={PKI / 'apiserver.crt'}",
            f"--tls-private-key-file={PKI / 'apiserver.key'}",
        ]
    if name == "coredns":
        return ["-conf", str(STATE / "Corefile")]
    raise AssertionError(name)


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


def dns_answers(name: str) -> list[str]:
    import dns.message
    import dns.query
    import dns.rdatatype

    q = dns.message.make_query(name, dns.rdatatype.A)
    resp = dns.query.udp(q, HOST, port=PORTS.dns, timeout=1.0)
    return [r.to_text() for rrset in resp.answer for r in rrset]


# --------------------------------------------------------------------------- commands


def healthy() -> bool:
    if not all(running_pid(c) for c in COMPONENTS):
        return False
    try:
        return api_get("/readyz") == b"ok"
    except OSError:
        return False


def up() -> None:
    if healthy():
        say("already up")
        print_usage()
        return
    down(quiet=True)
    bins = binaries()
    check_ports()
    t0 = time.monotonic()
    for d in ("etcd", "pki", "logs", "pids"):
        shutil.rmtree(STATE / d, ignore_errors=True)
    for d in (PKI, LOGS, PIDS):
        d.mkdir(parents=True, exist_ok=True)
    make_pki()
    write_kubeconfig(KUBECONFIG, "admin")
    for comp, user in (
        ("kube-controller-manager", "controller-manager"),
        ("kube-scheduler", "scheduler"),
        ("kwok", "kwok"),
        ("coredns", "coredns"),
    ):
        write_kubeconfig(STATE / f"{comp}.kubeconfig", user)
    (STATE / "Corefile").write_text(corefile())
    (STATE / "kwok-port-forward.yaml").write_text(kwok_port_forward())

    start("etcd", bins["etcd"], component_args("etcd"))
    wait_for(
        "etcd",
        lambda: urllib.request.urlopen(f"http://{HOST}:{PORTS.etcd}/health", timeout=2).status == 200,
        30,
        "etcd",
    )
    start("kube-apiserver", bins["kube-apiserver"], component_args("kube-apiserver"))
    wait_for("the API server to be ready", lambda: api_get("/readyz") == b"ok", 120, "kube-apiserver")
    say(f"API server ready on https://{HOST}:{PORTS.apiserver}")

    # CoreDNS reads Services, EndpointSlices, Namespaces (and Pods for `pods insecure`)
    kubectl(bins, "apply", "-f", "-", stdin=COREDNS_RBAC)
    for comp in ("kube-controller-manager", "kube-scheduler", "kwok"):
        start(comp, bins[comp], component_args(comp))
    kubectl(bins, "apply", "-f", str(HERE / "manifests" / "nodes.yaml"))
    wait_for("two Ready kwok nodes", lambda: nodes_ready(bins) >= len(NODES), 90, "kwok")
    wait_for(
        "the default ServiceAccount",
        lambda: bool(kubectl(bins, "get", "serviceaccount", "default", "-o", "name")),
        60,
        "kube-controller-manager",
    )
    kubectl(bins, "apply", "-f", str(HERE / "manifests" / "kube-dns.yaml"))
    # the CoreDNS configuration where kubeadm and kind keep it (clients read the cluster domain there)
    kubectl(
        bins,
        "apply",
        "-f",
        "-",
        stdin=json.dumps(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "coredns", "namespace": "kube-system"},
                "data": {"Corefile": corefile()},
            }
        ),
    )
    start("coredns", bins["coredns"], component_args("coredns"))
    wait_for(
        f"CoreDNS to answer kubernetes.default.svc.{CLUSTER_DOMAIN}",
        lambda: "10.96.0.1" in dns_answers(f"kubernetes.default.svc.{CLUSTER_DOMAIN}."),
        60,
        "coredns",
    )
    wait_for(
        "the kube-dns pods to be Ready",
        lambda: (
            kubectl(
                bins,
                "-n",
                "kube-system",
                "get",
                "deploy",
                "coredns",
                "-o",
                "jsonpath={.status.readyReplicas}",
            ).strip()
            == "2"
        ),
        60,
    )
    write_env()
    say(f"up in {time.monotonic() - t0:.1f}s")
    print_usage()


def nodes_ready(bins: dict[str, Path]) -> int:
    out = kubectl(
        bins,
        "get",
        "nodes",
        "-o",
        'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
    )
    return out.split().count("True")


def write_env() -> None:
    (STATE / "env").write_text(
        f"export KUBECONFIG={KUBECONFIG}\n"
        f"export INSPECTOR_DNS_SERVER={HOST}:{PORTS.dns}\n"
        f"export LOCALCLUSTER_KUBECTL={binaries()['kubectl']}\n"
        f"export LOCALCLUSTER_ETCD=http://{HOST}:{PORTS.etcd}\n"
    )


def print_usage() -> None:
    print(
        f"Local cluster is up (Kubernetes API https://{HOST}:{PORTS.apiserver}, CoreDNS {HOST}:{PORTS.dns}).\n"
        f"  source {STATE / 'env'}      # sets KUBECONFIG and INSPECTOR_DNS_SERVER\n"
        f"  kubectl-inspect diff -A\n"
        f"Logs: {LOGS}/   Stop: make cluster-down\n"
        "Pod and Service IPs here are simulated: never send traffic to them."
    )


def down(quiet: bool = False) -> None:
    stopped = [c for c in reversed(COMPONENTS) if stop(c)]
    if not quiet:
        say(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")


def status() -> int:
    code = 0
    for c in COMPONENTS:
        pid = running_pid(c)
        print(f"{c:26} {'running, pid ' + str(pid) if pid else 'stopped'}")
        code |= pid is None
    return int(code)


COREDNS_RBAC = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:coredns
rules:
  - apiGroups: [""]
    resources: [endpoints, services, pods, namespaces]
    verbs: [list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:coredns
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:coredns
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: User
    name: system:coredns
"""


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
        elif cmd in ("stop-component", "start-component") and len(argv) == 3 and argv[2] in COMPONENTS:
            # fault injection for tests: stop one component, or start it again as `up` did
            if cmd == "stop-component":
                stop(argv[2])
            elif running_pid(argv[2]) is None:
                bins = binaries()
                start(argv[2], bins[argv[2]], component_args(argv[2]))
                if argv[2] == "kube-apiserver":
                    wait_for(
                        "the API server to be ready",
                        lambda: api_get("/readyz") == b"ok",
                        120,
                        "kube-apiserver",
                    )
                    # their informers would back off for tens of seconds: start them afresh instead
                    for comp in ("kube-controller-manager", "kube-scheduler"):
                        stop(comp)
                        start(comp, bins[comp], component_args(comp))
        else:
            say("usage: localcluster.py up|down|status|stop-component NAME|start-component NAME")
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
