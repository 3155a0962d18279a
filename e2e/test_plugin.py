"""The plugin as kubectl users meet it, on a real cluster: completion through kubectl's own
`__complete` entry, the picture rendered by the real Graphviz, and `-w` following a rollout."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

from e2e.harness import (
    MANIFESTS,
    NOWHERE,
    WEB_SVC,
    Cluster,
    apply,
    deploy_web,
    slice_addresses,
    unavailable,
    wait_until,
)

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
    assert commands == [
        "services",
        "endpoints",
        "diff",
        "resolve",
        "dns",
        "reach",
        "pods",
        "wait",
        "why",
        "serve",
        ":4",
    ]


class Lines:
    """The lines a background process prints, collected as they come (to wait for, not to sleep on)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        assert proc.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def changes(self) -> list[list[str]]:
        """The change lines: [event, subject, service, address or code, detail]."""
        fields = [re.split(r"\s{3,}", line.strip(), maxsplit=4) for line in list(self.lines)]
        return [f for f in fields if f[0] in ("ADDED", "MODIFIED", "DELETED")]

    def interrupt(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=30)
        self._thread.join(10)
        return self.proc.returncode, err


def pod_names(cluster: Cluster, namespace: str) -> set[str]:
    return {
        n.removeprefix("pod/") for n in cluster.kubectl("get", "pods", "-n", namespace, "-o", "name").split()
    }


def test_a_watched_rollout_shows_old_endpoints_leaving_and_new_ones_arriving_in_order(
    cluster: Cluster, namespace: str
) -> None:
    cluster.kubectl("apply", "-n", namespace, "-f", str(MANIFESTS / "web.yaml"))
    apply(cluster, namespace, WEB_SVC)
    wait_until(
        lambda: sum(ready for _, _, ready in slice_addresses(cluster, namespace, "web-svc")) == 3,
        what="3 ready endpoints",
        timeout=180,
    )
    old = pod_names(cluster, namespace)
    watcher = Lines(cluster.start_inspect("endpoints", "web-svc", "-n", namespace, "-w"))
    wait_until(lambda: len(watcher.lines) >= 4, what="the endpoints table (a header and 3 rows)")
    assert watcher.lines[0].split() == [
        "SERVICE",
        "ADDRESS",
        "PORT-NAME",
        "EXPECTED",
        "ACTUAL",
        "POD",
        "NODE",
        "STATE",
    ]

    cluster.kubectl("rollout", "restart", "deployment/web", "-n", namespace)
    cluster.kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=180s")

    def only_new() -> set[str] | None:
        now = pod_names(cluster, namespace)
        return now if now and not now & old else None

    new = wait_until(only_new, what="only new pods", timeout=120)

    def about(pods: set[str], event: str) -> set[str]:
        return {
            p
            for e, s, _, _, d in watcher.changes()
            if e == event and s == "endpoint"
            for p in pods
            if f"pod {p} " in d
        }

    wait_until(
        lambda: about(old, "DELETED") == old and about(new, "ADDED") == new,
        what="every old endpoint leaving and every new one arriving",
        timeout=120,
    )
    status, err = watcher.interrupt()

    assert (status, err.splitlines()) == (130, ["interrupted"])
    endpoint_lines = [c for c in watcher.changes() if c[1] == "endpoint"]

    def first(event: str, pods: set[str]) -> int:
        return next(
            i
            for i, c in enumerate(endpoint_lines)
            if c[0] == event and any(f"pod {p} " in c[4] for p in pods)
        )

    for p in old:  # an old endpoint may turn terminating first; it leaves last, and never arrives
        mine = [c[0] for c in endpoint_lines if f"pod {p} " in c[4]]
        assert mine[-1] == "DELETED" and "ADDED" not in mine, (p, mine)
    for p in new:  # a new endpoint arrives first (perhaps not ready yet), then may turn ready
        mine = [c[0] for c in endpoint_lines if f"pod {p} " in c[4]]
        assert mine[0] == "ADDED" and "DELETED" not in mine, (p, mine)
    # a rolling update: the first new pod serves before the first old one leaves
    assert first("ADDED", new) < first("DELETED", old), endpoint_lines


