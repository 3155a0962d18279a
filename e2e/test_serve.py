"""serve, watched by a real Prometheus: the pinned Prometheus (cluster/build.sh) runs on the host,
scrapes serve and evaluates deploy/serve/alerts.yaml every 2 s, their `for: 2m`
shortened to 5s (the expressions are the file's own, unchanged). A Service is broken (a selector
typo; scaled to zero; pods that never get ready) and mended, and the alerts fire and resolve as
Prometheus itself reports them (its alerts API, its own timestamps); the API server is stopped and
serve's /readyz answers 503, Prometheus' SvcInspectNotReady fires, and once the API server is back
/readyz answers 200 and /report is what `diff -o json` says.

serve runs on the host in most tests (any cluster: kwok-only included), and as a pod on a real node
in one (the image built by cluster/images.py, loaded into the local cluster's real nodes or make
e2e-kind's; the manifests of deploy/serve/), scraped through its pod IP, which the host reaches
through the node network: the restart and the broken Service again,
the probes of deploy/serve/serve.yaml answered inside the pod. `--events` and `--dns` are tested on
the host, against the cluster's own RBAC and DNS.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.harness import INSPECT, WEB_SVC, Cluster, apply, deploy_web, kind_load, unavailable, wait_until
from e2e.test_chaos import api_server_stopped, control_plane_faults
from e2e.test_guarantees import token_kubeconfig

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "deploy" / "serve" / "alerts.yaml"
SERVE_DIR = ROOT / "deploy" / "serve"
INTERVAL_S = 2  # Prometheus' scrape and evaluation interval here (1 s was too tight for a busy machine)
FOR = "5s"  # the alerts' `for`, instead of the file's 2m


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def prometheus_binary() -> Path:
    paths = subprocess.run(
        ["bash", str(ROOT / "cluster" / "build.sh"), "paths"], capture_output=True, text=True, check=True
    ).stdout
    found = dict(line.split("=", 1) for line in paths.splitlines() if "=" in line)
    binary = Path(found["PROMETHEUS_BIN"]) / "prometheus"
    if not os.access(binary, os.X_OK):
        pytest.fail(f"{binary} is missing: `bash cluster/build.sh prometheus` builds it (make e2e does)")
    return binary


class Prometheus:
    """A Prometheus on the host scraping `targets` (job svc-inspect) with the alerting rules of
    deploy/serve/alerts.yaml, their `for` shortened."""

    def __init__(self, workdir: Path, targets: list[str]) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        rules = yaml.safe_load(ALERTS.read_text())
        for group in rules["groups"]:
            for rule in group["rules"]:
                rule["for"] = FOR
        (workdir / "rules.yaml").write_text(yaml.safe_dump(rules))
        config = {
            "global": {"scrape_interval": f"{INTERVAL_S}s", "evaluation_interval": f"{INTERVAL_S}s"},
            "rule_files": ["rules.yaml"],
            "scrape_configs": [
                {
                    "job_name": "svc-inspect",
                    "scrape_timeout": f"{INTERVAL_S}s",
                    "static_configs": [{"targets": targets}],
                }
            ],
        }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (workdir / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [
                str(prometheus_binary()),
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
        wait_until(lambda: fetch(f"{self.url}/-/ready")[0] == 200, what="Prometheus ready", timeout=60)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def api(self, path: str, **query: str) -> Any:
        status, body = fetch(f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(query)}")
        assert status == 200, body
        return json.loads(body)["data"]

    def value(self, expr: str) -> float | None:
        result = self.api("query", query=expr)["result"]
        return float(result[0]["value"][1]) if result else None

    def alerts(self, name: str, **labels: str) -> list[dict[str, Any]]:
        return [
            a
            for a in self.api("alerts")["alerts"]
            if a["labels"].get("alertname") == name
            and all(a["labels"].get(k) == v for k, v in labels.items())
        ]

    def firing(self, name: str, **labels: str) -> dict[str, Any] | None:
        return next((a for a in self.alerts(name, **labels) if a["state"] == "firing"), None)

    def first_sample(self, selector: str) -> float:
        """The timestamp of the oldest sample of `selector` Prometheus holds (in the last 10 minutes)."""
        result = self.api("query", query=f"{selector}[10m]")["result"]
        return min(float(ts) for series in result for ts, _ in series["values"])


def rule_expr(alert: str) -> str:
    """The expression of `alert` in deploy/serve/alerts.yaml."""
    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    return str(next(r["expr"] for r in rules if r.get("alert") == alert))


def active_at(alert: dict[str, Any]) -> float:
    text = alert["activeAt"]
    head, _, frac = text.rstrip("Z").partition(".")
    stamp = datetime.datetime.fromisoformat(head).replace(tzinfo=datetime.UTC).timestamp()
    return stamp + (float("0." + frac) if frac else 0.0)


class Serving:
    """A serve process on the host: its address while it runs; its exit status and stderr once
    `serving` has stopped it."""

    def __init__(self, proc: subprocess.Popen[str], address: str) -> None:
        self.proc, self.address = proc, address
        self.code: int | None = None
        self.err = ""


@contextmanager
def serving(env: dict[str, str], *args: str, timeout: float = 60) -> Iterator[Serving]:
    """`serve ARGS --listen 127.0.0.1:PORT` on the host, once /readyz answers 200; SIGTERM at the end
    of the block, pass or fail (killed if it does not end within 60 s)."""
    address = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [INSPECT, "serve", *args, "--listen", address],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    running = Serving(proc, address)
    try:
        wait_until(
            lambda: fetch(f"http://{address}/readyz")[0] == 200 or proc.poll() is not None,
            what=f"serve {' '.join(args)} ready",
            timeout=timeout,
        )
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        yield running
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            _, running.err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, running.err = proc.communicate()
        running.code = proc.returncode


@pytest.fixture
def served(cluster: Cluster, namespace: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """serve -n NAMESPACE on the host, ready; stopped with SIGTERM afterwards (and it must end 0)."""
    with serving(cluster.env, "-n", namespace) as running:
        yield running.proc, running.address
    assert (running.code, running.err.splitlines()[-1]) == (0, "serve: stopped"), running.err


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[list[Prometheus]]:
    """Prometheus processes the test starts (Prometheus(...)), stopped at its end."""
    started: list[Prometheus] = []
    yield started
    for p in started:
        p.stop()


NOT_READY_PATCH = {
    "spec": {
        "template": {
            # kwok's stage for pods that run but never get ready; a real node's kubelet runs the probe
            "metadata": {"annotations": {"kwok.inspector.test/ready": "false"}},
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "readinessProbe": {"tcpSocket": {"port": 5999}, "periodSeconds": 1},
                    }
                ]
            },
        }
    }
}


def break_and_mend(cluster: Cluster, namespace: str, prom: Prometheus) -> None:
    """The Service web-svc broken three ways and mended, as Prometheus sees it through serve."""
    where = {"namespace": namespace, "service": "web-svc"}
    selector = f'namespace="{namespace}",service="web-svc"'
    wait_until(
        lambda: prom.value(f"svc_inspect_service_ok{{{selector}}}") == 1.0, what="web-svc ok in Prometheus"
    )

    # a selector typo: an error finding, and after `for` its alert fires
    cluster.kubectl(
        "patch", "service", "web-svc", "-n", namespace, "-p", '{"spec":{"selector":{"app":"wbe"}}}'
    )
    alert = wait_until(
        lambda: prom.firing("ServiceHasErrorFinding", code="selector-matches-no-pods", **where),
        what="ServiceHasErrorFinding firing",
        timeout=120,
    )
    seen = prom.first_sample(f'svc_inspect_findings{{{selector},code="selector-matches-no-pods"}}')
    # pending only once a scrape had the finding, and the rule's expression true from that very
    # sample: Prometheus evaluating it at the first sample's own timestamp finds the alert, so the
    # rule adds no delay of its own and the first evaluation that has ingested the sample makes it
    # pending. The wall time until that evaluation is the machine's (a slow scrape on a busy
    # machine is ingested late, 4.7 s seen here for a 2 s interval), so it is not asserted; the
    # rule's timing on a fixed clock is promtool's to prove (tests/test_alerts.py)
    assert active_at(alert) >= seen, (alert, seen)
    at_first = prom.api("query", query=rule_expr("ServiceHasErrorFinding"), time=f"{seen:.3f}")["result"]
    assert [r["metric"] for r in at_first if r["metric"].get("service") == "web-svc"] == [
        {"namespace": namespace, "service": "web-svc", "code": "selector-matches-no-pods"}
    ], at_first
    assert alert["annotations"]["summary"] == f"Service {namespace}/web-svc: selector-matches-no-pods"

    # mended: the series goes, the alert resolves
    cluster.kubectl(
        "patch", "service", "web-svc", "-n", namespace, "-p", '{"spec":{"selector":{"app":"web"}}}'
    )
    wait_until(
        lambda: not prom.alerts("ServiceHasErrorFinding", **where), what="the alert resolved", timeout=120
    )
    assert prom.value(f'svc_inspect_findings{{{selector},code="selector-matches-no-pods"}}') is None

    # scaled to zero: a warning (a Deployment may be scaled to zero on purpose), no error alert
    cluster.kubectl("scale", "deployment/web", "-n", namespace, "--replicas=0")
    wait_until(
        lambda: (
            prom.value(f'svc_inspect_findings{{{selector},code="selector-matches-scaled-to-zero"}}') == 1.0
        ),
        what="selector-matches-scaled-to-zero in Prometheus",
        timeout=120,
    )
    assert prom.value(f"svc_inspect_service_ok{{{selector}}}") == 0.0
    # while the pods terminate the Service briefly has pods and none ready (no-ready-endpoints): an alert
    # pending for that moment goes with it; none stays
    wait_until(
        lambda: not prom.alerts("ServiceHasErrorFinding", **where),
        what="no ServiceHasErrorFinding once scaled to zero",
        timeout=60,
    )

    # back to two replicas that never get ready: endpoints expected, none ready, the alert fires
    cluster.kubectl(
        "patch", "deployment/web", "-n", namespace, "--type=strategic", "-p", json.dumps(NOT_READY_PATCH)
    )
    cluster.kubectl("scale", "deployment/web", "-n", namespace, "--replicas=2")
    alert = wait_until(
        lambda: prom.firing("ServiceHasNoReadyEndpoints", **where),
        what="ServiceHasNoReadyEndpoints firing",
        timeout=180,
    )
    assert prom.value(f'svc_inspect_endpoints{{{selector},state="expected"}}') == 2.0
    assert prom.value(f'svc_inspect_endpoints{{{selector},state="ready"}}') == 0.0


def web_with_service(cluster: Cluster, namespace: str) -> None:
    deploy_web(cluster, namespace, replicas=2)
    apply(cluster, namespace, WEB_SVC)


def test_prometheus_scraping_serve_fires_the_alerts_of_a_broken_service_and_resolves_them(
    cluster: Cluster,
    namespace: str,
    served: tuple[subprocess.Popen[str], str],
    prometheus: list[Prometheus],
    tmp_path: Path,
) -> None:
    web_with_service(cluster, namespace)
    _, address = served
    prom = Prometheus(tmp_path / "prometheus", [address])
    prometheus.append(prom)

    break_and_mend(cluster, namespace, prom)
    assert not prom.alerts("SvcInspectDown") and not prom.alerts("SvcInspectNotReady")


def report_of(cluster: Cluster, namespace: str) -> Any:
    done = subprocess.run(
        [INSPECT, "diff", "-n", namespace, "-o", "json"],
        capture_output=True,
        text=True,
        env=cluster.env,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def through_an_api_server_restart(
    cluster: Cluster, namespace: str, address: str, prom: Prometheus, tmp_path: Path
) -> None:
    """The API server stopped: serve's /readyz 503 (its /healthz 200) and SvcInspectNotReady fires;
    started again: /readyz 200, the alert resolved, /report what `diff -o json` says, before and
    after a change (a selector typo, mended at the end)."""
    with api_server_stopped(cluster):
        wait_until(lambda: fetch(f"http://{address}/readyz")[0] == 503, what="/readyz 503", timeout=60)
        assert fetch(f"http://{address}/healthz") == (200, "ok\n")
        wait_until(lambda: prom.firing("SvcInspectNotReady"), what="SvcInspectNotReady firing", timeout=60)
    wait_until(lambda: fetch(f"http://{address}/readyz")[0] == 200, what="/readyz 200 again", timeout=60)
    wait_until(lambda: not prom.alerts("SvcInspectNotReady"), what="SvcInspectNotReady resolved", timeout=60)
    assert (prom.value('svc_inspect_watch_restarts_total{resource="pods"}') or 0) >= 1

    # the report is right: what diff says now, and it follows the changes made after. Both sides
    # are read afresh at every look: after a minute without an API server the node controller
    # may still be settling the nodes' and pods' conditions, so a report taken once can go stale.
    def same_as_diff(with_errors: bool) -> bool:
        served, fresh = json.loads(fetch(f"http://{address}/report")[1]), report_of(cluster, namespace)
        (tmp_path / "served.json").write_text(json.dumps(served, indent=1))
        (tmp_path / "diff.json").write_text(json.dumps(fresh, indent=1))
        return bool(served == fresh) and bool(fresh["summary"]["errors"]) == with_errors

    last = f"(the last of both in {tmp_path})"
    wait_until(
        lambda: same_as_diff(False), what=f"/report as diff -o json says, no error {last}", timeout=120
    )
    cluster.kubectl(
        "patch", "service", "web-svc", "-n", namespace, "-p", '{"spec":{"selector":{"app":"wbe"}}}'
    )
    wait_until(
        lambda: same_as_diff(True), what=f"/report as diff -o json says, with the typo {last}", timeout=120
    )
    cluster.kubectl(
        "patch", "service", "web-svc", "-n", namespace, "-p", '{"spec":{"selector":{"app":"web"}}}'
    )


def test_serve_is_not_ready_while_the_api_server_is_stopped_and_right_again_after(
    cluster: Cluster,
    namespace: str,
    served: tuple[subprocess.Popen[str], str],
    prometheus: list[Prometheus],
    tmp_path: Path,
) -> None:
    control_plane_faults(cluster)
    web_with_service(cluster, namespace)
    _, address = served
    prom = Prometheus(tmp_path / "prometheus", [address])
    prometheus.append(prom)
    wait_until(lambda: prom.value("svc_inspect_ready") == 1.0, what="serve ready in Prometheus")

    through_an_api_server_restart(cluster, namespace, address, prom, tmp_path)


# ----------------------------------------------------------------------------- serve as a pod on a real node

IMAGE = "localhost/svc-inspect:dev"


def serve_manifests(namespace: str, watched: str) -> str:
    """deploy/serve/serve.yaml for this test: in `namespace` instead of svc-inspect, watching only
    `watched` (-n), its ServiceAccount bound to the read-only ClusterRole of deploy/rbac.yaml."""
    docs = []
    for doc in yaml.safe_load_all((SERVE_DIR / "serve.yaml").read_text()):
        if doc["kind"] == "Namespace":
            continue
        if doc["metadata"].get("namespace") == "svc-inspect":
            doc["metadata"]["namespace"] = namespace
        for subject in doc.get("subjects", []):
            subject["namespace"] = namespace
        if doc["kind"] in ("ClusterRoleBinding", "RoleBinding"):
            doc["metadata"]["name"] += f"-{namespace}"
        if doc["kind"] == "Deployment":
            doc["spec"]["template"]["spec"]["containers"][0]["args"] = ["serve", "-n", watched]
        docs.append(doc)
    return yaml.safe_dump_all(docs)


def load_serve_image(cluster: Cluster) -> None:
    """serve's image built from this work tree and imported into every real node: the local
    cluster's containerds (`localcluster.py serve-image --load`), or make e2e-kind's nodes (the
    archive it builds, imported as `kind load image-archive` does)."""
    if not (cluster.local and cluster.nodes) and not cluster.kind:
        unavailable("serve's image can be loaded into the local cluster's real nodes or make e2e-kind's only")
    built = subprocess.run(
        [
            sys.executable,
            str(ROOT / "cluster" / "localcluster.py"),
            "serve-image",
            *(["--load"] * cluster.local),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        unavailable(f"the serve image could not be built or imported: {built.stderr.strip()}")
    if cluster.kind:
        kind_load(cluster, Path(built.stdout.split()[-1]))


def test_serve_as_a_pod_on_a_real_node_scraped_through_its_pod_ip_through_a_restart_and_a_broken_service(
    real_node: Cluster, namespace: str, prometheus: list[Prometheus], tmp_path: Path
) -> None:
    cluster = real_node
    load_serve_image(cluster)
    web_with_service(cluster, namespace)
    cluster.kubectl("apply", "-f", str(ROOT / "deploy" / "rbac.yaml"))
    cluster.kubectl("apply", "-f", "-", stdin=serve_manifests(namespace, namespace))
    try:
        # ready only once /readyz answers 200 inside the pod: its first list is in
        cluster.kubectl("rollout", "status", "deployment/svc-inspect", "-n", namespace, "--timeout=180s")
        pod = cluster.get_json("pods", "-n", namespace, "-l", "app.kubernetes.io/name=svc-inspect")["items"][
            0
        ]
        address = f"{pod['status']['podIP']}:9847"
        prom = Prometheus(tmp_path / "prometheus", [address])
        prometheus.append(prom)
        wait_until(lambda: prom.value('up{job="svc-inspect"}') == 1.0, what="Prometheus scrapes the pod")
        wait_until(lambda: prom.value("svc_inspect_ready") == 1.0, what="serve ready in Prometheus")
        through_an_api_server_restart(cluster, namespace, address, prom, tmp_path)
        break_and_mend(cluster, namespace, prom)
    finally:
        cluster.kubectl(
            "delete", "clusterrolebinding", f"svc-inspect-{namespace}", "--ignore-not-found", check=False
        )


# ----------------------------------------------------------------------------- --events


def serve_account(cluster: Cluster, namespace: str, path: Path, events: bool) -> Path:
    """A ServiceAccount of `namespace` with deploy/rbac.yaml's read-only ClusterRole (and, with
    `events`, deploy/rbac-events.yaml's, in this namespace only); a kubeconfig with its token."""
    cluster.kubectl("apply", "-f", str(ROOT / "deploy" / "rbac.yaml"))
    cluster.kubectl("create", "serviceaccount", "watcher", "-n", namespace)
    roles = ["svc-inspect", *(["svc-inspect-events"] if events else [])]
    if events:
        rbac = [d for d in yaml.safe_load_all((ROOT / "deploy" / "rbac-events.yaml").read_text()) if d]
        cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(rbac[0]))  # the ClusterRole alone
    for role in roles:
        cluster.kubectl(
            "create", "rolebinding", role, "-n", namespace, f"--clusterrole={role}",
            f"--serviceaccount={namespace}:watcher",
        )  # fmt: skip
    token = cluster.kubectl("create", "token", "watcher", "-n", namespace).strip()
    return token_kubeconfig(cluster, token, path, namespace)


