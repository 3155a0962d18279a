"""`why`'s pure half: the name a client writes, the probe's script and log, and the chain judged
from a Service's report and the probe's results (tests/manifests-style objects in, steps out)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inspector.cli import run
from inspector.diagnosis.checklist import (
    NamedService,
    ProbeSite,
    StepStatus,
    Vantage,
    Verdict,
    active_steps,
    chain,
    parse_target,
    probe_plan,
    sentence,
    skipped_active,
)
from inspector.diagnosis.nodeverdicts import judge_health, proxy_health
from inspector.diagnosis.probes import (
    PROBE_DEADLINE_S,
    Check,
    Outcome,
    parse_probe_log,
    probe_pod,
    probe_script,
)
from inspector.diagnosis.report import ServiceReport
from inspector.errors import BadInput
from inspector.model.building import pod_from_api
from inspector.model.findings import CATALOGUE
from inspector.output.whyviews import why_json, why_text
from tests.conftest import inspect_manifests, load

WEB = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  clusterIP: 10.96.0.50
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: 8080, nodePort: 30080}
---
apiVersion: v1
kind: Node
metadata: {name: real-node}
status:
  addresses: [{type: InternalIP, address: 10.88.0.1}]
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: v1
kind: Node
metadata: {name: kwok-node-0, annotations: {kwok.x-k8s.io/node: fake}}
status:
  addresses: [{type: InternalIP, address: 127.0.0.1}]
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-a, namespace: shop, labels: {app: web}}
spec:
  nodeName: real-node
  containers: [{name: web, image: agnhost, ports: [{containerPort: 8080}]}]
status:
  phase: Running
  podIP: 10.88.0.10
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-b, namespace: shop, labels: {app: web}}
spec:
  nodeName: real-node
  containers: [{name: web, image: agnhost, ports: [{containerPort: 8080}]}]
status:
  phase: Running
  podIP: 10.88.0.11
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-x1
  namespace: shop
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
  - addresses: [10.88.0.10]
    conditions: {ready: true}
    targetRef: {kind: Pod, namespace: shop, name: web-a}
  - addresses: [10.88.0.11]
    conditions: {ready: true}
    targetRef: {kind: Pod, namespace: shop, name: web-b}
"""

CONNECTED = "CONNECTED"


def web() -> ServiceReport:
    report = inspect_manifests(WEB)
    sr = report.service("shop", "web")
    assert sr is not None
    return sr


def log_of(**lines: str) -> str:
    """A probe's log: one `inspector-probe ID ...` line per check, and its end."""
    out = ["inspector-probe resolv nameserver 10.96.0.10 search shop.svc.cluster.local options ndots:5"]
    out += [f"inspector-probe {ident.replace('_', '-')} {text}" for ident, text in lines.items()]
    return "\n".join([*out, "inspector-probe done"])


def judged(target: NamedService, client: Vantage, log: str) -> list[tuple[str, str, list[str]]]:
    sr = web()
    plan = probe_plan(sr, target, inspect_manifests(WEB).snapshot.nodes)
    steps = chain(
        sr, target, client, active_steps(sr, target, client, plan, parse_probe_log(log, plan.checks))
    )
    return [(s.name, s.status.value, [f.code for f in s.findings]) for s in steps]


HEALTHY = {
    "dns": "RESOLVED 10.96.0.50 web.shop.svc.cluster.local",
    "dns_tcp": CONNECTED,
    "ep_0": CONNECTED,
    "ep_1": CONNECTED,
    "svc_0": CONNECTED,
    "np_0": CONNECTED,
}
FROM_OTHER_NS = Vantage("other", node="real-node")


@pytest.mark.parametrize(
    ("raw", "namespace", "expected"),
    [
        ("web", "shop", NamedService("web", "web", "shop", False)),
        ("web.shop", "other", NamedService("web.shop", "web", "shop", True)),
        ("web.shop.svc", "other", NamedService("web.shop.svc", "web", "shop", True)),
        (
            "web.shop.svc.cluster.local.",
            "x",
            NamedService("web.shop.svc.cluster.local.", "web", "shop", True),
        ),
    ],
)
def test_the_service_is_the_name_a_client_writes(raw: str, namespace: str, expected: NamedService) -> None:
    assert parse_target(raw, namespace) == expected


