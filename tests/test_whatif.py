"""What-if runs (-f): workloads expanded into their pods, files laid over a live snapshot or alone,
every finding judged offline (positive and negative) from manifests, and the files' bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from inspector.cli import run
from inspector.diagnosis.policyverdicts import PolicyClient
from inspector.diagnosis.reach import client_findings
from inspector.diagnosis.report import Report, inspect_snapshot
from inspector.errors import BadInput
from inspector.live.inspecting import make_scope
from inspector.live.manifests import read_manifests
from inspector.live.planning import Files, offline_client_findings, offline_report
from inspector.model.expanding import expand
from inspector.model.findings import CATALOGUE, offline_codes
from inspector.model.overlaying import Manifest, what_if
from inspector.model.snapshot import Node
from tests.conftest import load, snapshot_of

TEMPLATE = {
    "metadata": {"labels": {"app": "api"}},
    "spec": {"containers": [{"name": "api", "ports": [{"name": "http", "containerPort": 8080}]}]},
}


def workload(kind: str, spec: dict[str, Any], name: str = "api") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "shop"},
        "spec": spec,
    }


# --------------------------------------------------------------------------- expansion, every kind


def test_deployment_expands_into_replicas_pods_of_one_replica_set_with_the_template_hash() -> None:
    pods = expand(workload("Deployment", {"replicas": 3, "template": TEMPLATE}), "app.yaml")

    assert len(pods) == 3
    hashes = {p.labels["pod-template-hash"] for p in pods}
    assert len(hashes) == 1
    (h,) = hashes
    assert [p.name for p in pods] == [f"api-{h}-0", f"api-{h}-1", f"api-{h}-2"]
    assert {p.owner.kind if p.owner else None for p in pods} == {"ReplicaSet"}
    pod = pods[0]
    assert (pod.namespace, pod.labels["app"], pod.ip, pod.ready, pod.phase, pod.source) == (
        "shop",
        "api",
        None,
        True,
        "Running",
        "app.yaml",
    )
    assert [(c.name, c.port) for c in pod.container_ports] == [("http", 8080)]


def test_deployment_without_replicas_makes_one_pod_and_scaled_to_zero_none() -> None:
    assert len(expand(workload("Deployment", {"template": TEMPLATE}), "f")) == 1
    assert expand(workload("Deployment", {"replicas": 0, "template": TEMPLATE}), "f") == []


def test_replica_set_expands_into_its_replicas() -> None:
    pods = expand(workload("ReplicaSet", {"replicas": 2, "template": TEMPLATE}), "f")
    assert [p.name for p in pods] == ["api-0", "api-1"]


def test_statefulset_pods_are_named_by_ordinal_with_hostname_and_service_subdomain() -> None:
    pods = expand(
        workload("StatefulSet", {"replicas": 2, "serviceName": "db", "template": TEMPLATE}, "db"), "f"
    )

    assert [(p.name, p.hostname, p.subdomain) for p in pods] == [
        ("db-0", "db-0", "db"),
        ("db-1", "db-1", "db"),
    ]
    assert pods[1].labels["statefulset.kubernetes.io/pod-name"] == "db-1"
    assert pods[1].labels["apps.kubernetes.io/pod-index"] == "1"


def test_statefulset_ordinals_start_where_spec_ordinals_says() -> None:
    spec = {"replicas": 2, "serviceName": "db", "ordinals": {"start": 5}, "template": TEMPLATE}
    assert [p.name for p in expand(workload("StatefulSet", spec, "db"), "f")] == ["db-5", "db-6"]


def test_daemonset_is_one_pod_per_node_given_else_one_representative_pod() -> None:
    ds = workload("DaemonSet", {"template": TEMPLATE}, "agent")
    nodes = (Node("n1"), Node("n2"))

    assert [(p.name, p.node) for p in expand(ds, "f", nodes)] == [("agent-n1", "n1"), ("agent-n2", "n2")]
    assert [(p.name, p.node) for p in expand(ds, "f")] == [("agent-0", None)]


def test_job_runs_parallelism_pods_at_most_completions_labelled_with_its_name() -> None:
    job = workload("Job", {"parallelism": 3, "completions": 2, "template": TEMPLATE}, "migrate")
    pods = expand(job, "f")
    assert [p.name for p in pods] == ["migrate-0", "migrate-1"]
    assert pods[0].labels["job-name"] == "migrate"
    assert pods[0].labels["batch.kubernetes.io/job-name"] == "migrate"


def test_cronjob_expands_into_the_pods_of_its_next_job() -> None:
    cron = workload("CronJob", {"jobTemplate": {"spec": {"template": TEMPLATE}}}, "nightly")
    pods = expand(cron, "f")
    assert [(p.name, p.labels["job-name"], p.labels["app"]) for p in pods] == [
        ("nightly-next-0", "nightly-next", "api")
    ]


def test_bare_pod_is_itself_assumed_ready_without_ip_whatever_its_status_says() -> None:
    pod_obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "solo", "namespace": "shop", "labels": {"app": "solo"}},
        "spec": {"containers": [{"name": "c"}]},
        "status": {"podIP": "10.0.0.9", "phase": "Failed"},
    }
    (pod,) = expand(pod_obj, "pod.yaml")
    assert (pod.name, pod.ip, pod.ready, pod.phase, pod.source) == ("solo", None, True, "Running", "pod.yaml")


def test_other_kinds_expand_into_no_pods() -> None:
    assert expand({"kind": "ConfigMap", "metadata": {"name": "x"}}, "f") == []


# --------------------------------------------------------------------------- every finding judged offline


def offline(text: str, from_namespace: str | None = None) -> Report:
    manifests = [Manifest(obj, "app.yaml", i) for i, obj in enumerate(load(text), start=1)]
    report = inspect_snapshot(what_if(manifests))
    return offline_client_findings(report, from_namespace) if from_namespace else report


def codes(report: Report) -> list[str]:
    return sorted(f.code for f in report.findings)


API = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: api, tier: backend}}
    spec:
      containers:
      - {name: api, ports: [{name: http, containerPort: 8080}]}
"""


