"""The host's side of the real nodes: the node network, its fences, and proof that `down` undid it.

Why it exists: the real nodes (cluster/nodes.py) each live in a network namespace of their own, tied
to the host by one veth on the bridge this module creates. Everything the cluster changes in the
host's own network namespace is set up here and taken down here, and `host_state` lets a test prove
that nothing was left behind.

Safety: this machine's default gateway (192.0.2.1) must never be reached.
- The node network (10.89.0.0/24) lives on a bridge we create (`kin0`); the API server advertises
  and serves on the host's address there. The host does not forward: nodes reach each other on the
  bridge, and nothing of theirs is routed through the host.
- Packets that arrive from the bridge are routed by a table that knows only the pods and the node
  network and `prohibit`s everything else (an `ip rule` on `iif kin0`), in case something else on
  the machine turns forwarding on.
- kwok's simulated pod range routes to a bridge with no ports (`kin-void`); the Service range goes
  to the first node, whose kube-proxy rewrites it, as a gateway node serves a client outside the
  cluster. A guard chain rejects any packet whose destination was rewritten (DNAT) to anything but a
  pod, a node or this host.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

BRIDGE = "kin0"
VOID = "kin-void"
API_IP = "10.89.0.1"  # the host on the node network: the API server's address
NODE_NET = "10.89.0.0/24"
POD_CIDR = "10.88.0.0/16"  # every node's pod range lies in it (kube-proxy's clusterCIDR)
ROUTE_TABLE = "4863"  # the routing table of what arrives from the bridge, and its rule's priority
GUARD_CHAIN = "KIN-GUARD"
GUARD_ALLOWED = (POD_CIDR, NODE_NET, "127.0.0.0/8")
# the chains our components create (kube-proxy, the kubelet, the CNI portmap plugin, our guard)
CHAIN_PREFIXES = ("KUBE-", "CNI-", "KIN-")
# host settings the kubelets change (protectKernelDefaults: false), restored by `down`
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
    "nft": "nftables",
    "ip": "iproute2",
    "nsenter": "util-linux",
    "conntrack": "conntrack",
    "ipset": "ipset",
    "busybox": "busybox-static",
    "getent": "libc-bin",
}
# which checkout's cluster set the host network up: a later `up` elsewhere (a CI clone after a
# session was stopped) can then take a dead one's changes down instead of refusing to start
OWNER_FILE = Path("/run/kin-owner")


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(list(args), capture_output=True, text=True, check=False)
    if check and res.returncode:
        raise RuntimeError(f"{shlex.join(args)} failed: {(res.stderr or res.stdout).strip()}")
    return res


@dataclass(frozen=True)
class Network:
    """The addresses the host network is laid out with."""

    state: Path
    service_cidr: str
    kwok_pod_cidr: str
    # (node IP, pod range) of every real node, the first one the host's gateway to Service IPs
    nodes: tuple[tuple[str, str], ...]


# --------------------------------------------------------------------------- can it run here?


def capabilities() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def why_not(refusal: str | None) -> str | None:
    """Why this machine cannot run real nodes (one line), or None when it can. `refusal` is the
    user's own reason, when the settings ask for no real node."""
    if refusal:
        return refusal
    if os.geteuid() != 0:
        return "real nodes need root (containerd, network namespaces, iptables)"
    caps = capabilities()
    for bit, name in ((12, "CAP_NET_ADMIN"), (21, "CAP_SYS_ADMIN")):
        if not caps & (1 << bit):
            return f"real nodes need {name}, which this process lacks"
    missing = [cmd for cmd in DEBIAN_PACKAGES if shutil.which(cmd) is None]
    if missing:
        pkgs = sorted({DEBIAN_PACKAGES[c] for c in missing})
        return f"missing {', '.join(missing)} (Debian packages: {' '.join(pkgs)})"
    if not Path("/proc/sys/net/bridge/bridge-nf-call-iptables").exists():
        return "the kernel has no br_netfilter (net.bridge.bridge-nf-call-iptables is absent)"
    if run("ip", "link", "show", BRIDGE, check=False).returncode == 0:
        return f"bridge {BRIDGE} exists already: another local cluster's real nodes are up"
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


def stale_owner() -> Path | None:
    """The state directory of a cluster whose bridge exists but none of whose processes runs."""
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


def add_guard_chain(prefix: tuple[str, ...] = ()) -> None:
    """A packet whose destination kube-proxy rewrote may go to a pod, a node or this host, nowhere
    else (matched on the new destination). `prefix` runs the commands in a node's namespace."""
    run(*prefix, "iptables", "-w", "-N", GUARD_CHAIN)
    for cidr in GUARD_ALLOWED:
        run(*prefix, "iptables", "-w", "-A", GUARD_CHAIN, "-d", cidr, "-j", "RETURN")
    run(*prefix, "iptables", "-w", "-A", GUARD_CHAIN, "-m", "conntrack", "--ctstate", "DNAT", "-j", "REJECT")
    for builtin in ("OUTPUT", "FORWARD"):
        run(*prefix, "iptables", "-w", "-I", builtin, "1", "-j", GUARD_CHAIN)