@pytest.mark.parametrize(
    "raw", ["", "Web", "web..shop", "web.shop.pod", "-web", "web.shop.svc.bad_label", "a" * 64]
)
def test_a_name_no_client_could_write_is_bad_input(raw: str) -> None:
    with pytest.raises(BadInput):
        parse_target(raw, "shop")


def test_the_plan_probes_each_ready_endpoint_the_cluster_ip_and_node_ports_of_real_nodes_only() -> None:
    plan = probe_plan(web(), parse_target("web", "shop"), inspect_manifests(WEB).snapshot.nodes)

    assert [(c.id, c.kind, c.target) for c in plan.checks] == [
        ("dns", "dns", "web"),
        ("ep-0", "tcp", "10.88.0.10:8080"),
        ("ep-1", "tcp", "10.88.0.11:8080"),
        ("svc-0", "tcp", "10.96.0.50:80"),
        ("np-0", "tcp", "10.88.0.1:30080"),
    ]
    assert [c.id for c in plan.checks if c.again] == ["svc-0", "np-0"]
    assert plan.notes == ("1 simulated or not-ready node(s) left out of the node-port checks",)


def test_the_script_runs_every_check_at_once_with_quoted_targets() -> None:
    script = probe_script(
        [
            Check("dns", "dns", "web.shop"),
            Check("ep-0", "tcp", "10.88.0.10:8080"),
            Check("svc-0", "tcp", "10.96.0.50:80", again=True),
        ]
    )

    assert "/agnhost connect --timeout=3s" in script
    assert "\nd dns web.shop &\n" in script
    assert "\nt ep-0 10.88.0.10:8080 &\n" in script
    assert "\nr svc-0 10.96.0.50:80 &\n" in script  # tried again after a pause
    assert script.endswith("wait\necho inspector-probe done\n")
    with pytest.raises(ValueError, match="invalid check id"):
        probe_script([Check("x; rm -rf /", "tcp", "a:1")])


def test_agnhost_connect_words_tell_refused_timeout_and_unreachable_apart() -> None:
    checks = [Check(i, "tcp", "a:1") for i in ("a", "b", "c", "d", "e")]
    log = parse_probe_log(
        "inspector-probe a CONNECTED\ninspector-probe b REFUSED\ninspector-probe c TIMEOUT\n"
        "inspector-probe d OTHER: dial tcp 10.1.1.1:80: connect: no route to host\nnoise\n",
        checks,
    )

    assert {k: (r.outcome, r.detail) for k, r in log.results.items()} == {
        "a": (Outcome.CONNECTED, ""),
        "b": (Outcome.REFUSED, "connection refused"),
        "c": (Outcome.TIMEOUT, "no answer within 3s"),
        "d": (Outcome.UNREACHABLE, "no route to host"),
        "e": (Outcome.ERROR, "the probe printed no result"),
    }
    assert not log.complete


def test_getent_answers_are_read_as_addresses() -> None:
    checks = [Check("dns", "dns", "web"), Check("other", "dns", "nope")]
    log = parse_probe_log(
        "inspector-probe dns RESOLVED 10.88.0.10 web.shop.svc.cluster.local 10.88.0.11 web.shop.svc.cluster.local\n"
        "inspector-probe other NOTFOUND\n",
        checks,
    )

    assert log.results["dns"].addresses == ("10.88.0.10", "10.88.0.11")
    assert log.results["other"].outcome is Outcome.NOT_FOUND


def test_the_probe_pod_is_labelled_bounded_and_never_restarted() -> None:
    pod = probe_pod("other", "web", "agnhost:1", "echo hi\n")

    assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "why-probe"
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "svc-inspect"
    assert pod["metadata"]["labels"]["svc-inspect.io/service"] == "web"
    assert pod["spec"]["activeDeadlineSeconds"] == PROBE_DEADLINE_S
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["containers"][0]["command"] == ["/bin/sh", "-c", "echo hi\n"]