def service_events(cluster: Cluster, namespace: str, uid: str) -> list[tuple[str, str, str]]:
    items = cluster.get_json(
        "events", "-n", namespace, "--field-selector", f"involvedObject.name=web-svc,involvedObject.uid={uid}"
    )["items"]
    return [
        (e["type"], e["reason"], e["message"].split(":")[0])
        for e in items
        if e.get("source", {}).get("component") == "svc-inspect"
    ]


def test_serve_events_says_on_the_service_when_a_finding_appears_and_is_resolved(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    web_with_service(cluster, namespace)
    config = serve_account(cluster, namespace, tmp_path / "config", events=True)
    with serving(cluster.env, "--events", "--kubeconfig", str(config)) as running:
        uid = cluster.get_json("service", "web-svc", "-n", namespace)["metadata"]["uid"]
        cluster.kubectl(
            "patch", "service", "web-svc", "-n", namespace, "-p", '{"spec":{"selector":{"app":"wbe"}}}'
        )
        wait_until(
            lambda: (
                ("Warning", "FindingAppeared", "selector-matches-no-pods")
                in service_events(cluster, namespace, uid)
            ),
            what="the Event of the finding",
        )
        cluster.kubectl(
            "patch", "service", "web-svc", "-n", namespace, "-p", '{"spec":{"selector":{"app":"web"}}}'
        )
        wait_until(
            lambda: (
                ("Normal", "FindingResolved", "selector-matches-no-pods")
                in service_events(cluster, namespace, uid)
            ),
            what="the Event of its resolution",
        )
        # kubectl describe finds them (they name the Service's uid)
        described = cluster.kubectl("describe", "service", "web-svc", "-n", namespace)
        assert "FindingAppeared" in described and "FindingResolved" in described
    assert running.code == 0, running.err


def test_serve_events_without_the_permission_says_so_once_and_keeps_serving(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    web_with_service(cluster, namespace)
    config = serve_account(cluster, namespace, tmp_path / "config", events=False)
    with serving(cluster.env, "--events", "--kubeconfig", str(config)) as running:
        for selector in ("wbe", "web", "wbe"):  # three findings' changes, so three writes refused
            cluster.kubectl(
                "patch",
                "service",
                "web-svc",
                "-n",
                namespace,
                "-p",
                f'{{"spec":{{"selector":{{"app":"{selector}"}}}}}}',
            )
            wait_until(
                lambda s=selector: (
                    ("selector-matches-no-pods" in fetch(f"http://{running.address}/metrics")[1])
                    == (s == "wbe")
                ),
                what=f"selector app={selector} judged",
            )
        assert fetch(f"http://{running.address}/readyz")[0] == 200
    refused = [line for line in running.err.splitlines() if line.startswith("events: ")]
    assert running.code == 0, running.err
    assert len(refused) == 1 and "forbidden" in refused[0], running.err


# ----------------------------------------------------------------------------- --dns


def dns_records(address: str, service: str) -> dict[str, float]:
    out = {}
    for line in fetch(f"http://{address}/metrics")[1].splitlines():
        if line.startswith("svc_inspect_dns_records{") and f'service="{service}"' in line:
            result = line.split('result="')[1].split('"')[0]
            out[result] = float(line.rsplit(" ", 1)[1])
    return out


def test_serve_dns_exports_the_oracles_answers_per_service_and_asks_about_a_new_one(
    cluster: Cluster, namespace: str
) -> None:
    if not cluster.dns_server:
        unavailable("no cluster DNS reachable from the host (INSPECTOR_DNS_SERVER)")
    web_with_service(cluster, namespace)
    with serving(cluster.env, "-n", namespace, "--dns") as running:
        address = running.address
        # every record as the API implies (a wrong answer, CoreDNS not yet caught up, is asked again)
        wait_until(
            lambda: (r := dns_records(address, "web-svc")).get("ok") and r.get("wrong") == 0.0,
            what="web-svc's DNS records all ok",
        )
        # a Service created later is asked about when it is judged, not a minute after
        apply(cluster, namespace, WEB_SVC.replace("name: web-svc", "name: web-svc-2"))
        wait_until(
            lambda: dns_records(address, "web-svc-2").get("ok"), what="web-svc-2's DNS records", timeout=30
        )
    assert running.code == 0, running.err
