"""What-if runs (-f) against a real API server: an overlay judges the cluster as it would be after
`kubectl apply` and writes nothing; `reach -f` judges the files' policies with the live ones; an
offline run needs no cluster and no kubeconfig at all; the records `dns --offline -f` lists are
those the cluster DNS serves once the files are applied."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from e2e.harness import INSPECT, MANIFESTS, WEB_SVC, Cluster, apply, deploy_web, ready_pod_ips, wait_until

RELABELLED = (MANIFESTS / "web.yaml").read_text().replace("app: web", "app: web-v2")
DEFAULT_DENY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""


def state(cluster: Cluster, namespace: str) -> tuple[str, list[tuple[str, str]], list[str]]:
    """What a write would change: the Deployment's resourceVersion, the pods' labels, the policies."""
    deployment = cluster.get_json("deployment", "web", "-n", namespace)["metadata"]["resourceVersion"]
    pods = sorted(
        (p["metadata"]["name"], p["metadata"]["labels"]["app"])
        for p in cluster.get_json("pods", "-n", namespace)["items"]
    )
    policies = [p["metadata"]["name"] for p in cluster.get_json("networkpolicies", "-n", namespace)["items"]]
    return deployment, pods, policies


def test_an_overlay_that_relabels_the_live_deployment_reports_its_service_broken_and_writes_nothing(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    deploy_web(cluster, namespace)
    apply(cluster, namespace, WEB_SVC)
    live = cluster.inspect("diff", "web-svc", "-n", namespace)
    assert live.returncode == 0, live.stdout + live.stderr
    change = tmp_path / "web-v2.yaml"
    change.write_text(RELABELLED)
    before = state(cluster, namespace)

    res = cluster.inspect("diff", "-n", namespace, "-f", str(change), "-o", "json")

    assert res.returncode == 1, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    (svc,) = [s for s in doc["services"] if s["name"] == "web-svc"]
    assert [f["code"] for f in svc["findings"]] == ["selector-matches-no-pods"]
    assert (svc["source"], svc["planned"]) == (None, True)
    assert [(o["kind"], o["name"], o["action"]) for o in doc["whatIf"]["objects"]] == [
        ("Deployment", "web", "replaced")
    ]
    assert doc["whatIf"]["touched"] == [f"{namespace}/web-svc"]
    text = cluster.inspect("diff", "-n", namespace, "-f", str(change))
    assert text.returncode == 1
    assert text.stdout.startswith(
        "What if 1 object(s) of the files were applied to the cluster (nothing is written)"
    )
    assert f"replaced  Deployment {namespace}/web" in text.stdout
    # the cluster is as it was: same Deployment, same pods and labels
    assert state(cluster, namespace) == before


def test_reach_with_a_default_deny_file_denies_a_client_the_live_cluster_allows(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    deploy_web(cluster, namespace)
    apply(cluster, namespace, WEB_SVC)
    deny = tmp_path / "deny.yaml"
    deny.write_text(DEFAULT_DENY)
    live = cluster.inspect("reach", "web-svc", "-n", namespace, "--from-namespace", "default")
    assert live.returncode == 0, live.stdout + live.stderr

    res = cluster.inspect("reach", "web-svc", "-n", namespace, "--from-namespace", "default", "-f", str(deny))

    assert res.returncode == 1, res.stdout + res.stderr
    assert f"denied: no rule of policy {namespace}/default-deny admits namespace default" in res.stdout
    assert "Reachable: no" in res.stdout
    assert state(cluster, namespace)[2] == []  # the policy was judged, never created


def test_offline_runs_with_no_kubeconfig_at_all(tmp_path: Path) -> None:
    app = tmp_path / "app.yaml"
    app.write_text(RELABELLED + "---\n" + WEB_SVC)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "INSPECTOR_"))}
    env["HOME"] = str(tmp_path / "no-home")  # no ~/.kube/config either

    def offline(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [INSPECT, *args], capture_output=True, text=True, env=env, timeout=60, check=False
        )

    broken = offline("diff", "--offline", "-f", str(app))
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "selector-matches-no-pods" in broken.stdout
    fixed = offline("diff", "--offline", "-f", "-", "-o", "json")
    assert fixed.returncode == 2 and fixed.stderr == "error: -f -: stdin is empty: no objects to judge\n"
    good = subprocess.run(
        [INSPECT, "diff", "--offline", "-f", "-"],
        input=(MANIFESTS / "web.yaml").read_text() + "---\n" + WEB_SVC,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert "default/web-svc (ClusterIP): ok, 3 expected endpoint(s), 3 planned pod(s)" in good.stdout


# redis-master (a Deployment and a ClusterIP Service with a named port), web (a StatefulSet of 3
# behind a headless Service), db (an ExternalName)
DNS_FILES = [MANIFESTS / "dns" / name for name in ("redis-master.yaml", "headless.yaml", "externalname.yaml")]
STAND_IN = re.compile(r"<(cluster IPv4|IPv4 of pod (?P<pod>[a-z0-9-]+))(?:, (?P<form>dashed|reversed))?>")


def no_cluster_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a run that must contact nothing: KUBECONFIG names a file that does not
    exist, HOME has no ~/.kube/config, and no INSPECTOR_* setting (no DNS server) is left."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "INSPECTOR_"))}
    env["KUBECONFIG"] = str(tmp_path / "no-such-kubeconfig")
    env["HOME"] = str(tmp_path / "no-home")
    return env


def record_set(doc: dict[str, Any], allocated: dict[str, str]) -> set[tuple[str, str, str, tuple[str, ...]]]:
    """(service, qname, qtype, answers) of every expected record of a dns document, its stand-ins
    replaced by the addresses the cluster allocated (`allocated`: pod name, or "cluster", to IP);
    pod records left out (an offline run does not list them: the Corefile decides)."""

    def real(text: str) -> str:
        def one(m: re.Match[str]) -> str:
            ip = allocated[m["pod"] or "cluster"]
            if m["form"] == "dashed":
                return ip.replace(".", "-")
            if m["form"] == "reversed":  # the whole reverse name, its zone included
                return ipaddress.ip_address(ip).reverse_pointer.removesuffix(".in-addr.arpa")
            return ip

        return STAND_IN.sub(one, text)

    groups = [(s["name"], s["records"]) for s in doc["services"]] + [("", doc["cluster"]["records"])]
    return {
        (name, real(r["qname"]), r["qtype"], tuple(sorted(real(a) for a in r["expected"]["answers"])))
        for name, records in groups
        for r in records
        if r["kind"] != "pod"
    }


def test_dns_offline_lists_with_no_cluster_the_records_coredns_serves_once_the_files_are_applied(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    files = [arg for f in DNS_FILES for arg in ("-f", str(f))]
    env = no_cluster_env(tmp_path)

    def offline(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [INSPECT, "dns", "--offline", "-n", namespace, *files, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )

    text = offline()
    assert (text.returncode, text.stderr) == (0, ""), text.stdout + text.stderr
    assert text.stdout.startswith(
        "Expected DNS records once 5 object(s) of the files are applied, offline: nothing was asked"
    )
    row = [
        f"{namespace}/web",
        f"web-0.web.{namespace}.svc.cluster.local.",
        "A",
        "<IPv4",
        "of",
        "pod",
        "web-0>",
    ]
    assert row in [line.split() for line in text.stdout.splitlines()]
    res = offline("-o", "json")
    assert (res.returncode, res.stderr) == (0, ""), res.stdout + res.stderr
    planned = json.loads(res.stdout)
    assert planned["summary"] == {"services": 3, "records": 13, "pending": 9}
    assert all(o["action"] == "planned" for o in planned["whatIf"]["objects"])

    # now applied for real, and judged by the oracle against the cluster's own CoreDNS
    for f in DNS_FILES:
        cluster.kubectl("apply", "-n", namespace, "-f", str(f))
    wait_until(lambda: len(ready_pod_ips(cluster, namespace, "app=web")) == 3, what="3 web pods", timeout=120)

    def oracle() -> dict[str, Any] | None:
        res = cluster.inspect("dns", "-n", namespace, "-o", "json")
        assert "Traceback" not in res.stderr, res.stderr
        doc = json.loads(res.stdout) if res.stdout.strip() else None
        ok = res.returncode == 0 and doc is not None and doc["summary"]["errors"] == 0
        hostnames = doc and [r for s in doc["services"] for r in s["records"] if r["kind"] == "hostname"]
        return doc if ok and hostnames and len(hostnames) == 3 else None

    live = wait_until(
        oracle, what="every DNS record of the applied files to answer as the API says", timeout=120
    )
    allocated = {
        f"web-{i}": cluster.get_json("pod", f"web-{i}", "-n", namespace)["status"]["podIP"] for i in range(3)
    }
    allocated["cluster"] = cluster.get_json("service", "redis-master", "-n", namespace)["spec"]["clusterIP"]
    assert record_set(planned, allocated) == record_set(live, allocated)
