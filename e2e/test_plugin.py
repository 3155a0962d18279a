"""The plugin as kubectl users meet it, on a real cluster: completion through kubectl's own
`__complete` entry, the picture rendered by the real Graphviz, and `-w` following a rollout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from e2e.harness import WEB_SVC, Cluster, apply

BIN = Path(sys.executable).parent  # kubectl-svc_inspect and kubectl_complete-svc_inspect


def kubectl_complete(cluster: Cluster, *words: str) -> list[str]:
    """What kubectl's own completion entry answers for `kubectl svc-inspect WORDS...`, with the plugin
    and its completion executable found on PATH as a user's shell would."""
    env = cluster.env | {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    res = subprocess.run(
        [cluster.kubectl_bin, "__complete", "svc-inspect", *words],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    return res.stdout.splitlines()


def test_kubectl_completes_the_services_of_the_namespace_on_the_line(
    cluster: Cluster, namespace: str
) -> None:
    for name in ("cart", "checkout", "web-svc"):
        apply(cluster, namespace, WEB_SVC.replace("name: web-svc", f"name: {name}"))
    names = cluster.kubectl("get", "services", "-n", namespace, "-o", "name").split()

    assert kubectl_complete(cluster, "services", "-n", namespace, "") == [
        *sorted(n.removeprefix("service/") for n in names),
        ":4",
    ]
    assert kubectl_complete(cluster, "diff", "-n", namespace, "c") == ["cart", "checkout", ":4"]


def test_kubectl_completes_namespaces_and_commands(cluster: Cluster, namespace: str) -> None:
    namespaces = kubectl_complete(cluster, "endpoints", "-n", "")
    commands = [line.split("\t")[0] for line in kubectl_complete(cluster, "")]

    assert namespace in namespaces and namespaces[-1] == ":4"
    assert commands == ["services", "endpoints", "diff", "resolve", "dns", "pods", "wait", ":4"]