def service(
    name: str = "api", spec: str = "{selector: {app: api}, ports: [{port: 80, targetPort: http}]}"
) -> str:
    return f"---\napiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: shop}}\nspec: {spec}\n"


HEADLESS_DB = """
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  replicas: 2
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: pg, ports: [{containerPort: 5432}]}]}
"""

INGRESS = """
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: front, namespace: shop}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: %s, port: {number: %d}}}}
"""

DENY_ALL = """
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
"""

ALLOW_FRONTEND = """
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-frontend, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: frontend}}}]}]
"""

DNS = """
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec: {clusterIP: 10.96.0.10, selector: {k8s-app: kube-dns}, ports: [{name: dns, port: 53, protocol: UDP}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec: {containers: [{name: coredns, ports: [{name: dns, containerPort: 53, protocol: UDP}]}]}
"""

EGRESS_DENY = """
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: frontend}
spec: {podSelector: {}, policyTypes: [Egress]}
"""

# (code, the manifests that raise it, a healthy variant that does not, the client namespace if any)
CASES = [
    (
        "selector-matches-no-pods",
        API + service(spec="{selector: {app: api, tier: backnd}}"),
        API + service(),
        None,
    ),
    (
        "selector-matches-scaled-to-zero",
        API.replace("replicas: 2", "replicas: 0") + service(),
        API + service(),
        None,
    ),
    (
        "target-port-unresolved",
        API + service(spec="{selector: {app: api}, ports: [{port: 80, targetPort: web}]}"),
        API + service(),
        None,
    ),
    (
        "target-port-not-declared",
        API + service(spec="{selector: {app: api}, ports: [{port: 80, targetPort: 9090}]}"),
        API + service(spec="{selector: {app: api}, ports: [{port: 80, targetPort: 8080}]}"),
        None,
    ),
    (
        "externalname-has-selector",
        service(spec="{type: ExternalName, externalName: db.example.com, selector: {app: api}}"),
        service(spec="{type: ExternalName, externalName: db.example.com}"),
        None,
    ),
    (
        "externalname-ports-ignored",
        service(
            spec="{type: ExternalName, externalName: db.example.com, ports: [{port: 80, targetPort: 8080}]}"
        ),
        service(spec="{type: ExternalName, externalName: db.example.com, ports: [{port: 80}]}"),
        None,
    ),
    (
        "externalname-is-ip",
        service(spec="{type: ExternalName, externalName: 10.1.2.3}"),
        service(spec="{type: ExternalName, externalName: db.example.com}"),
        None,
    ),
    (
        "pod-subdomain-without-headless-service",
        HEADLESS_DB + service("db", "{selector: {app: db}, ports: [{port: 5432}]}"),
        HEADLESS_DB + service("db", "{clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}"),
        None,
    ),
    (
        "statefulset-service-missing",
        HEADLESS_DB,
        HEADLESS_DB + service("db", "{clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}"),
        None,
    ),
    (
        "statefulset-service-not-headless",
        HEADLESS_DB + service("db", "{selector: {app: db}, ports: [{port: 5432}]}"),
        HEADLESS_DB + service("db", "{clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}"),
        None,
    ),
    ("networkpolicy-denies-client", API + service() + DENY_ALL, API + service() + ALLOW_FRONTEND, "frontend"),
    (
        "networkpolicy-denies-dns-egress",
        API + service() + DNS + EGRESS_DENY,
        API + service() + DNS,
        "frontend",
    ),
    (
        "networkpolicy-selects-no-pods",
        API + service() + DENY_ALL.replace("{}", "{matchLabels: {app: gone}}", 1),
        API + service() + DENY_ALL,
        "frontend",
    ),
    (
        "ingress-backend-service-missing",
        API + INGRESS % ("nowhere", 80),
        API + service() + INGRESS % ("api", 80),
        None,
    ),
    (
        "ingress-backend-port-missing",
        API + service() + INGRESS % ("api", 81),
        API + service() + INGRESS % ("api", 80),
        None,
    ),
    (
        "ingress-backend-no-endpoints",
        API + service(spec="{selector: {app: other}, ports: [{port: 80}]}") + INGRESS % ("api", 80),
        API + service() + INGRESS % ("api", 80),
        None,
    ),
    (
        "ingress-backend-externalname",
        service(spec="{type: ExternalName, externalName: db.example.com, ports: [{port: 80}]}")
        + INGRESS % ("api", 80),
        API + service() + INGRESS % ("api", 80),
        None,
    ),
]


