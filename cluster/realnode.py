"""The real node: containerd, runc, CNI, a kubelet and kube-proxy on this host, fenced in.

Why it exists: kwok's simulated pods never run, so nothing about traffic could be observed. This
module holds everything the real node changes on the host, so that one place sets it up, one place
takes it down, and one function (`host_state`) lets a test prove that `down` left nothing behind.

Safety (see shared REAL-NODE.md): this machine's default gateway must never be reached.
- The node IP lives on a bridge we create (`kin0`); the API server advertises and serves there.
- Packets forwarded from pods are routed by a table that knows only the pod range and `prohibit`s
  everything else (an `ip rule` on `iif kin0`).
- The Service range and kwok's simulated pod range route to a bridge with no ports (`kin-void`), so
  an address no rule rewrites goes nowhere; a guard chain rejects any packet whose destination was
  rewritten (DNAT) to anything but a pod or this host.
- containerd sends every registry host to a closed port on 127.0.0.1: only images built here run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

NODE_NAME = "real-node"
BRIDGE = "kin0"
VOID = "kin-void"
NODE_IP = "10.88.0.1"
POD_CIDR = "10.88.0.0/16"
ROUTE_TABLE = "4863"  # the pods' routing table, and the priority of the rule that sends them to it
GUARD_CHAIN = "KIN-GUARD"
# a registry "mirror" nobody listens on: a pull of an image that was not built here fails at once
CLOSED_REGISTRY = "https://127.0.0.1:9"
# the chains our components create (kube-proxy, the kubelet, the CNI portmap plugin, our guard)
CHAIN_PREFIXES = ("KUBE-", "CNI-", "KIN-")
# what the kubelet (protectKernelDefaults: false), kube-proxy and the pods' routing need changed
SYSCTLS = (
    "net/ipv4/ip_forward",
    "net/bridge/bridge-nf-call-iptables",
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
DEBIAN_PACKAGES = {
    "containerd": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "iptables": "iptables",
    "ip": "iproute2",
    "conntrack": "conntrack",
    "ipset": "ipset",
    "busybox": "busybox-static",
    "getent": "libc-bin",
}


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(list(args), capture_output=True, text=True, check=False)
    if check and res.returncode:
        raise RuntimeError(f"{shlex.join(args)} failed: {(res.stderr or res.stdout).strip()}")
    return res


@dataclass(frozen=True)
class Layout:
    """Where the real node keeps its files: STATE on disk, a short run directory for sockets."""

    state: Path
    service_cidr: str
    kwok_pod_cidr: str
    cluster_dns: str
    cluster_domain: str
    port_offset: int

    @property
    def run_dir(self) -> Path:
        # unix socket paths are limited to 108 bytes: keep them short whatever the checkout's path
        return Path("/run") / f"kin-{hashlib.sha256(str(self.state).encode()).hexdigest()[:8]}"

    @property
    def socket(self) -> Path:
        return self.run_dir / "containerd.sock"

    @property
    def cni_bin(self) -> Path:
        return self.state / "cni" / "bin"

    @property
    def kubelet_healthz_port(self) -> int:
        return 26248 + self.port_offset

    @property
    def proxy_healthz_port(self) -> int:
        return 26256 + self.port_offset

    @property
    def proxy_metrics_port(self) -> int:
        return 26249 + self.port_offset


# --------------------------------------------------------------------------- can it run here?


def capabilities() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def why_not(want: bool) -> str | None:
    """Why this machine cannot run the real node (one line), or None when it can."""
    if not want:
        return "LOCALCLUSTER_REAL_NODE=0 asks for the kwok-only cluster"
    if os.geteuid() != 0:
        return "the real node needs root (containerd, network namespaces, iptables)"
    caps = capabilities()
    for bit, name in ((12, "CAP_NET_ADMIN"), (21, "CAP_SYS_ADMIN")):
        if not caps & (1 << bit):
            return f"the real node needs {name}, which this process lacks"
    missing = [cmd for cmd in DEBIAN_PACKAGES if shutil.which(cmd) is None]
    if missing:
        pkgs = sorted({DEBIAN_PACKAGES[c] for c in missing})
        return f"missing {', '.join(missing)} (Debian packages: {' '.join(pkgs)})"
    if not Path("/proc/sys/net/bridge/bridge-nf-call-iptables").exists():
        return "the kernel has no br_netfilter (net.bridge.bridge-nf-call-iptables is absent)"
    if run("ip", "link", "show", BRIDGE, check=False).returncode == 0:
        return f"bridge {BRIDGE} exists already: another local cluster's real node is up"
    return None


# --------------------------------------------------------------------------- the host network


def read_sysctl(name: str) -> str | None:
    try:
        return (Path("/proc/sys") / name).read_text().strip()
    except OSError:
        return None


def write_sysctl(name: str, value: str) -> None:
    with contextlib.suppress(OSError):
        (Path("/proc/sys") / name).write_text(value + "\n")


# which checkout's cluster set the host network up: a later `up` elsewhere (a CI clone after a
# session was stopped) can then take a dead one's changes down instead of refusing to start
OWNER_FILE = Path("/run/kin-owner")


def stale_owner() -> Path | None:
    """The state directory of a real node whose bridge exists but none of whose processes runs."""
    if run("ip", "link", "show", BRIDGE, check=False).returncode:
        return None
    try:
        owner = Path(OWNER_FILE.read_text().strip())
    except OSError:
        return None
    for pid_file in (owner / "pids").glob("*.pid"):
        try:
            pid, exe = pid_file.read_text().split("\n", 1)
            if Path(f"/proc/{int(pid)}/cmdline").read_bytes().split(b"\0")[0].decode() == exe.strip():
                return None  # alive: that cluster is up
        except (OSError, ValueError):
            continue
    return owner


def setup_network(layout: Layout) -> None:
    """Bridges, routes, the pods' routing table and the guard chain. Records what it changes."""
    saved = {name: read_sysctl(name) for name in SYSCTLS}
    (layout.state / "host-sysctls.json").write_text(json.dumps(saved))
    OWNER_FILE.write_text(f"{layout.state}\n")
    run("ip", "link", "add", BRIDGE, "type", "bridge")
    run("ip", "addr", "add", f"{NODE_IP}/16", "dev", BRIDGE)
    run("ip", "link", "set", BRIDGE, "up")
    run("ip", "link", "add", VOID, "type", "bridge")
    run("ip", "link", "set", VOID, "up")
    # the host's own traffic to Service IPs must find a route before kube-proxy's DNAT rewrites it;
    # what no rule rewrites (and kwok's fake pod IPs) dies on the port-less bridge
    for cidr in (layout.service_cidr, layout.kwok_pod_cidr):
        run("ip", "route", "add", cidr, "dev", VOID, "src", NODE_IP)
    run("ip", "route", "add", POD_CIDR, "dev", BRIDGE, "src", NODE_IP, "table", ROUTE_TABLE)
    run("ip", "route", "add", "prohibit", "default", "table", ROUTE_TABLE)
    run("ip", "rule", "add", "iif", BRIDGE, "lookup", ROUTE_TABLE, "priority", ROUTE_TABLE)
    # a packet whose destination kube-proxy rewrote may go to a pod or to this host, nowhere else
    # (matched on the new destination: `-o` still names the interface routed before the rewrite)
    run("iptables", "-w", "-N", GUARD_CHAIN)
    for cidr in (POD_CIDR, "127.0.0.0/8"):
        run("iptables", "-w", "-A", GUARD_CHAIN, "-d", cidr, "-j", "RETURN")
    run("iptables", "-w", "-A", GUARD_CHAIN, "-m", "conntrack", "--ctstate", "DNAT", "-j", "REJECT")
    for builtin in ("OUTPUT", "FORWARD"):
        run("iptables", "-w", "-I", builtin, "1", "-j", GUARD_CHAIN)
    write_sysctl("net/ipv4/ip_forward", "1")
    write_sysctl("net/bridge/bridge-nf-call-iptables", "1")


