"""The real nodes: each its own network namespace, containerd, CNI, kubelet, kube-proxy and
NetworkPolicy enforcer, on this one host.

Why it exists: Services fail per node (a kube-proxy that stopped syncing, `Local` traffic policies,
zones, a node cut off), and a cluster with one node can show none of it. Each node here has what a
machine of its own would have for the network: its own namespace (its own interfaces, routes,
iptables and nftables rules, conntrack and sysctls), one veth on the host's node network
(cluster/hostnet.py), a pod range and a CNI bridge of its own; and its own containerd (root, state,
socket), kubelet (root directory, cgroup root) and kube-proxy. The processes run in the host's mount
and PID namespaces (`nsenter --net` only): the nodes share the filesystem, the kernel and cadvisor's
view of the machine.

Safety: a node's namespace has no default route. It knows the node network, the other nodes' pod
ranges (via their node IPs) and its own pods; the Service range and kwok's simulated pod range go
to a bridge with no ports, so an address no rule rewrites goes nowhere. The guard chain of
cluster/hostnet.py runs in every node too. containerd sends every registry host to a closed port on
127.0.0.1: only images built here run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import string
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from hostnet import BRIDGE, POD_CIDR, add_guard_chain, run

# a registry "mirror" nobody listens on: a pull of an image that was not built here fails at once
CLOSED_REGISTRY = "https://127.0.0.1:9"
CNI_BRIDGE = "cni0"
NODE_VOID = "kin-void"  # the port-less bridge inside a node
KUBELET_PORT = 10250
PROXY_HEALTHZ_PORT = 10256  # upstream's port, on the node IP (the API server's node proxy reaches it)
REGION = "local"
MAX_NODES = 9
# inside every node: what the kubelet, kube-proxy and the pods' routing need
NODE_SYSCTLS = {"net/ipv4/ip_forward": "1", "net/bridge/bridge-nf-call-iptables": "1"}


@dataclass(frozen=True)
class Node:
    """One real node: its name, zone, addresses and where it keeps its files."""

    index: int
    cluster_state: Path
    service_cidr: str
    kwok_pod_cidr: str
    cluster_dns: str
    cluster_domain: str
    proxy_mode: str

    @property
    def letter(self) -> str:
        return string.ascii_lowercase[self.index]

    @property
    def name(self) -> str:
        return f"real-node-{self.letter}"

    @property
    def zone(self) -> str:
        return f"zone-{self.letter}"

    @property
    def ip(self) -> str:
        return f"10.89.0.{11 + self.index}"

    @property
    def pod_cidr(self) -> str:
        return f"10.88.{1 + self.index}.0/24"

    @property
    def pod_gateway(self) -> str:
        return f"10.88.{1 + self.index}.1"

    @property
    def netns(self) -> str:
        return f"kin-{self.letter}"

    @property
    def host_veth(self) -> str:
        return f"kinv-{self.letter}"

    @property
    def cgroup_root(self) -> str:
        return f"/kin-{self.letter}"

    @property
    def state(self) -> Path:
        return self.cluster_state / "nodes" / self.name

    @property
    def run_dir(self) -> Path:
        # unix socket paths are limited to 108 bytes: keep them short whatever the checkout's path
        digest = hashlib.sha256(str(self.cluster_state).encode()).hexdigest()[:8]
        return Path("/run") / f"kin-{digest}-{self.letter}"

    @property
    def socket(self) -> Path:
        return self.run_dir / "containerd.sock"

    @property
    def cni_bin(self) -> Path:
        return self.cluster_state / "nodes" / "cni-bin"

    @property
    def enter(self) -> tuple[str, ...]:
        """The command prefix that runs a program in this node's network namespace."""
        return ("nsenter", f"--net=/run/netns/{self.netns}", "--")

    @property
    def stall_file(self) -> Path:
        """While this file exists, kube-proxy's rule updates on this node hang (stall-proxy)."""
        return self.state / "kube-proxy-stalled"

    def proxy_path(self) -> str:
        """The PATH kube-proxy runs with: first the wrappers of the programs it writes its rules with
        (iptables-restore, ip6tables-restore, nft), which hang while `stall_file` exists, as an
        iptables-restore stuck on its lock hangs (kubernetes#98570), then the host's own PATH."""
        wrappers = self.state / "kube-proxy-bin"
        wrappers.mkdir(parents=True, exist_ok=True)
        path = os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        for program in ("iptables-restore", "ip6tables-restore", "nft"):
            real = shutil.which(program, path=path)
            if real is None:
                continue
            script = wrappers / program
            script.write_text(
                "#!/bin/sh\n"
                f"# {program} for kube-proxy on {self.name}: waits while {self.stall_file.name} exists\n"
                f'while [ -e "{self.stall_file}" ]; do sleep 0.2; done\n'
                f'exec {real} "$@"\n'
            )
            script.chmod(0o755)
        return f"{wrappers}:{path}"

    def sh(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(*self.enter, *args, check=check)


# --------------------------------------------------------------------------- the node's network


def setup_network(node: Node, others: list[Node]) -> None:
    """The node's namespace: its veth on the host bridge, routes to the other nodes' pods, the
    port-less bridge for what no rule rewrites, its sysctls and the guard chain."""
    run("ip", "netns", "add", node.netns)
    run("ip", "link", "add", node.host_veth, "type", "veth", "peer", "name", "eth0", "netns", node.netns)
    run("ip", "link", "set", node.host_veth, "master", BRIDGE, "up")
    node.sh("ip", "link", "set", "lo", "up")
    node.sh("ip", "addr", "add", f"{node.ip}/24", "dev", "eth0")
    node.sh("ip", "link", "set", "eth0", "up")
    node.sh("ip", "link", "add", NODE_VOID, "type", "bridge")
    node.sh("ip", "link", "set", NODE_VOID, "up")
    for cidr in (node.service_cidr, node.kwok_pod_cidr):
        node.sh("ip", "route", "add", cidr, "dev", NODE_VOID, "src", node.ip)
    for other in others:
        if other.index != node.index:
            node.sh("ip", "route", "add", other.pod_cidr, "via", other.ip, "dev", "eth0")
    for name, value in NODE_SYSCTLS.items():
        node.sh("sysctl", "-qw", f"{name.replace('/', '.')}={value}")
    add_guard_chain(node.enter)


def cut(node: Node, down: bool) -> None:
    """The node's link to the node network down (cut off: no other node, no API) or up again."""
    run("ip", "link", "set", node.host_veth, "down" if down else "up")


def delete_network(node: Node) -> None:
    """The namespace and everything in it: interfaces, routes, rules, sets, tables, conntrack."""
    run("ip", "netns", "del", node.netns, check=False)
    run("ip", "link", "del", node.host_veth, check=False)


# --------------------------------------------------------------------------- configuration files


def containerd_config(node: Node, sandbox_image: str) -> str:
    s, r = node.state, node.run_dir
    return f"""\
version = 2
root = "{s / "containerd" / "root"}"
state = "{r / "state"}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{node.socket}"

[ttrpc]
  address = "{node.socket}.ttrpc"

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
    bin_dir = "{node.cni_bin}"
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


def cni_config(node: Node) -> str:
    return json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": "kin",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": CNI_BRIDGE,
                    "isGateway": True,
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": node.pod_cidr, "gateway": node.pod_gateway}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(node.state / "cni" / "ipam"),
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        },
        indent=2,
    )


def kubelet_config(node: Node) -> str:
    s, pki = node.state, node.cluster_state / "pki"
    return json.dumps(
        {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": node.ip,
            "port": KUBELET_PORT,
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": 10248,
            "authentication": {
                "x509": {"clientCAFile": str(pki / "ca.crt")},
                "webhook": {"enabled": True},
                "anonymous": {"enabled": False},
            },
            "authorization": {"mode": "Webhook"},
            "tlsCertFile": str(pki / f"kubelet-{node.letter}.crt"),
            "tlsPrivateKeyFile": str(pki / f"kubelet-{node.letter}.key"),
            "cgroupDriver": "cgroupfs",
            # every kubelet its own hierarchy: one would remove the others' pod cgroups as orphans
            "cgroupRoot": node.cgroup_root,
            "failCgroupV1": False,
            "containerRuntimeEndpoint": f"unix://{node.socket}",
            "clusterDNS": [node.cluster_dns],
            "clusterDomain": node.cluster_domain,
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


def kube_proxy_config(node: Node) -> str:
    sync = {"minSyncPeriod": "0s", "syncPeriod": "30s"}
    return json.dumps(
        {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(node.cluster_state / "kube-proxy.kubeconfig")},
            "hostnameOverride": node.name,
            "mode": node.proxy_mode,
            "clusterCIDR": POD_CIDR,
            "detectLocalMode": "ClusterCIDR",
            "nodePortAddresses": [f"{node.ip}/32"],
            "bindAddress": node.ip,
            "healthzBindAddress": f"{node.ip}:{PROXY_HEALTHZ_PORT}",
            "metricsBindAddress": "127.0.0.1:10249",
            # zero: kube-proxy leaves the kernel's conntrack settings as they are
            "conntrack": {
                "maxPerCore": 0,
                "min": 0,
                "tcpEstablishedTimeout": "0s",
                "tcpCloseWaitTimeout": "0s",
            },
            "iptables": sync,
            "nftables": sync,
        },
        indent=2,
    )


def write_configs(node: Node, sandbox_image: str, cni_plugins: Path) -> None:
    s = node.state
    for d in (
        s / "containerd" / "certs.d" / "_default",
        s / "cni" / "net.d",
        s / "cni" / "ipam",
        s / "kubelet",
        s / "pod-logs",
        node.run_dir,
    ):
        d.mkdir(parents=True, exist_ok=True)
    (s / "containerd.toml").write_text(containerd_config(node, sandbox_image))
    (s / "containerd" / "certs.d" / "_default" / "hosts.toml").write_text(closed_registry_hosts())
    (s / "cni" / "net.d" / "10-kin.conflist").write_text(cni_config(node))
    (s / "kubelet-config.json").write_text(kubelet_config(node))
    (s / "kubelet-resolv.conf").write_text("")
    (s / "kube-proxy-config.json").write_text(kube_proxy_config(node))
    node.cni_bin.mkdir(parents=True, exist_ok=True)
    for plugin in ("bridge", "host-local", "loopback", "portmap"):
        target = node.cni_bin / plugin
        if not target.exists():
            target.symlink_to(cni_plugins / plugin)
    make_cgroup_root(node)


def cgroup_controllers(unified: bool = False) -> list[Path]:
    """The mount points of the cgroup v1 hierarchies (the kubelet runs on cgroup v1 here), and with
    `unified` the cgroup2 mount beside them too (runc mirrors its cgroups there)."""
    kinds = ("cgroup", "cgroup2") if unified else ("cgroup",)
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        if right.split()[:1] and right.split()[0] in kinds:
            points.append(Path(left.split()[4]))
    return points


def make_cgroup_root(node: Node) -> None:
    """The kubelet refuses a cgroup root that does not exist in every hierarchy."""
    for controller in cgroup_controllers():
        top = controller / node.cgroup_root.lstrip("/")
        top.mkdir(exist_ok=True)
        if controller.name == "cpuset":  # an empty cpuset takes no task: inherit the parent's
            for f in ("cpuset.cpus", "cpuset.mems"):
                if not (top / f).read_text().strip():
                    (top / f).write_text((controller / f).read_text())


def remove_cgroups(node: Node) -> None:
    for controller in cgroup_controllers(unified=True):
        top = controller / node.cgroup_root.lstrip("/")
        if not top.is_dir():
            continue
        for d in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                d.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


# --------------------------------------------------------------------------- images and pods


def ctr(node: Node, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return run("ctr", "--address", str(node.socket), "--namespace", "k8s.io", *args, check=check)


def import_images(node: Node, archives: list[Path]) -> None:
    for archive in archives:
        ctr(node, "images", "import", "--no-unpack=false", str(archive), check=True)


def remove_pods(node: Node, crictl: Path) -> None:
    """Stops and removes every pod sandbox through the CRI, so that CNI releases each pod's
    network (veth, IP, portmap rules) the proper way. containerd must still be running."""
    if not node.socket.exists():
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(
            [
                str(crictl),
                "--runtime-endpoint",
                f"unix://{node.socket}",
                "--timeout",
                "20s",
                "rmp",
                "--force",
                "--all",
            ],
            capture_output=True,
            timeout=90,
            check=False,
        )


# --------------------------------------------------------------------------- taking a node down


def marks(node: Node) -> tuple[str, str]:
    return (str(node.state), str(node.run_dir))


def processes(node: Node) -> list[int]:
    """Processes of the node that outlive containerd: shims and container processes (whose working
    directory or command line lies in the node's state or run directory)."""
    ours = marks(node)
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if any(m in cmdline or cwd.startswith(m) for m in ours):
            pids.append(int(proc.name))
    return pids


def kill_leftovers(node: Node) -> None:
    for _ in range(3):
        pids = processes(node)
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


def mounts(node: Node) -> list[str]:
    ours = marks(node)
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(ours):
            points.append(point)
    return points


def unmount_all(node: Node) -> None:
    for _ in range(3):
        points = mounts(node)
        if not points:
            return
        for point in sorted(points, key=len, reverse=True):
            if run("umount", point, check=False).returncode:
                run("umount", "-l", point, check=False)


def take_down(node: Node) -> None:
    """Everything of the node that outlives its processes: leftover processes, mounts, its network
    namespace, its cgroups and its run directory. Its processes were stopped by the caller."""
    kill_leftovers(node)
    unmount_all(node)
    delete_network(node)
    remove_cgroups(node)
    shutil.rmtree(node.run_dir, ignore_errors=True)
    # libcni's result cache has no setting in containerd 1.6; drop what our pods left there
    results = Path("/var/lib/cni/results")
    if results.is_dir():
        for f in results.glob("kin-*"):
            f.unlink(missing_ok=True)