def setup_network(net: Network) -> None:
    """The bridge, the routes to the nodes, the fenced routing table and the guard chain. Records
    what it changes first."""
    saved = {name: read_sysctl(name) for name in SYSCTLS}
    (net.state / "host-sysctls.json").write_text(json.dumps(saved))
    OWNER_FILE.write_text(f"{net.state}\n")
    run("ip", "link", "add", BRIDGE, "type", "bridge")
    run("ip", "addr", "add", f"{API_IP}/24", "dev", BRIDGE)
    run("ip", "link", "set", BRIDGE, "up")
    run("ip", "link", "add", VOID, "type", "bridge")
    run("ip", "link", "set", VOID, "up")
    run("ip", "route", "add", net.kwok_pod_cidr, "dev", VOID, "src", API_IP)
    first_node = net.nodes[0][0]
    run("ip", "route", "add", net.service_cidr, "via", first_node, "dev", BRIDGE, "src", API_IP)
    run("ip", "route", "add", NODE_NET, "dev", BRIDGE, "src", API_IP, "table", ROUTE_TABLE)
    for node_ip, pod_cidr in net.nodes:
        run("ip", "route", "add", pod_cidr, "via", node_ip, "dev", BRIDGE, "src", API_IP)
        run("ip", "route", "add", pod_cidr, "via", node_ip, "dev", BRIDGE, "table", ROUTE_TABLE)
    run("ip", "route", "add", "prohibit", "default", "table", ROUTE_TABLE)
    run("ip", "rule", "add", "iif", BRIDGE, "lookup", ROUTE_TABLE, "priority", ROUTE_TABLE)
    add_guard_chain()


def remove_chains(before: dict[str, list[str]] | None) -> None:
    """Deletes the host's chains our components created: the jumps to them first, then flush and
    delete. Chains that existed before `up` (named in `before`) are left alone."""
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


def remove_empty_tables(before: dict[str, list[str]] | None) -> None:
    """The nftables tables iptables-nft created for our chains (`table ip filter`, ...), once our
    chains are gone and nothing else has a rule there. Tables that existed before `up` stay."""
    if shutil.which("nft") is None:
        return
    existed = set((before or {}).get("nftables", []))
    for table in ("filter", "nat", "mangle", "raw"):
        name = f"table ip {table}"
        if name in existed or name not in run("nft", "list", "tables", check=False).stdout.splitlines():
            continue
        if not any(
            line.startswith("-A ")
            for line in run("iptables-save", "-t", table, check=False).stdout.splitlines()
        ):
            run("nft", "delete", "table", "ip", table, check=False)


def teardown_network(net: Network, before: dict[str, list[str]] | None) -> None:
    remove_chains(before)
    remove_empty_tables(before)
    run("ip", "rule", "del", "priority", ROUTE_TABLE, check=False)
    run("ip", "route", "flush", "table", ROUTE_TABLE, check=False)
    for _node_ip, pod_cidr in net.nodes:
        run("ip", "route", "del", pod_cidr, check=False)
    run("ip", "route", "del", net.service_cidr, check=False)
    run("ip", "route", "del", net.kwok_pod_cidr, check=False)
    # veths whose node namespace is gone are gone with it; any left on the bridge go now
    for line in run("ip", "-o", "link", "show", "type", "veth", check=False).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if f"master {BRIDGE}" in line:
            run("ip", "link", "del", name, check=False)
    for link in (VOID, BRIDGE):
        run("ip", "link", "del", link, check=False)
    with contextlib.suppress(OSError):
        if OWNER_FILE.read_text().strip() == str(net.state):
            OWNER_FILE.unlink()
    saved_file = net.state / "host-sysctls.json"
    if saved_file.exists():
        for name, value in json.loads(saved_file.read_text()).items():
            if value is not None and read_sysctl(name) != value:
                write_sysctl(name, value)
        saved_file.unlink()


# --------------------------------------------------------------------------- proof of a clean host


def nameservers(resolv_conf: Path = Path("/etc/resolv.conf")) -> list[str]:
    """The host's DNS servers, as its resolver reads them."""
    try:
        lines = resolv_conf.read_text().splitlines()
    except OSError:
        return []
    return [w[1] for w in (line.split() for line in lines) if len(w) > 1 and w[0] == "nameserver"]


def cut_off(ranges: list[str], resolv_conf: Path = Path("/etc/resolv.conf")) -> list[str]:
    """The host's DNS servers that lie in `ranges` (which the cluster routes into itself or nowhere):
    while it runs they would be unreachable, and with them every name the host looks up."""
    out = []
    for server in nameservers(resolv_conf):
        try:
            address = ipaddress.ip_address(server.split("%")[0])
        except ValueError:
            continue
        out += [f"{server} (in {r})" for r in ranges if address in ipaddress.ip_network(r)]
    return out


def host_state(processes: list[str], mounts: list[str]) -> dict[str, list[str]]:
    """What the cluster may change on this host, in a form two snapshots can be compared in.
    `processes` and `mounts` are the cluster's own, found by the caller."""

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
    roots = Path("/sys/fs/cgroup")
    cgroups = sorted(str(p) for p in [*roots.glob("*/kubepods"), *roots.glob("*/kin-*")])
    return {
        "processes": sorted(processes),
        "netns": netns,
        "links": links(),
        "addresses": lines("ip", "-o", "addr", "show"),
        "routes": lines("ip", "route", "show", "table", "all"),
        "rules": lines("ip", "rule", "show"),
        "iptables": chains("iptables"),
        "ip6tables": chains("ip6tables"),
        "nftables": lines("nft", "list", "tables") if shutil.which("nft") else [],
        "ipsets": lines("ipset", "list", "-n") if shutil.which("ipset") else [],
        "mounts": sorted(mounts),
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