def remove_chains(before: dict[str, list[str]] | None) -> None:
    """Deletes the chains our components created: the jumps to them first, then flush and delete.
    Chains that existed before `up` (named in `before`) are left alone."""
    for tool in ("iptables", "ip6tables"):
        if shutil.which(tool) is None:
            continue
        existed = set((before or {}).get(tool, []))
        for table in ("filter", "nat", "mangle", "raw"):
            dump = run(f"{tool}-save", "-t", table, check=False).stdout
            ours = {
                line[1:].split()[0]
                for line in dump.splitlines()
                if line.startswith(":") and line[1:].startswith(CHAIN_PREFIXES)
            }
            ours = {c for c in ours if f"{table}:{c}" not in existed}
            if not ours:
                continue
            for line in dump.splitlines():
                parts = shlex.split(line) if line.startswith("-A ") else []
                if parts and parts[1] not in ours and any(p in ours for p in parts[2:]):
                    run(tool, "-w", "-t", table, "-D", *parts[1:], check=False)
            for chain in ours:
                run(tool, "-w", "-t", table, "-F", chain, check=False)
            for chain in ours:
                run(tool, "-w", "-t", table, "-X", chain, check=False)


def teardown_network(layout: Layout, before: dict[str, list[str]] | None) -> None:
    remove_chains(before)
    run("ip", "rule", "del", "priority", ROUTE_TABLE, check=False)
    run("ip", "route", "flush", "table", ROUTE_TABLE, check=False)
    for cidr in (layout.service_cidr, layout.kwok_pod_cidr):
        run("ip", "route", "del", cidr, "dev", VOID, check=False)
    # veths whose pod namespace outlived its pod, then the bridges
    for line in run("ip", "-o", "link", "show", "type", "veth", check=False).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if f"master {BRIDGE}" in line:
            run("ip", "link", "del", name, check=False)
    for link in (VOID, BRIDGE):
        run("ip", "link", "del", link, check=False)
    # kube-proxy's nftables tables (it checks for them even in iptables mode)
    existed = set((before or {}).get("nftables", []))
    for family in ("ip", "ip6"):
        if shutil.which("nft") and f"table {family} kube-proxy" not in existed:
            run("nft", "delete", "table", family, "kube-proxy", check=False)
    # kube-router's ipsets (the rules that used them are gone)
    if shutil.which("ipset"):
        had = set((before or {}).get("ipsets", []))
        for name in run("ipset", "list", "-n", check=False).stdout.split():
            if name not in had:
                run("ipset", "destroy", name, check=False)
    with contextlib.suppress(OSError):
        if OWNER_FILE.read_text().strip() == str(layout.state):
            OWNER_FILE.unlink()
    saved_file = layout.state / "host-sysctls.json"
    if saved_file.exists():
        for name, value in json.loads(saved_file.read_text()).items():
            if value is not None and read_sysctl(name) != value:
                write_sysctl(name, value)
        saved_file.unlink()