def test_healthy_service_from_another_namespace_by_its_namespaced_name_passes_every_step() -> None:
    steps = judged(parse_target("web.shop", "shop"), FROM_OTHER_NS, log_of(**HEALTHY))

    assert steps == [
        ("service-exists", "passed", []),
        ("selector-selects-pods", "passed", []),
        ("pods-ready", "passed", []),
        ("endpoints-match", "passed", []),
        ("dns-resolves", "passed", []),
        ("endpoints-connect", "passed", []),
        ("service-ip-connects", "passed", []),
        ("nodeports-connect", "passed", []),
        ("hairpin", "n/a", []),
    ]


def test_a_short_name_from_another_namespace_fails_at_dns_and_suggests_the_namespaced_name() -> None:
    target = parse_target("web", "shop")
    steps = judged(target, FROM_OTHER_NS, log_of(**HEALTHY | {"dns": "NOTFOUND"}))
    sr = web()
    plan = probe_plan(sr, target, ())
    full = chain(
        sr,
        target,
        FROM_OTHER_NS,
        active_steps(
            sr,
            target,
            FROM_OTHER_NS,
            plan,
            parse_probe_log(log_of(**HEALTHY | {"dns": "NOTFOUND"}), plan.checks),
        ),
    )

    assert steps[4:] == [
        ("dns-resolves", "failed", ["dns-from-pod-differs"]),
        ("endpoints-connect", "skipped", []),
        ("service-ip-connects", "skipped", []),
        ("nodeports-connect", "skipped", []),
        ("hairpin", "n/a", []),
    ]
    assert full[4].findings[0].message == (
        "web from a pod in namespace other answers nothing (not found), but the API says 10.96.0.50: a short "
        "name resolves only in its own namespace; from namespace other write web.shop"
    )


def test_endpoints_refusing_are_the_broken_link_before_the_cluster_ip() -> None:
    steps = judged(
        parse_target("web", "shop"),
        Vantage("shop"),
        log_of(**HEALTHY | {"ep_0": "REFUSED", "ep_1": "TIMEOUT"}),
    )

    assert steps[5:7] == [
        ("endpoints-connect", "failed", ["endpoint-refused", "endpoint-timeout"]),
        ("service-ip-connects", "skipped", []),
    ]


def test_cluster_ip_failing_while_endpoints_connect_names_kube_proxy_on_the_clients_node() -> None:
    sr, target = web(), parse_target("web", "shop")
    plan = probe_plan(sr, target, ())
    log = parse_probe_log(log_of(**HEALTHY | {"svc_0": "TIMEOUT"}), plan.checks)
    steps = chain(sr, target, FROM_OTHER_NS, active_steps(sr, target, FROM_OTHER_NS, plan, log))

    assert [(s.name, s.status) for s in steps][5:7] == [
        ("endpoints-connect", StepStatus.PASSED),
        ("service-ip-connects", StepStatus.FAILED),
    ]
    assert steps[6].findings[0].message == (
        "10.96.0.50 (port 80) did not connect from a pod in namespace other on node real-node (timeout: no answer "
        "within 3s) while every endpoint connects: kube-proxy on node real-node is not forwarding this Service "
        "(is it running?)"
    )
    assert "check kube-proxy on node real-node" in sentence(steps, target, FROM_OTHER_NS, sr)


def test_a_node_port_that_does_not_answer_is_nodeport_unreachable() -> None:
    steps = judged(parse_target("web", "shop"), FROM_OTHER_NS, log_of(**HEALTHY | {"np_0": "REFUSED"}))

    assert steps[7] == ("nodeports-connect", "failed", ["nodeport-unreachable"])


def test_a_backend_that_cannot_reach_itself_through_its_service_is_hairpin_failed() -> None:
    backend = pod_from_api(next(d for d in load(WEB) if d["metadata"]["name"] == "web-a"))
    client = Vantage("shop", backend, "real-node")
    steps = judged(parse_target("web", "shop"), client, log_of(**HEALTHY | {"svc_0": "TIMEOUT"}))

    assert steps[6:] == [
        ("service-ip-connects", "n/a", []),
        ("nodeports-connect", "passed", []),
        ("hairpin", "failed", ["hairpin-failed"]),
    ]