# A pod bound to a node that does not exist: the EndpointSlice controller leaves it out of the slices
# ("skipping Pod for Service, Node not found") while it is selected, Running and Ready: a real
# missing endpoint, without stopping any component of the shared cluster. Its status is written as a
# kubelet would (nothing runs it); the pod garbage collector removes it after a while.
STRANDED = """
apiVersion: v1
kind: Pod
metadata:
  name: stranded
  labels: {app: web}
spec:
  nodeName: ghost-node
  containers:
    - name: web
      image: registry.k8s.io/e2e-test-images/agnhost:2.66.1
      ports: [{name: http, containerPort: 5000}]
"""
STRANDED_STATUS = {
    "status": {
        "phase": "Running",
        "podIP": f"{NOWHERE}.7",
        "podIPs": [{"ip": f"{NOWHERE}.7"}],
        "conditions": [{"type": "Ready", "status": "True"}],
    }
}
FOREIGN_SLICE = f"""
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-svc-by-hand
  labels:
    kubernetes.io/service-name: web-svc
    endpointslice.kubernetes.io/managed-by: staff.example.com
addressType: IPv4
ports: [{{name: http, port: 5000, protocol: TCP}}]
endpoints: [{{addresses: ["{NOWHERE}.50"]}}]
"""
SVG = "{http://www.w3.org/2000/svg}"


def svg_graph(svg: str) -> tuple[set[str], dict[tuple[str, str], str]]:
    """The node names and the edges (tail, head) -> stroke colour of a Graphviz SVG."""
    root = ElementTree.fromstring(svg)
    nodes, edges = set(), {}
    for g in root.iter(f"{SVG}g"):
        title = g.findtext(f"{SVG}title") or ""
        if g.get("class") == "node":
            nodes.add(title)
        elif g.get("class") == "edge":
            tail, _, head = title.partition("->")
            path = g.find(f"{SVG}path")
            edges[tail, head] = path.get("stroke", "") if path is not None else ""
    return nodes, edges


def test_the_svg_drawn_by_graphviz_has_the_diffs_pods_and_its_missing_endpoints_in_red(
    cluster: Cluster, namespace: str
) -> None:
    if shutil.which("dot") is None:
        unavailable("Graphviz's dot is not installed (apt-get install graphviz)")
    deploy_web(cluster, namespace, replicas=2)
    apply(cluster, namespace, WEB_SVC)
    apply(cluster, namespace, FOREIGN_SLICE)
    apply(cluster, namespace, STRANDED)
    cluster.kubectl(
        "patch", "pod", "stranded", "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps(STRANDED_STATUS),
    )  # fmt: skip
    wait_until(
        lambda: (
            (r := cluster.inspect_json("diff", "-n", namespace))["services"][0]["missing"]
            and len(r["services"][0]["actual"]) == 3
        ),
        what="the stranded pod missing, the 2 web pods and the foreign address in the slices",
    )

    drawn = cluster.inspect("diff", "-n", namespace, "-o", "svg")
    report = cluster.inspect_json("diff", "-n", namespace)

    assert drawn.returncode == 1, drawn.stderr  # the missing endpoint is an error, as diff says
    nodes, edges = svg_graph(drawn.stdout)
    svc = report["services"][0]
    port = f"port/{namespace}/web-svc/http/TCP"
    pods = {e["pod"] for e in svc["expected"] + svc["actual"] if e["pod"]}
    assert {n for n in nodes if n.startswith("pod/")} == {f"pod/{namespace}/{p}" for p in pods}
    assert {f"service/{namespace}/web-svc", port, f"slice/{namespace}/web-svc-by-hand"} <= nodes
    red = {edge for edge, stroke in edges.items() if stroke == "red"}
    assert red == {(port, f"pod/{namespace}/{e['pod']}") for e in svc["missing"]}
    assert red == {(port, f"pod/{namespace}/stranded")}
    orange = {edge for edge, stroke in edges.items() if stroke == "orange"}
    assert orange == {(f"slice/{namespace}/web-svc-by-hand", f"address/{e['ip']}") for e in svc["unexpected"]}
    assert len(orange) == 1