# --------------------------------------------------------------------------- configuration files


def containerd_config(layout: Layout, sandbox_image: str) -> str:
    s, r = layout.state, layout.run_dir
    return f"""\
version = 2
root = "{s / "containerd" / "root"}"
state = "{r / "state"}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{layout.socket}"

[ttrpc]
  address = "{layout.socket}.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  # CAP_SYS_RESOURCE is missing here: runc may only raise a process's oom_score_adj
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{layout.cni_bin}"
    conf_dir = "{s / "cni" / "net.d"}"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{s / "containerd" / "certs.d"}"
"""


def closed_registry_hosts() -> str:
    """hosts.toml for `_default`: every registry host is the closed port, for every operation."""
    return f"""\
server = "{CLOSED_REGISTRY}"

[host."{CLOSED_REGISTRY}"]
  capabilities = ["pull", "resolve"]
"""


def cni_config(layout: Layout) -> str:
    return json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": "kin",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": BRIDGE,
                    "isGateway": True,
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": POD_CIDR, "gateway": NODE_IP}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(layout.state / "cni" / "ipam"),
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        },
        indent=2,
    )


def kubelet_config(layout: Layout) -> str:
    s = layout.state
    return json.dumps(
        {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": NODE_IP,
            "port": 10250,
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": layout.kubelet_healthz_port,
            "authentication": {
                "x509": {"clientCAFile": str(s / "pki" / "ca.crt")},
                "webhook": {"enabled": True},
                "anonymous": {"enabled": False},
            },
            "authorization": {"mode": "Webhook"},
            "tlsCertFile": str(s / "pki" / "kubelet.crt"),
            "tlsPrivateKeyFile": str(s / "pki" / "kubelet.key"),
            "cgroupDriver": "cgroupfs",
            "failCgroupV1": False,
            "containerRuntimeEndpoint": f"unix://{layout.socket}",
            "clusterDNS": [layout.cluster_dns],
            "clusterDomain": layout.cluster_domain,
            # an empty file: no pod inherits this machine's resolver
            "resolvConf": str(s / "kubelet-resolv.conf"),
            "failSwapOn": False,
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "evictionHard": {
                "memory.available": "50Mi",
                "nodefs.available": "1%",
                "nodefs.inodesFree": "1%",
                "imagefs.available": "1%",
            },
            "podLogsDir": str(s / "pod-logs"),
            "serializeImagePulls": False,
            "protectKernelDefaults": False,
            "shutdownGracePeriod": "0s",
            "maxPods": 110,
            "syncFrequency": "10s",
            "fileCheckFrequency": "10s",
        },
        indent=2,
    )