def test_without_permission_the_passive_steps_stand_and_each_active_step_says_why_in_one_line() -> None:
    sr, target = web(), parse_target("web", "shop")
    steps = chain(sr, target, Vantage("shop"), skipped_active("no permission to create a probe pod"))

    assert [(s.status.value, s.evidence) for s in steps[4:]] == [
        ("skipped", ("no permission to create a probe pod",))
    ] * 5
    assert not any(s.status is StepStatus.FAILED for s in steps)


def test_a_service_that_does_not_exist_is_the_first_broken_link() -> None:
    target = parse_target("nope", "shop")
    steps = chain(None, target, Vantage("shop"), skipped_active("an earlier step failed"))

    assert [(s.name, s.status.value) for s in steps] == [
        ("service-exists", "failed"),
        ("dns-resolves", "skipped"),
        ("endpoints-connect", "skipped"),
        ("service-ip-connects", "skipped"),
        ("nodeports-connect", "skipped"),
        ("hairpin", "skipped"),
    ]
    assert sentence(steps, target, Vantage("shop"), None).startswith(
        'shop/nope is broken at "Service exists"'
    )


def test_every_active_code_of_the_catalogue_is_raised_by_some_case_above() -> None:
    raised = set()
    sr, target = web(), parse_target("web", "shop")
    backend = pod_from_api(next(d for d in load(WEB) if d["metadata"]["name"] == "web-a"))
    for client, broken in [
        (FROM_OTHER_NS, {"dns": "NOTFOUND"}),
        (FROM_OTHER_NS, {"ep_0": "REFUSED", "ep_1": "OTHER: no route to host"}),
        (FROM_OTHER_NS, {"svc_0": "TIMEOUT", "np_0": "TIMEOUT"}),
        (Vantage("shop", backend, "real-node"), {"svc_0": "TIMEOUT"}),
    ]:
        plan = probe_plan(sr, target, inspect_manifests(WEB).snapshot.nodes)
        log = parse_probe_log(log_of(**HEALTHY | broken), plan.checks)
        raised |= {f.code for s in active_steps(sr, target, client, plan, log) for f in s.findings}
    # --node-health: a kube-proxy that answers with an old last sync, and one that does not answer
    changed = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    old = proxy_health(
        "b", True, 200, b'{"lastUpdated": "2026-01-01T11:00:00Z", "currentTime": "2026-01-01T12:05:00Z"}'
    )
    for health in (old, proxy_health("c", False, 503, b"", "connection refused")):
        judged = judge_health(health, changed)
        assert judged is not None
        raised.add(judged.code)

    assert raised == {code for code, c in CATALOGUE.items() if c.active}


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["why", "Bad_Name"], "invalid Service name 'Bad_Name'"),
        (["why", "web.shop.pods"], "invalid Service name 'web.shop.pods'"),
        (["why", "web", "--from-namespace", "Not Valid"], "invalid namespace 'Not Valid'"),
        (["why", "web", "--from-pod", "a/b/c"], "invalid pod name 'a/b/c'"),
        (["why", "web", "--image", ""], "invalid image ''"),
    ],
)
def test_why_bad_input_is_one_line_and_exit_2_before_any_request(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # the kubeconfig does not exist: the arguments are judged before it is even read
    assert run([*argv, "--kubeconfig", "/nonexistent/kubeconfig"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {says}"), err


class PodStatusSource:
    """Answers the probe pod's GET with one status, as the API server would hold it."""

    def __init__(self, status: dict[str, object]) -> None:
        self.status = status

    def get_json(self, path: str) -> dict[str, object]:
        return {"metadata": {"name": path.rsplit("/", 1)[-1]}, "status": self.status}


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (
            {
                "phase": "Pending",
                "containerStatuses": [
                    {
                        "name": "inspector-why-probe",
                        "state": {
                            "waiting": {
                                "reason": "ErrImagePull",
                                "message": "failed to pull\nimage x: not found",
                            }
                        },
                    }
                ],
            },
            "the probe cannot start: image img:1: ErrImagePull: failed to pull image x: not found",
        ),
        (
            {
                "phase": "Pending",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": "0/2 nodes are available: "
                        "2 node(s) had untolerated taint {kwok.x-k8s.io/node: fake}.",
                    }
                ],
            },
            "the probe cannot start: no node can run it (0/2 nodes are available: 2 node(s) had untolerated taint "
            "{kwok.x-k8s.io/node: fake}.)",
        ),
    ],
    ids=["image-missing", "no-real-node"],
)
def test_a_probe_that_cannot_start_says_why_in_one_line(status: dict[str, object], says: str) -> None:
    from inspector.live.troubleshooting import ProbeFailed, _wait_ended

    with pytest.raises(ProbeFailed) as raised:
        _wait_ended(PodStatusSource(status), "ns", "p", "inspector-why-probe", "img:1", ephemeral=False)  # type: ignore[arg-type]

    assert str(raised.value) == says


