"""The local cluster: upstream Kubernetes components as plain processes, and real nodes.

Why it exists: this project's tests and demo need a *real* API server, real endpoint controllers,
a real CoreDNS and, to observe traffic, pods that really run, on several nodes (Services fail per
node). No container registry is reachable here, so kind cannot run: etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, kwok (simulated nodes for tests that need many pods), and
every real node's containerd, kubelet, kube-proxy and kube-router are built or installed by
cluster/build.sh and started here, from the component table of cluster/components.py.

    python cluster/localcluster.py up|down|status
    python cluster/localcluster.py stop-component|start-component NAME [--node NODE]
    python cluster/localcluster.py cut-node|mend-node NODE
    python cluster/localcluster.py stall-proxy|unstall-proxy NODE
    python cluster/localcluster.py host-state                            (JSON, for the leak test)
    python cluster/localcluster.py serve-image [--load]     (serve's image; --load: into the real nodes)

Two modes, chosen by `up` and written to .cluster/mode:
- real: root, containerd and runc present (the project's machines and CI). Three real nodes by
  default (LOCALCLUSTER_REAL_NODES=N), each in its own network namespace and zone, kube-proxy in
  LOCALCLUSTER_PROXY_MODE (iptables or nftables); the API server serves on the host's address on
  the node network; CoreDNS runs as two pods on two nodes behind kube-dns.
- kwok: anything else, or LOCALCLUSTER_REAL_NODE=0. Every pod is simulated, CoreDNS is a host
  process on 127.0.0.1, and nothing may send traffic to pod or Service IPs.

State lives in .cluster/ (kubeconfig, env, pki, logs, pids, nodes/). `up` is idempotent; `down`
stops every process it started, by pid, and restores every host change the real nodes made.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import hostnet  # noqa: E402
import images  # noqa: E402
import nodes  # noqa: E402
import pki  # noqa: E402
from components import (  # noqa: E402
    BY_NAME,
    COMPONENTS,
    HOST_BEFORE,
    KUBECONFIG,
    KWOK_POD_CIDR,
    LOOPBACK,
    MODE_FILE,
    NODES_FILE,
    PKI,
    PORTS,
    PROCS,
    SERVICE_CIDR,
    STATE,
    Component,
    Ports,
    active,
    api_get,
    api_host,
    binaries,
    dns_server,
    host_network,
    identities,
    kwok_port_forward,
    make_nodes,
    mode,
    nodes_record,
    real,
    real_nodes,
    say,
    start,
    start_instance,
    wait_instance,
    wanted_nodes,
)
from processes import ClusterError, port_busy  # noqa: E402

USAGE = (
    "usage: localcluster.py up|down|status|host-state|stop-component NAME [--node NODE]"
    "|start-component NAME [--node NODE]|cut-node NODE|mend-node NODE|stall-proxy NODE|unstall-proxy NODE"
    "|serve-image [--load]"
)


def require(bins: dict[str, Path], names: list[str]) -> None:
    missing = [n for n in names if not os.access(bins[n], os.X_OK)]
    if missing:
        raise ClusterError(f"binaries not built: {', '.join(missing)}; run `make cluster-binaries` first")


def check_ports() -> None:
    for name in Ports.__dataclass_fields__:
        port = getattr(PORTS, name)
        if port_busy(LOOPBACK, port) or (name == "dns" and port_busy(LOOPBACK, port, socket.SOCK_DGRAM)):
            raise ClusterError(
                f"port {port} on {LOOPBACK} (for {name.replace('_', '-')}) is busy; "
                "free it or set LOCALCLUSTER_PORT_OFFSET to move every port"
            )


def healthy() -> bool:
    if not MODE_FILE.exists():
        return False
    if not all(PROCS.running(name) for c in active() for name, _ in c.instances(real_nodes())):
        return False
    try:
        return api_get("/readyz") == b"ok"
    except OSError:
        return False


def choose_mode(bins: dict[str, Path]) -> tuple[str, int, str]:
    """(mode, real nodes, kube-proxy mode): what the settings ask, if this machine can give it."""
    count, proxy_mode, refusal = wanted_nodes()
    if refusal is None and os.geteuid() == 0:
        reclaim_stale(bins)
    reason = hostnet.why_not(refusal)
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
        return "kwok", 0, proxy_mode
    return "real", count, proxy_mode


def host_processes(state: Path, real: list[nodes.Node]) -> tuple[list[str], list[str]]:
    """The executables of the real nodes' leftover processes, and their mounts."""
    procs, mounts = [], []
    for n in real:
        for pid in nodes.processes(n):
            with contextlib.suppress(OSError):
                procs.append(
                    Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
                )
        mounts += nodes.mounts(n)
    return procs, mounts