def kube_proxy_config(layout: Layout) -> str:
    return json.dumps(
        {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(layout.state / "kube-proxy.kubeconfig")},
            "hostnameOverride": NODE_NAME,
            "mode": "iptables",
            "clusterCIDR": POD_CIDR,
            "detectLocalMode": "ClusterCIDR",
            "nodePortAddresses": [f"{NODE_IP}/32"],
            "bindAddress": NODE_IP,
            "healthzBindAddress": f"127.0.0.1:{layout.proxy_healthz_port}",
            "metricsBindAddress": f"127.0.0.1:{layout.proxy_metrics_port}",
            # zero: kube-proxy leaves the host's conntrack sysctls as they are
            "conntrack": {
                "maxPerCore": 0,
                "min": 0,
                "tcpEstablishedTimeout": "0s",
                "tcpCloseWaitTimeout": "0s",
            },
            "iptables": {"minSyncPeriod": "0s", "syncPeriod": "30s"},
        },
        indent=2,
    )


def write_configs(layout: Layout, sandbox_image: str) -> None:
    s = layout.state
    for d in (
        s / "containerd" / "certs.d" / "_default",
        s / "cni" / "net.d",
        s / "cni" / "ipam",
        s / "kubelet",
        s / "pod-logs",
        layout.run_dir,
    ):
        d.mkdir(parents=True, exist_ok=True)
    (s / "containerd.toml").write_text(containerd_config(layout, sandbox_image))
    (s / "containerd" / "certs.d" / "_default" / "hosts.toml").write_text(closed_registry_hosts())
    (s / "cni" / "net.d" / "10-kin.conflist").write_text(cni_config(layout))
    (s / "kubelet-config.json").write_text(kubelet_config(layout))
    (s / "kubelet-resolv.conf").write_text("")
    (s / "kube-proxy-config.json").write_text(kube_proxy_config(layout))


def install_cni_plugins(layout: Layout, plugin_dir: Path) -> None:
    layout.cni_bin.mkdir(parents=True, exist_ok=True)
    for plugin in ("bridge", "host-local", "loopback", "portmap"):
        target = layout.cni_bin / plugin
        if not target.exists():
            target.symlink_to(plugin_dir / plugin)


# --------------------------------------------------------------------------- taking it down


