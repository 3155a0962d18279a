"""`make cluster-down` leaves the machine as `make cluster-up` found it.

This runs after every other test of the session (the `teardown` marker), takes the local cluster
down, and compares the host with the snapshot `up` took before it changed anything: processes,
every node's network namespace, links, addresses, routes and rules, iptables and nftables, mounts, sysctls and
cgroups. Only when this session brought the cluster up: a cluster someone else started stays up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from e2e.harness import Cluster

LOCAL = Path(__file__).resolve().parent.parent / "cluster" / "localcluster.py"


@pytest.mark.teardown
def test_cluster_down_leaves_the_host_as_it_found_it(real_node: Cluster) -> None:
    if real_node.kind:
        pytest.skip("kind: make e2e-kind deletes its cluster and compares the host itself (e2e/kind.sh)")
    if not real_node.started_here:
        pytest.skip("the local cluster was up before this session: it is not this test's to take down")
    sys.path.insert(0, str(LOCAL.parent))
    import hostnet

    down = subprocess.run(
        [sys.executable, str(LOCAL), "down"], capture_output=True, text=True, timeout=300, check=False
    )
    assert down.returncode == 0, down.stderr
    assert "the host differs" not in down.stderr, down.stderr
    state = json.loads(
        subprocess.run(
            [sys.executable, str(LOCAL), "host-state"], capture_output=True, text=True, check=True
        ).stdout
    )
    assert state["before"] is not None, "up recorded the host before changing it"
    assert hostnet.differences(state["before"], state["now"]) == []
    # and the things the issue names, checked by name too
    now = state["now"]
    assert not [
        link
        for link in now["links"]
        if link.split()[0] in ("kin0", "kin-void") or link.startswith("kinv-") or link.endswith("veth")
    ]
    assert not [ns for ns in now["netns"] if ns.startswith("kin-")]
    assert not [
        c
        for c in now["iptables"]
        if c.split(":", 1)[1].startswith(("KUBE-", "KIN-", "CNI-", "-A KUBE-", "-A KIN-"))
    ]
    assert now["processes"] == [] and now["mounts"] == [] and now["cgroups"] == []
    assert "net/ipv4/ip_forward=" + state["before"]["sysctls"][0].split("=")[1] in now["sysctls"]