def host_state(state: Path = STATE) -> dict[str, list[str]]:
    return hostnet.host_state(*host_processes(state, real_nodes(state)))


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
    lost = hostnet.cut_off([KWOK_POD_CIDR, SERVICE_CIDR, hostnet.POD_CIDR, hostnet.NODE_NET])
    if lost:
        raise ClusterError(
            f"the host's DNS server {', '.join(lost)} lies in a range the cluster takes over: while it ran, "
            "this host could resolve no name"
        )
    t0 = time.monotonic()
    if any(nodes.mounts(n) for n in make_nodes(nodes.MAX_NODES, "iptables")):
        # never delete through a mount: a pod volume may be a host directory
        raise ClusterError(f"mounts remain under {STATE}; unmount them first")
    for name in ("etcd", "pki", "logs", "pids", "nodes", "kubelet", "containerd", "cni", "pod-logs"):
        shutil.rmtree(STATE / name, ignore_errors=True)
    for d in (PKI, PROCS.logs, PROCS.pids):
        d.mkdir(parents=True, exist_ok=True)
    chosen, count, proxy_mode = choose_mode(bins)
    NODES_FILE.write_text(json.dumps(nodes_record(count, proxy_mode)) + "\n")
    real_ones = real_nodes()
    if chosen == "real":
        HOST_BEFORE.write_text(json.dumps(host_state(), indent=1))
    MODE_FILE.write_text(chosen + "\n")
    pki.make_pki(PKI, identities(real_ones))
    server = f"https://{api_host()}:{PORTS.apiserver}"
    pki.write_kubeconfig(KUBECONFIG, server, PKI, "admin")
    for name, user in (
        ("kube-controller-manager", "controller-manager"),
        ("kube-scheduler", "scheduler"),
        ("kwok", "kwok"),
        ("coredns", "coredns"),
        ("kube-proxy", "kube-proxy"),
        ("kube-router", "kube-router"),
    ):
        pki.write_kubeconfig(STATE / f"{name}.kubeconfig", server, PKI, user)
    (STATE / "kwok-port-forward.yaml").write_text(kwok_port_forward())
    if chosen == "real":
        hostnet.setup_network(host_network(STATE, real_ones))
        for n in real_ones:
            nodes.setup_network(n, real_ones)
    for comp in active():
        t = time.monotonic()
        start(comp, bins)
        say(f"{comp.name} ready ({time.monotonic() - t:.1f}s)")
    write_env(bins)
    say(
        f"up in {time.monotonic() - t0:.1f}s ({chosen} mode"
        + (f", {count} real nodes, kube-proxy {proxy_mode})" if count else ")")
    )
    print_usage()


def write_env(bins: dict[str, Path]) -> None:
    server, port = dns_server()
    real_ones = real_nodes()
    (STATE / "env").write_text(
        f"export KUBECONFIG={KUBECONFIG}\n"
        f"export INSPECTOR_DNS_SERVER={server}:{port}\n"
        f"export LOCALCLUSTER_KUBECTL={bins['kubectl']}\n"
        f"export LOCALCLUSTER_ETCD=http://{LOOPBACK}:{PORTS.etcd}\n"
        f"export LOCALCLUSTER_MODE={mode()}\n"
        f"export LOCALCLUSTER_API_IP={hostnet.API_IP if real() else ''}\n"
        # the first node's address: where the host's Service traffic enters the cluster
        f"export LOCALCLUSTER_NODE_IP={real_ones[0].ip if real_ones else ''}\n"
        # NAME=IP=NETNS of every real node, space-separated
        f"export LOCALCLUSTER_NODES='{' '.join(f'{n.name}={n.ip}={n.netns}' for n in real_ones)}'\n"
        f"export LOCALCLUSTER_PROXY_MODE={real_ones[0].proxy_mode if real_ones else ''}\n"
    )


