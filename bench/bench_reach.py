"""Benchmark: the NetworkPolicy reasoning of `diff --from-namespace` on the benchmark's scale, in memory.

Why it exists: issue 13 asks that reasoning over 500 policies on the 2,000-Service benchmark cluster
stay within `diff -A`'s budget. This script builds the same scale of snapshot from JSON objects
(20 namespaces, 2,000 Services, 20,000 ready pods, 500 policies with namespace and pod selectors,
ipBlocks with except, named ports and endPort ranges), with no cluster, and prints, as medians of
a few runs: building the snapshot (the policies parsed with it), inspect_snapshot (what `diff -A`
does), and client_findings (what `--from-namespace` adds), plus the added share. No assertion.

    .venv/bin/python bench/bench_reach.py [--runs 3]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inspector.diagnosis.policyverdicts import PolicyClient
from inspector.diagnosis.reach import client_findings
from inspector.diagnosis.report import inspect_snapshot
from inspector.model.building import SnapshotBuilder

NAMESPACES, SERVICES_PER_NS, PODS_PER_SERVICE, POLICIES_PER_NS = 20, 100, 10, 25


def objects() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n in range(NAMESPACES):
        ns = f"ns-{n}"
        out.append({"kind": "Namespace", "metadata": {"name": ns, "labels": {"team": f"t{n % 4}"}}})
        for s in range(SERVICES_PER_NS):
            out.append(
                {
                    "kind": "Service",
                    "metadata": {"namespace": ns, "name": f"svc-{s}"},
                    "spec": {
                        "clusterIP": "10.96.0.1",
                        "selector": {"app": f"a{s}"},
                        "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
                    },
                }
            )
            for p in range(PODS_PER_SERVICE):
                out.append(
                    {
                        "kind": "Pod",
                        "metadata": {"namespace": ns, "name": f"p-{s}-{p}", "labels": {"app": f"a{s}"}},
                        "spec": {
                            "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]
                        },
                        "status": {
                            "phase": "Running",
                            "podIP": f"10.{n}.{s}.{p}",
                            "conditions": [{"type": "Ready", "status": "True"}],
                        },
                    }
                )
        for k in range(POLICIES_PER_NS):
            out.append(
                {
                    "kind": "NetworkPolicy",
                    "metadata": {"namespace": ns, "name": f"np-{k}"},
                    "spec": {
                        "podSelector": {"matchLabels": {"app": f"a{k * 4}"}},
                        "policyTypes": ["Ingress", "Egress"],
                        "ingress": [
                            {
                                "from": [
                                    {
                                        "namespaceSelector": {"matchLabels": {"team": "t1"}},
                                        "podSelector": {
                                            "matchExpressions": [{"key": "app", "operator": "Exists"}]
                                        },
                                    },
                                    {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.5.0.0/16"]}},
                                ],
                                "ports": [{"port": "http"}, {"port": 9000, "endPort": 9100}],
                            }
                        ],
                        "egress": [
                            {"to": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]}
                        ],
                    },
                }
            )
    return out


def timed(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    items = objects()
    build, inspect, reason = [], [], []
    gc.disable()  # as the CLI runs a command
    for _ in range(runs):
        t, snapshot = timed(lambda: SnapshotBuilder().add(items).build())
        build.append(t)
        t, report = timed(lambda s=snapshot: inspect_snapshot(s))
        inspect.append(t)
        expectations = {sr.service.key: sr.expectation for sr in report.services}
        t, _ = timed(
            lambda s=snapshot, r=report, e=expectations: client_findings(
                s, [sr.service for sr in r.services], PolicyClient.in_namespace("ns-1"), e
            )
        )
        reason.append(t)
        gc.collect()
    print(
        f"{len(snapshot.services)} Services, {len(snapshot.pods)} pods, "
        f"{len(snapshot.network_policies)} NetworkPolicies; median of {runs} runs"
    )
    b, i, r = (statistics.median(x) for x in (build, inspect, reason))
    print(f"  building the snapshot (policies included)  {b:.2f} s")
    print(f"  inspect_snapshot (diff -A's reasoning)      {i:.2f} s")
    print(f"  client_findings (--from-namespace adds)     {r:.2f} s  ({r / (b + i):.0%} of the two above)")


if __name__ == "__main__":
    main()
