"""End-to-end fixtures: a real cluster for the session, a fresh namespace per test.

The cluster is the one `E2E_KUBECONFIG` names (kind, or any other), with its DNS at
`INSPECTOR_DNS_SERVER` when set; otherwise the local cluster (cluster/localcluster.py), which this
session starts if it is not already up and stops again at the end, pass or fail.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e.harness import LOCAL_STATE, Cluster, fresh_namespace, parse_nodes, unavailable

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / "cluster" / "localcluster.py"


def _env_file() -> dict[str, str]:
    out = {}
    for line in (LOCAL_STATE / "env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        out[key] = value
    return out


def _local_is_up() -> bool:
    return (
        subprocess.run([sys.executable, str(LOCAL), "status"], capture_output=True, check=False).returncode
        == 0
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "teardown: takes the local cluster down; runs after every other test")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("teardown") is not None)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    kubeconfig = os.environ.get("E2E_KUBECONFIG")
    if kubeconfig:
        os.environ["KUBECONFIG"] = kubeconfig
        yield Cluster(
            kubeconfig,
            os.environ.get("INSPECTOR_DNS_SERVER"),
            os.environ.get("E2E_KUBECTL", "kubectl"),
            local=False,
            kind=os.environ.get("E2E_KIND") == "1",
            pod_cidr=os.environ.get("E2E_POD_CIDR", "10.88.0.0/16"),
            # a node's address the host reaches (its node ports), where the cluster has one
            node_ip=os.environ.get("E2E_NODE_IP") or None,
        )
        return
    started = not _local_is_up()
    if started and os.environ.get("LOCALCLUSTER_DIR"):
        # a cluster shared between work trees is brought up and down by its owner alone: starting
        # it here would wipe its state, and stopping it at the end would pull it from under others
        pytest.exit(f"the local cluster in LOCALCLUSTER_DIR={os.environ['LOCALCLUSTER_DIR']} is not up", 3)
    try:
        if started:
            subprocess.run([sys.executable, str(LOCAL), "up"], check=True, timeout=600)
        env = _env_file()
        # what a kind user's shell has: KUBECONFIG names the cluster (the pytest plugin reads it)
        os.environ["KUBECONFIG"] = env["KUBECONFIG"]
        yield Cluster(
            env["KUBECONFIG"],
            env["INSPECTOR_DNS_SERVER"],
            env["LOCALCLUSTER_KUBECTL"],
            local=True,
            real_pods=env.get("LOCALCLUSTER_MODE") == "real",
            node_ip=env.get("LOCALCLUSTER_NODE_IP") or None,
            started_here=started,
            nodes=parse_nodes(env.get("LOCALCLUSTER_NODES", "").strip("'")),
            api_ip=env.get("LOCALCLUSTER_API_IP") or None,
            proxy_mode=env.get("LOCALCLUSTER_PROXY_MODE") or None,
        )
    finally:
        if started:
            subprocess.run([sys.executable, str(LOCAL), "down"], check=False, timeout=120)


@pytest.fixture
def real_node(cluster: Cluster) -> Cluster:
    """The cluster, for a test that observes traffic: its pods must really run."""
    if not cluster.real_pods:
        unavailable("no real node: the local cluster runs kwok-only (see make cluster-up's first line)")
    return cluster


@pytest.fixture
def real_nodes(real_node: Cluster) -> Cluster:
    """The local cluster with its real nodes, for a test that acts on them one by one (their
    network namespaces, their components)."""
    if not real_node.nodes:
        if real_node.kind:
            # make e2e-kind runs every test it can; these act through the local cluster's own handles
            pytest.skip(
                "kind: the local cluster's per-node handles (network namespaces, processes) are not here"
            )
        unavailable("no local real nodes: this cluster is not the local cluster (E2E_KUBECONFIG)")
    return real_node


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards (without waiting)."""
    base = re.sub(r"[^a-z0-9]+", "-", request.node.name.removeprefix("test_").lower())[:40].strip("-")
    yield from fresh_namespace(cluster, f"e2e-{base}-{uuid.uuid4().hex[:5]}")