def print_usage() -> None:
    server, port = dns_server()
    real_ones = real_nodes()
    traffic = (
        f"Pods on nodes {', '.join(n.name for n in real_ones)} really run; kwok nodes' pods are simulated "
        "(never send traffic to them)."
        if real()
        else "Pod and Service IPs here are simulated: never send traffic to them."
    )
    print(
        f"Local cluster is up (Kubernetes API https://{api_host()}:{PORTS.apiserver}, DNS {server}:{port}).\n"
        f"  source {STATE / 'env'}      # sets KUBECONFIG and INSPECTOR_DNS_SERVER\n"
        f"  .venv/bin/kubectl-svc_inspect diff -A\n"
        f"Logs: {PROCS.logs}/   Stop: make cluster-down\n"
        f"{traffic}"
    )


def take_down_real_nodes(state: Path, quiet: bool) -> None:
    """Every host change of the real nodes whose state lives in `state`, undone."""
    before_file = state / HOST_BEFORE.name
    before = json.loads(before_file.read_text()) if before_file.exists() else None
    real_ones = real_nodes(state)
    for n in real_ones:
        nodes.take_down(n)
    hostnet.teardown_network(host_network(state, real_ones), before)
    if before is not None:
        left = hostnet.differences(before, host_state(state))
        if left and not quiet:
            say("the host differs from before `up`:\n  " + "\n  ".join(left))


def reclaim_stale(bins: dict[str, Path]) -> None:
    """Real nodes left by a cluster whose processes were all killed (its session stopped without
    `down`) still hold the bridge, namespaces, routes and chains: undo them, from its own records."""
    owner = hostnet.stale_owner()
    if owner is None:
        return
    say(f"taking down the host changes of stopped real nodes left by {owner}")
    for n in real_nodes(owner):
        nodes.remove_pods(n, bins["crictl"])
    take_down_real_nodes(owner, quiet=True)
    with contextlib.suppress(OSError):
        (owner / MODE_FILE.name).unlink()


