"""What-if runs (-f) against a real API server: an overlay judges the cluster as it would be after
`kubectl apply` and writes nothing; `reach -f` judges the files' policies with the live ones; an
offline run needs no cluster and no kubeconfig at all."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from e2e.harness import INSPECT, MANIFESTS, WEB_SVC, Cluster, apply, deploy_web

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