class DeletedPodSource:
    """Answers the probe pod's GET as the API server does once someone else deleted it: first with
    a deletionTimestamp (its containers being stopped), or not at all (404)."""

    def __init__(self, terminating: bool) -> None:
        self.terminating = terminating

    def get_json(self, path: str) -> dict[str, object]:
        from inspector.errors import NotFound

        if not self.terminating:
            raise NotFound(f"pods {path.rsplit('/', 1)[-1]!r} not found")
        running = {"name": "inspector-why-probe", "state": {"running": {}}}
        return {
            "metadata": {"name": "p", "deletionTimestamp": "2026-12-06T03:00:00Z"},
            "status": {"phase": "Running", "containerStatuses": [running]},
        }


@pytest.mark.parametrize("terminating", [True, False], ids=["terminating", "gone"])
def test_a_probe_pod_deleted_by_someone_else_is_one_line_and_concludes_nothing(terminating: bool) -> None:
    from inspector.live.troubleshooting import ProbeInterrupted, _wait_ended
    from inspector.status import ExitStatus

    with pytest.raises(ProbeInterrupted) as raised:
        _wait_ended(DeletedPodSource(terminating), "ns", "p", "inspector-why-probe", "img:1", ephemeral=False)  # type: ignore[arg-type]

    assert str(raised.value) == (
        "the pod ns/p that ran the probe was deleted by someone else before the probe ended: nothing was concluded"
    )
    assert raised.value.exit_status is ExitStatus.ERROR


@pytest.mark.parametrize(
    ("site", "head", "document"),
    [
        pytest.param(
            ProbeSite("pod", "other/inspector-why-x7k2p", "real-node", "agnhost:1", kept=True),
            "why web.shop: Service shop/web, from a pod in namespace other "
            "(probe pod other/inspector-why-x7k2p on node real-node)",
            {
                "kind": "pod",
                "pod": "other/inspector-why-x7k2p",
                "node": "real-node",
                "image": "agnhost:1",
                "kept": True,
            },
            id="a probe pod",
        ),
        pytest.param(
            ProbeSite(
                "ephemeral-container",
                "other/client",
                None,
                "agnhost:1",
                container="inspector-why-probe-1a2b3",
            ),
            "why web.shop: Service shop/web, from a pod in namespace other "
            "(ephemeral container inspector-why-probe-1a2b3 on node ?; it stays in the pod's spec)",
            {
                "kind": "ephemeral-container",
                "pod": "other/client",
                "container": "inspector-why-probe-1a2b3",
                "node": None,
                "image": "agnhost:1",
                "staysInPodSpec": True,
            },
            id="an ephemeral container",
        ),
        pytest.param(
            None, "why web.shop: Service shop/web, from a pod in namespace other", {}, id="no probe ran"
        ),
    ],
)
def test_the_verdict_says_where_the_probe_ran(
    site: ProbeSite | None, head: str, document: dict[str, object]
) -> None:
    target = parse_target("web.shop", "shop")
    steps = chain(web(), target, FROM_OTHER_NS, skipped_active("no permission to create a probe pod"))
    verdict = Verdict(
        target, FROM_OTHER_NS, tuple(steps), sentence(steps, target, FROM_OTHER_NS, web()), (), site
    )

    assert why_text(verdict).splitlines()[0] == head
    assert why_json(verdict)["probe"] == document