def down(quiet: bool = False) -> None:
    was_real = real()
    real_ones = real_nodes()
    stopped = []
    bins: dict[str, Path] | None = None
    with contextlib.suppress(ClusterError, KeyError):
        bins = binaries()
    for comp in reversed(COMPONENTS):
        if comp.name == "containerd" and was_real and bins is not None:
            # containerd must still run for the CRI to tear each pod's network down
            for n in real_ones:
                nodes.remove_pods(n, bins["crictl"])
        for name, _ in comp.instances(real_ones):
            if PROCS.stop(name, comp.stop_grace):
                stopped.append(name)
    if was_real:
        take_down_real_nodes(STATE, quiet)
        MODE_FILE.unlink(missing_ok=True)
    if not quiet:
        say(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")


def status() -> int:
    code = 0
    print(f"{'mode':26} {mode()}")
    for c in active():
        for name, _ in c.instances(real_nodes()):
            pid = PROCS.running(name)
            print(f"{name:26} {'running, pid ' + str(pid) if pid else 'stopped'}")
            code |= pid is None
    return int(code)


def find_node(name: str) -> nodes.Node:
    for n in real_nodes():
        if n.name == name:
            return n
    known = ", ".join(n.name for n in real_nodes()) or "none: the cluster runs no real node"
    raise ClusterError(f"no real node {name!r} (real nodes: {known})")


def fault(cmd: str, comp: Component, node_name: str | None) -> None:
    """Stops one component (on one node, or everywhere), or starts it again as `up` did. A stopped
    kube-proxy leaves its rules in place, as a crashed one would."""
    targets = comp.instances(real_nodes())
    if node_name is not None:
        if not comp.per_node:
            raise ClusterError(f"{comp.name} is not a per-node component: --node does not apply")
        targets = [(name, n) for name, n in targets if n is not None and n.name == find_node(node_name).name]
    if cmd == "stop-component":
        for name, _ in targets:
            PROCS.stop(name, comp.stop_grace)
        return
    bins = binaries()
    for name, node in targets:
        if PROCS.running(name) is None:
            start_instance(comp, bins, name, node)
            wait_instance(comp, bins, name, node)
    if comp.name == "kube-apiserver":
        # their informers would back off for tens of seconds: start them afresh instead
        for other_name in ("kube-controller-manager", "kube-scheduler"):
            other = BY_NAME[other_name]
            PROCS.stop(other_name)
            start_instance(other, bins, other_name, None)


def serve_image(load: bool) -> Path:
    """Builds serve's image from this work tree (the package and its dependencies installed by pip
    for CPython 3.11, then packed with Debian's interpreter); with `load`, imports it into every real
    node's containerd, as `up` does the cluster's own images. Returns the archive's path."""
    import subprocess

    t0 = time.monotonic()
    site = STATE / "serve-site"
    shutil.rmtree(site, ignore_errors=True)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *("--python-version", "3.11", "--only-binary=:all:", "--target", str(site)),
            *("--find-links", str(_wheel(site.parent / "serve-wheel")), "kubectl-svc-inspect"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ClusterError(f"installing the inspector for serve's image failed: {done.stderr.strip()}")
    archive = images.written(images.serve_image(site), Path(binaries()["pause"]).parent.parent / "images")
    targets = real_nodes() if load else []
    if load and not targets:
        raise ClusterError("no real node to load serve's image into: the cluster runs kwok-only")
    for n in targets:
        nodes.import_images(n, [archive])
    where = f", imported into {len(targets)} node(s)" if targets else ""
    say(f"{images.SERVE} built in {time.monotonic() - t0:.1f}s ({archive.stat().st_size:,} bytes){where}")
    print(archive)
    return archive


def _wheel(out: Path) -> Path:
    """The inspector's wheel, built from this work tree into `out`."""
    import subprocess

    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(out),
            str(HERE.parent),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ClusterError(f"building the inspector's wheel failed: {done.stderr.strip()}")
    return out


def main(argv: list[str]) -> int:
    args = argv[1:] or ["status"]
    cmd = args[0]
    try:
        if cmd == "up" and len(args) == 1:
            STATE.mkdir(parents=True, exist_ok=True)
            try:
                up()
            except BaseException:
                down(quiet=True)  # leave nothing half-started behind; the logs stay
                raise
        elif cmd == "down" and len(args) == 1:
            down()
        elif cmd == "status" and len(args) == 1:
            return status()
        elif cmd == "host-state" and len(args) == 1:
            before = json.loads(HOST_BEFORE.read_text()) if HOST_BEFORE.exists() else None
            print(json.dumps({"before": before, "now": host_state()}))
        elif cmd in ("stop-component", "start-component") and len(args) in (2, 4) and args[1] in BY_NAME:
            if len(args) == 4 and args[2] != "--node":
                say(USAGE)
                return 2
            fault(cmd, BY_NAME[args[1]], args[3] if len(args) == 4 else None)
        elif cmd == "serve-image" and args[1:] in ([], ["--load"]):
            serve_image(load=args[1:] == ["--load"])
        elif cmd in ("cut-node", "mend-node") and len(args) == 2:
            nodes.cut(find_node(args[1]), down=cmd == "cut-node")
        elif cmd == "stall-proxy" and len(args) == 2:
            # kube-proxy keeps running and answering /healthz, but its next rule update hangs
            find_node(args[1]).stall_file.touch()
        elif cmd == "unstall-proxy" and len(args) == 2:
            find_node(args[1]).stall_file.unlink(missing_ok=True)
        else:
            say(USAGE)
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