@pytest.mark.parametrize(("code", "positive", "negative", "client"), CASES, ids=[c[0] for c in CASES])
def test_every_offline_finding_is_judged_from_manifests(
    code: str, positive: str, negative: str, client: str | None
) -> None:
    assert code in codes(offline(positive, client))
    assert code not in codes(offline(negative, client))


def test_every_code_judged_offline_has_a_case_and_only_those_are_marked() -> None:
    assert sorted(c[0] for c in CASES) == sorted(offline_codes())


def test_findings_that_need_a_running_cluster_are_not_claimed_offline() -> None:
    # a LoadBalancer has no ingress and no node port in a manifest, the pods have no IP, no slice
    # exists: none of that is a finding before the cluster runs it
    report = offline(
        API
        + service(
            spec="{type: LoadBalancer, selector: {app: api}, ports: [{port: 80, targetPort: http}], "
            "externalTrafficPolicy: Local, sessionAffinity: ClientIP}"
        )
        + service("manual", "{ports: [{port: 80}]}")
    )
    assert codes(report) == []
    assert all(CATALOGUE[f.code].offline for f in report.findings)
    api = report.service("shop", "api")
    assert api is not None
    assert (len(api.expected), api.actual, api.facts.planned) == (2, (), True)
    assert {e.address for e in api.expected} == {"<pending>:8080"}