def ctr(layout: Layout, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return run("ctr", "--address", str(layout.socket), "--namespace", "k8s.io", *args, check=check)


def import_images(layout: Layout, archives: list[Path]) -> None:
    for archive in archives:
        ctr(layout, "images", "import", "--no-unpack=false", str(archive), check=True)


def remove_pods(layout: Layout, crictl: Path) -> None:
    """Stops and removes every pod sandbox through the CRI, so that CNI releases each pod's
    network (veth, IP, portmap rules) the proper way. containerd must still be running."""
    if not layout.socket.exists():
        return
    endpoint = f"unix://{layout.socket}"
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(
            [str(crictl), "--runtime-endpoint", endpoint, "--timeout", "20s", "rmp", "--force", "--all"],
            capture_output=True,
            timeout=90,
            check=False,
        )


def our_processes(layout: Layout) -> list[int]:
    """Processes of the real node that outlive containerd: shims and container processes (whose
    working directory or command line lies in our state or run directory)."""
    marks = (str(layout.state), str(layout.run_dir))
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if any(m in cmdline or cwd.startswith(m) for m in marks):
            pids.append(int(proc.name))
    return pids


def kill_leftovers(layout: Layout) -> None:
    for _ in range(3):
        pids = our_processes(layout)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            for pid in pids:
                with contextlib.suppress(ChildProcessError, ProcessLookupError):
                    os.waitpid(pid, os.WNOHANG)
            time.sleep(0.05)


def our_mounts(layout: Layout) -> list[str]:
    marks = (str(layout.state), str(layout.run_dir))
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(marks):
            points.append(point)
    return points


def unmount_all(layout: Layout) -> None:
    for _ in range(3):
        points = our_mounts(layout)
        if not points:
            return
        for point in sorted(points, key=len, reverse=True):
            if run("umount", point, check=False).returncode:
                run("umount", "-l", point, check=False)


def remove_cgroups() -> None:
    """The kubelet's `kubepods` hierarchy (cgroupfs driver) in every cgroup v1 controller."""
    root = Path("/sys/fs/cgroup")
    if not root.is_dir():
        return
    for controller in root.iterdir():
        top = controller / "kubepods"
        if not top.is_dir():
            continue
        for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                d.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


def cleanup_files(layout: Layout) -> None:
    shutil.rmtree(layout.run_dir, ignore_errors=True)
    # libcni's result cache has no setting in containerd 1.6; drop what our pods left there
    for d in (Path("/var/lib/cni/results"),):
        if d.is_dir():
            for f in d.glob("kin-*"):
                f.unlink(missing_ok=True)


# --------------------------------------------------------------------------- proof of a clean host


def host_state(layout: Layout) -> dict[str, list[str]]:
    """What the real node may change on this host, in a form two snapshots can be compared in."""

    def lines(*args: str) -> list[str]:
        # lifetimes and expiry timers of IPv6 addresses and routes tick: they are not state
        out = run(*args, check=False).stdout.replace("\\", " ")
        out = re.sub(r"\s+(valid_lft|preferred_lft|expires)\s+\S+", "", out)
        return sorted(" ".join(line.split()) for line in out.splitlines() if line.strip())

    def chains(tool: str) -> list[str]:
        out: list[str] = []
        if shutil.which(tool) is None:
            return out
        for table in ("filter", "nat", "mangle", "raw"):
            for line in run(f"{tool}-save", "-t", table, check=False).stdout.splitlines():
                if line.startswith(":"):
                    out.append(f"{table}:{line[1:].split()[0]}")
                elif line.startswith("-A "):
                    out.append(f"{table}:{line}")
        return sorted(out)

    def links() -> list[str]:
        out = []
        for line in run("ip", "-o", "link", "show", check=False).stdout.splitlines():
            name = line.split(":")[1].strip().split("@")[0]
            kind = "veth" if "link/ether" in line and "@" in line.split(":")[1] else ""
            out.append(f"{name} {kind}".strip())
        return sorted(out)

    netns = sorted(
        p.name for d in (Path("/run/netns"), Path("/var/run/netns")) if d.is_dir() for p in d.iterdir()
    )
    cgroups = sorted(str(p) for p in Path("/sys/fs/cgroup").glob("*/kubepods"))
    return {
        "processes": sorted(
            Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            for pid in our_processes(layout)
            if Path(f"/proc/{pid}/cmdline").exists()
        ),
        "netns": netns,
        "links": links(),
        "addresses": lines("ip", "-o", "addr", "show"),
        "routes": lines("ip", "route", "show", "table", "all"),
        "rules": lines("ip", "rule", "show"),
        "iptables": chains("iptables"),
        "ip6tables": chains("ip6tables"),
        "nftables": lines("nft", "list", "tables") if shutil.which("nft") else [],
        "ipsets": lines("ipset", "list", "-n") if shutil.which("ipset") else [],
        "mounts": sorted(our_mounts(layout)),
        "sysctls": [f"{name}={read_sysctl(name)}" for name in SYSCTLS],
        "cgroups": cgroups,
    }


def differences(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    """One line per thing that differs: what is left over (+) or gone (-)."""
    out = []
    for key in sorted(set(before) | set(after)):
        b, a = set(before.get(key, [])), set(after.get(key, []))
        out += [f"{key}: + {item}" for item in sorted(a - b)]
        out += [f"{key}: - {item}" for item in sorted(b - a)]
    return out
