"""The host before and after `make e2e-kind`: what dockerd and kind may change on it, compared.

Why it exists: the kind cluster runs on the same machine as the local cluster (and anything else),
so deleting it and stopping dockerd must leave the host as it was: no container, network, link,
route, firewall rule, sysctl, mount, process or cgroup of ours. The snapshot is hostnet's (the local
cluster's own teardown proof), plus what Docker alone may leave: its cgroups, its processes and
mounts under our directories, and /lib/modules (kind bind-mounts it into every node; Docker creates
a missing source).

    hoststate.py snapshot FILE     writes the host's state to FILE
    hoststate.py compare FILE      exit 1 and one line per difference if the host differs from FILE
    hoststate.py restore FILE      writes back the sysctls FILE holds that differ now

The kubelets in kind's nodes change host sysctls (protectKernelDefaults: false, as on the local
cluster: vm.overcommit_memory, kernel.panic, kernel.panic_on_oops and others are not namespaced), so
e2e/kind.sh restores them from the snapshot once the cluster is gone, as `localcluster.py down` does.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import hostnet

HERE = Path(__file__).resolve().parent
# what names the local cluster's own network pieces (cluster/hostnet.py, cluster/nodes.py)
LOCAL_CLUSTER = re.compile(r"\bkin(0|-[a-z]+|v-[a-z])\b|KIN-")
# directories whose processes and mounts are ours: the checkout's .kind/ and the kind cache
OURS = (str(HERE.parent.parent / ".kind"), str(Path.home() / ".cache" / "kubectl-inspect" / "kind"))


def our_processes() -> list[str]:
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(d in cmdline for d in OURS):
            out.append(cmdline.split(" ", 1)[0].rsplit("/", 1)[-1])
    return out


def our_mounts() -> list[str]:
    mounts = Path("/proc/mounts").read_text().splitlines()
    return [m.split()[1] for m in mounts if any(m.split()[1].startswith(d) for d in OURS)]


def state() -> dict[str, list[str]]:
    out = hostnet.host_state(our_processes(), our_mounts())
    roots = Path("/sys/fs/cgroup")
    out["docker-cgroups"] = sorted(str(p) for p in roots.glob("*/docker*"))
    out["lib-modules"] = [str(Path("/lib/modules").exists())]
    return out


def restore_sysctls(before: dict[str, list[str]]) -> list[str]:
    """Writes back every sysctl of hostnet.SYSCTLS that differs from `before`; what it wrote."""
    written = []
    for entry in before.get("sysctls", []):
        name, _, value = entry.partition("=")
        if value != "None" and hostnet.read_sysctl(name) != value:
            hostnet.write_sysctl(name, value)
            written.append(entry)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("snapshot", "compare", "restore"):
        print("usage: hoststate.py snapshot|compare|restore FILE", file=sys.stderr)
        return 2
    path = Path(argv[1])
    if argv[0] == "snapshot":
        path.write_text(json.dumps(state(), indent=1))
        return 0
    if argv[0] == "restore":
        for entry in restore_sysctls(json.loads(path.read_text())):
            print(f"hoststate: restored {entry}", file=sys.stderr)
        return 0
    diff = hostnet.differences(json.loads(path.read_text()), state())
    # the local cluster may run (and restart) on this host meanwhile: its own links, addresses,
    # routes and rules are its business, not ours
    others = [line for line in diff if LOCAL_CLUSTER.search(line)]
    diff = [line for line in diff if line not in others]
    if others:
        print(f"hoststate: {len(others)} differences of the local cluster (kin*) left aside", file=sys.stderr)
    for line in diff:
        print(f"the host differs: {line}", file=sys.stderr)
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