def test_an_offline_report_names_every_object_of_the_files_as_planned() -> None:
    report = offline(API + service())
    assert report.snapshot.what_if is not None
    assert [(o.kind, o.name, o.action, o.document) for o in report.snapshot.what_if.objects] == [
        ("Deployment", "api", "planned", 1),
        ("Service", "api", "planned", 2),
    ]


# --------------------------------------------------------------------------- overlay on a live snapshot

LIVE = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec: {replicas: 1, template: {metadata: {labels: {app: api}}}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: api-7d9c
  namespace: shop
  ownerReferences: [{kind: Deployment, name: api, controller: true}]
spec: {replicas: 1, template: {metadata: {labels: {app: api}}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: api-7d9c-x1
  namespace: shop
  labels: {app: api}
  ownerReferences: [{kind: ReplicaSet, name: api-7d9c, controller: true}]
spec: {nodeName: n1, containers: [{name: api, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 10.0.0.5, phase: Running, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {clusterIP: 10.96.0.20, selector: {app: api}, ports: [{port: 80, targetPort: http}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-abc, namespace: shop, labels: {kubernetes.io/service-name: api}}
addressType: IPv4
ports: [{port: 8080, protocol: TCP}]
endpoints: [{addresses: [10.0.0.5], conditions: {ready: true}, targetRef: {kind: Pod, name: api-7d9c-x1}}]
---
apiVersion: v1
kind: Service
metadata: {name: stale, namespace: shop}
spec: {clusterIP: 10.96.0.21, selector: {app: stale}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Pod
metadata: {name: stale-1, namespace: shop, labels: {app: stale}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {podIP: 10.0.0.6, phase: Running, conditions: [{type: Ready, status: "True"}]}
"""

RELABELLED = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: api-v2}}
    spec: {containers: [{name: api, ports: [{name: http, containerPort: 8080}]}]}
"""


def overlay(files: str) -> Report:
    manifests = [Manifest(obj, "change.yaml", i) for i, obj in enumerate(load(files), start=1)]
    return inspect_snapshot(what_if(manifests, snapshot_of(LIVE)))


def test_the_live_cluster_alone_has_api_healthy_and_stale_missing_its_endpoint() -> None:
    report = inspect_snapshot(snapshot_of(LIVE))
    assert [f.code for f in report.service("shop", "api").findings] == []  # type: ignore[union-attr]
    assert [f.code for f in report.service("shop", "stale").findings] == ["endpoints-missing"]  # type: ignore[union-attr]


def test_a_relabelled_deployment_leaves_the_live_service_with_exactly_one_selector_finding() -> None:
    report = overlay(RELABELLED)

    api = report.service("shop", "api")
    assert api is not None
    assert [f.code for f in api.findings] == ["selector-matches-no-pods"]
    assert not report.ok
    # the live pods of the replaced Deployment are gone, its two planned pods are there instead
    pods = {p.name: p for p in report.snapshot.pods}
    assert "api-7d9c-x1" not in pods
    assert sorted(p.labels["app"] for p in pods.values() if p.planned) == ["api-v2", "api-v2"]
    assert not any(w.name == "api-7d9c" for w in report.snapshot.workloads)
    what = report.snapshot.what_if
    assert what is not None
    assert [(o.kind, o.name, o.action) for o in what.objects] == [("Deployment", "api", "replaced")]
    assert what.touched == frozenset({"shop/api"})
    # a Service the files do not touch keeps its live judgement
    assert [f.code for f in report.service("shop", "stale").findings] == ["endpoints-missing"]  # type: ignore[union-attr]


def test_a_service_of_the_files_replaces_the_live_one_and_keeps_its_cluster_ip() -> None:
    report = overlay(service(spec="{selector: {app: api}, ports: [{port: 80, targetPort: web}]}"))
    api = report.service("shop", "api")
    assert api is not None
    assert (api.service.cluster_ip, api.service.source) == ("10.96.0.20", "change.yaml")
    assert [f.code for f in api.findings] == ["target-port-unresolved"]
    assert report.snapshot.what_if is not None
    assert [o.action for o in report.snapshot.what_if.objects] == ["replaced"]


def test_a_new_policy_of_the_files_denies_a_client_the_live_cluster_allows() -> None:
    live = snapshot_of(LIVE)
    client = PolicyClient.in_namespace("frontend")
    services = [s for s in live.services if s.name == "api"]
    assert client_findings(live, services, client)[0] == {}
    manifests = [Manifest(obj, "deny.yaml", 1) for obj in load(DENY_ALL)]
    by_service, _ = client_findings(what_if(manifests, live), services, client)
    assert [f.code for f in by_service["shop/api"]] == ["networkpolicy-denies-client"]


# --------------------------------------------------------------------------- reading the files


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_yaml_documents_json_and_list_objects_are_read_and_placed_in_the_namespace(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n")
    lst = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "b", "namespace": "x"}}],
    }
    b = write(tmp_path, "b.json", json.dumps(lst))
    manifests = read_manifests([a, b], False, "shop", io.StringIO())
    assert [(m.kind, m.namespace, m.name, m.source, m.document) for m in manifests] == [
        ("Service", "shop", "a", a, 1),
        ("Service", "x", "b", b, 1),
    ]


def test_a_directory_is_read_flat_and_with_recursive_its_subdirectories_too(tmp_path: Path) -> None:
    svc = "apiVersion: v1\nkind: Service\nmetadata: {name: %s}\n"
    write(tmp_path, "d/one.yaml", svc % "one")
    write(tmp_path, "d/sub/two.yml", svc % "two")
    write(tmp_path, "d/notes.txt", "not a manifest")
    flat = read_manifests([str(tmp_path / "d")], False, "default", io.StringIO())
    deep = read_manifests([str(tmp_path / "d")], True, "default", io.StringIO())
    assert [m.name for m in flat] == ["one"]
    assert [m.name for m in deep] == ["one", "two"]


def test_stdin_is_read_for_dash() -> None:
    manifests = read_manifests(["-"], False, "shop", io.StringIO(API))
    assert [(m.kind, m.source) for m in manifests] == [("Deployment", "stdin")]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        pytest.param(
            "bad.yaml",
            "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nkind: [unclosed\n",
            "bad.yaml: document 2: not valid YAML: ",
            id="unparsable-yaml",
        ),
        pytest.param("bad.json", '{"kind": ', "bad.json: document 1: not valid JSON: ", id="unparsable-json"),
        pytest.param(
            "scalar.yaml",
            "just text\n",
            "scalar.yaml: document 1: not a Kubernetes object (a mapping with apiVersion, kind and metadata.name)",
            id="not-a-mapping",
        ),
        pytest.param(
            "nokind.yaml",
            "apiVersion: v1\nmetadata: {name: a}\n",
            "nokind.yaml: document 1: not a Kubernetes object: apiVersion and kind are required",
            id="no-kind",
        ),
        pytest.param(
            "noname.yaml",
            "apiVersion: v1\nkind: Service\nmetadata: {}\n",
            "noname.yaml: document 1: Service has no metadata.name",
            id="no-name",
        ),
        pytest.param("empty.yaml", "---\n", "no objects in ", id="no-objects"),
    ],
)
def test_bad_files_are_one_line_naming_the_file_and_document(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(BadInput) as exc:
        read_manifests([path], False, "default", io.StringIO())
    assert str(exc.value).replace(str(tmp_path) + "/", "").startswith(message)
    assert "\n" not in str(exc.value)


def test_a_missing_file_and_an_empty_stdin_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r'^the path ".*nowhere.yaml" does not exist$'):
        read_manifests([str(tmp_path / "nowhere.yaml")], False, "default", io.StringIO())
    with pytest.raises(BadInput, match=r"^-f -: stdin is empty"):
        read_manifests(["-"], False, "default", io.StringIO(""))


def test_unknown_kinds_are_skipped_with_a_note() -> None:
    report = offline(API + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n")
    assert report.notes == ("skipped 1 object(s) of kinds a what-if run does not judge: ConfigMap (1)",)


# --------------------------------------------------------------------------- the command line, offline


@pytest.fixture
def no_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline runs read no kubeconfig: HOME and KUBECONFIG point at nothing."""
    monkeypatch.setenv("HOME", str(tmp_path / "no-home"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))


def test_offline_diff_runs_without_any_kubeconfig_and_exits_1_on_an_error(
    tmp_path: Path, no_kubeconfig: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "app.yaml", API + service(spec="{selector: {app: api, tier: backnd}}"))
    assert run(["diff", "--offline", "-f", path, "-o", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["whatIf"]["offline"] is True
    assert [(o["kind"], o["action"]) for o in doc["whatIf"]["objects"]] == [
        ("Deployment", "planned"),
        ("Service", "planned"),
    ]
    (svc,) = doc["services"]
    assert (svc["source"], svc["planned"], [f["code"] for f in svc["findings"]]) == (
        path,
        True,
        ["selector-matches-no-pods"],
    )


def test_offline_services_marks_the_pods_from_files(
    tmp_path: Path, no_kubeconfig: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "app.yaml", API + service())
    assert run(["services", "--offline", "-f", path, "-n", "shop", "-o", "json"]) == 0
    (svc,) = json.loads(capsys.readouterr().out)["services"]
    assert [p["source"] for p in svc["selectedPods"]] == [path, path]
    assert {e["ip"] for e in svc["expected"]} == {None}


def test_offline_reach_judges_the_policies_of_the_files_alone(
    tmp_path: Path, no_kubeconfig: None, capsys: pytest.CaptureFixture[str]
) -> None:
    allowed = write(tmp_path, "allow.yaml", API + service() + ALLOW_FRONTEND)
    denied = write(tmp_path, "deny.yaml", API + service() + DENY_ALL)
    assert (
        run(["reach", "api", "-n", "shop", "--from-namespace", "frontend", "--offline", "-f", allowed]) == 0
    )
    assert run(["reach", "api", "-n", "shop", "--from-namespace", "frontend", "--offline", "-f", denied]) == 1
    assert "Reachable: no" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "stderr"),
    [
        (["diff", "--offline"], "error: --offline judges files: give them with -f PATH"),
        (["diff", "-R"], "error: -R descends into the directories of -f: give one with -f PATH"),
        (
            ["diff", "-w", "-f", "x.yaml"],
            "error: -w follows the cluster as it changes; it cannot be combined with -f",
        ),
        (["diff", "--offline", "-f", "nowhere.yaml"], 'error: the path "nowhere.yaml" does not exist'),
    ],
)
def test_bad_what_if_input_is_one_line_and_exit_2(
    argv: list[str], stderr: str, no_kubeconfig: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(argv) == 2
    assert capsys.readouterr().err.splitlines() == [stderr]


def test_the_pytest_assertion_fails_on_manifests_with_an_error(tmp_path: Path) -> None:
    from inspector.pytest_plugin import NotDiscoverable, manifests_discoverable

    good = write(tmp_path, "good.yaml", API + service())
    bad = write(tmp_path, "bad.yaml", API + service(spec="{selector: {app: api, tier: backnd}}"))
    assert manifests_discoverable(good).ok
    with pytest.raises(NotDiscoverable, match="selector-matches-no-pods"):
        manifests_discoverable(bad)


def test_offline_report_of_a_named_service_absent_from_the_files_is_not_found(tmp_path: Path) -> None:
    path = write(tmp_path, "app.yaml", API + service())
    with pytest.raises(BadInput, match='service "nope" not found in the files'):
        offline_report(Files((path,), offline=True), make_scope("shop", name="nope"))
