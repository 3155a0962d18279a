"""`why SERVICE` against a live cluster: read the Service's namespace, judge the passive steps, run the
probe from the client's vantage, judge the rest.

Why it exists: the one command that writes. The probe is a short-lived pod (labelled, bounded by
activeDeadlineSeconds, deleted on every way out: success, failure, an error, Ctrl-C, unless `keep`)
or an ephemeral container in the client's own pod (`from_pod`; it stays in that pod's spec). Every
check runs as the probe's own command and prints one line; the log is read back once the probe has
ended. This needs create/delete pods and get pods/log (or patch pods/ephemeralcontainers), nothing
else: no exec, no attach, no long-lived connection. Without those permissions, or when the probe
cannot start (image missing, no node able to run it), the active steps are skipped with one line
saying why, and the passive verdict stands.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inspector.diagnosis.checklist import (
    ProbeSite,
    StepStatus,
    Vantage,
    Verdict,
    active_steps,
    chain,
    parse_target,
    passive_steps,
    probe_plan,
    sentence,
    skipped_active,
)
from inspector.diagnosis.policyverdicts import PolicyClient
from inspector.diagnosis.probes import (
    DEFAULT_IMAGE,
    PROBE_CONTAINER,
    PROBE_DEADLINE_S,
    parse_probe_log,
    probe_container,
    probe_pod,
    probe_script,
)
from inspector.diagnosis.reach import Reachability, reachability
from inspector.diagnosis.report import ServiceReport, inspect_snapshot
from inspector.errors import BadInput, Forbidden, InspectorError, NotFound
from inspector.kube.connection import Client
from inspector.kube.probing import add_ephemeral_container, container_log, create_pod, delete_pod
from inspector.live.reading import check_namespace, read_snapshot
from inspector.model.building import JSON, pod_from_api
from inspector.model.names import validate_name
from inspector.model.snapshot import Pod, Snapshot
from inspector.settings import Settings

_POD_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
START_TIMEOUT_S = 60.0  # a probe that has not started by then will not
POLL_S = 0.5
RBAC_HINT = "deploy/rbac-why.yaml"
CANNOT_START = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


class ProbeFailed(InspectorError):
    """The probe could not start or run; its message is the one line that says why."""


class ProbeInterrupted(InspectorError):
    """The pod the probe ran in was deleted by someone else before the probe ended: what it printed
    so far proves nothing, so `why` concludes nothing (one line, exit 1)."""


@dataclass(frozen=True, slots=True)
class ProbeRun:
    text: str  # the probe's log
    node: str | None
    site: ProbeSite
    duration: float


Notify = Callable[[str], None]


def _container_state(status: JSON, container: str, ephemeral: bool) -> JSON:
    key = "ephemeralContainerStatuses" if ephemeral else "containerStatuses"
    for c in status.get(key) or []:
        if isinstance(c, dict) and c.get("name") == container:
            state = c.get("state")
            return state if isinstance(state, dict) else {}
    return {}


def _one_line(text: Any, limit: int = 200) -> str:
    return " ".join(str(text or "").split())[:limit]


def probe_state(
    obj: JSON, namespace: str, pod: str, container: str, image: str, ephemeral: bool
) -> tuple[bool, bool]:
    """(ended, running) of the probe container in the pod `obj` as read; ProbeInterrupted when the pod
    is being deleted, ProbeFailed as soon as it is clear the probe cannot start (its image, no node)."""
    gone = (
        f"the pod {namespace}/{pod} that ran the probe was deleted by someone else before the probe "
        "ended: nothing was concluded"
    )
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        # its containers are being stopped: what the probe printed so far proves nothing
        raise ProbeInterrupted(gone)
    status = obj.get("status") or {}
    state = _container_state(status, container, ephemeral)
    waiting, terminated = state.get("waiting") or {}, state.get("terminated")
    if terminated:
        return True, True
    if not ephemeral and status.get("phase") in ("Succeeded", "Failed"):
        reason = _one_line(status.get("reason") or status.get("phase"))
        if status.get("phase") == "Failed" and reason == "DeadlineExceeded":
            raise ProbeFailed(f"the probe pod {namespace}/{pod} ran out of time ({PROBE_DEADLINE_S}s)")
        return True, True
    if waiting.get("reason") in CANNOT_START:
        raise ProbeFailed(
            f"the probe cannot start: image {image}: {waiting['reason']}: {_one_line(waiting.get('message'), 160)}"
        )
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "Unschedulable":
            raise ProbeFailed(
                f"the probe cannot start: no node can run it ({_one_line(cond.get('message'), 160)})"
            )
    return False, bool(state.get("running"))


def not_started(obj: JSON) -> str:
    """Why a probe has not started, in a few words (for the start timeout's message)."""
    status = obj.get("status") or {}
    phase = status.get("phase") or "Pending"
    waiting = next(
        (
            (c.get("state") or {}).get("waiting") or {}
            for c in status.get("containerStatuses") or []
            if isinstance(c, dict)
        ),
        {},
    )
    return f"phase {phase}, {_one_line(waiting.get('reason') or 'no container state')}"


def _wait_ended(
    client: Client, namespace: str, pod: str, container: str, image: str, ephemeral: bool
) -> JSON:
    """Polls the pod until the probe container has ended; ProbeFailed as soon as it is clear it cannot
    start (its image, no node for it) or did not within START_TIMEOUT_S."""
    started = time.monotonic()
    deadline = started + PROBE_DEADLINE_S + 15
    running = False
    while True:
        try:
            obj = client.get_json(f"/api/v1/namespaces/{namespace}/pods/{pod}")
        except NotFound:
            raise ProbeInterrupted(
                f"the pod {namespace}/{pod} that ran the probe was deleted by someone else before the probe "
                "ended: nothing was concluded"
            ) from None
        ended, now_running = probe_state(obj, namespace, pod, container, image, ephemeral)
        if ended:
            return obj
        running = running or now_running
        now = time.monotonic()
        if not running and now - started > START_TIMEOUT_S:
            raise ProbeFailed(f"the probe did not start within {START_TIMEOUT_S:g}s ({not_started(obj)})")
        if now > deadline:
            raise ProbeFailed(f"the probe did not end within {PROBE_DEADLINE_S}s")
        time.sleep(POLL_S)


def read_log(client: Client, namespace: str, pod: str, container: str) -> str:
    """The probe's log; a pod deleted between its end and this read is said as such."""
    try:
        return container_log(client, namespace, pod, container)
    except NotFound:
        raise ProbeInterrupted(
            f"the pod {namespace}/{pod} that ran the probe was deleted by someone else before its log was "
            "read: nothing was concluded"
        ) from None


def _probe_in_pod(
    client: Client, namespace: str, service: str, image: str, script: str, keep: bool, notify: Notify
) -> ProbeRun:
    t0 = time.monotonic()
    created = create_pod(client, namespace, probe_pod(namespace, service, image, script))
    name = str((created.get("metadata") or {}).get("name") or "")
    try:  # from here on the pod is deleted on every way out, Ctrl-C included
        notify(
            f"probe pod {namespace}/{name} created"
            + (" (kept: --keep)" if keep else "; it is deleted when why ends")
        )
        obj = _wait_ended(client, namespace, name, PROBE_CONTAINER, image, ephemeral=False)
        text = read_log(client, namespace, name, PROBE_CONTAINER)
    finally:
        if not keep:
            try:
                delete_pod(client, namespace, name)
            except InspectorError as exc:  # the deadline still ends it; say so, keep the first error
                notify(
                    f"could not delete the probe pod {namespace}/{name} ({exc}): it ends within {PROBE_DEADLINE_S}s"
                )
    node = (obj.get("spec") or {}).get("nodeName")
    site = ProbeSite("pod", f"{namespace}/{name}", node, image, kept=keep)
    return ProbeRun(text, node, site, time.monotonic() - t0)


def _probe_in_ephemeral(
    client: Client, namespace: str, pod: str, image: str, script: str, notify: Notify
) -> ProbeRun:
    t0 = time.monotonic()
    name = f"{PROBE_CONTAINER}-{uuid.uuid4().hex[:5]}"
    add_ephemeral_container(client, namespace, pod, probe_container(image, script, name))
    notify(
        f"ephemeral container {name} added to pod {namespace}/{pod}: it stays in the pod's spec "
        "(ended) until the pod is deleted"
    )
    obj = _wait_ended(client, namespace, pod, name, image, ephemeral=True)
    text = read_log(client, namespace, pod, name)
    node = (obj.get("spec") or {}).get("nodeName")
    site = ProbeSite("ephemeral-container", f"{namespace}/{pod}", node, image, container=name)
    return ProbeRun(text, node, site, time.monotonic() - t0)


def validate_arguments(
    service: str, namespace: str | None, from_namespace: str | None, from_pod: str | None, image: str
) -> None:
    """BadInput for anything no cluster could answer: checked before any request."""
    parse_target(service, namespace or "default")
    if from_namespace is not None:
        validate_name(from_namespace, "namespace")
    if from_pod is not None and not _POD_NAME.fullmatch(from_pod):
        raise BadInput(f"invalid pod name {from_pod!r}")
    if not image.strip() or any(c.isspace() for c in image):
        raise BadInput(f"invalid image {image!r}")


def _client_pod(client: Client, namespace: str, name: str) -> JSON:
    try:
        obj = client.get_json(f"/api/v1/namespaces/{namespace}/pods/{name}")
    except NotFound:
        raise NotFound(f'pod "{name}" not found in namespace "{namespace}"') from None
    if (obj.get("status") or {}).get("phase") != "Running":
        raise BadInput(f"pod {namespace}/{name} is not running: an ephemeral container cannot run in it")
    return obj


def why_service(
    client: Client,
    service: str,
    namespace: str | None = None,
    *,
    from_namespace: str | None = None,
    from_pod: str | None = None,
    image: str = DEFAULT_IMAGE,
    keep: bool = False,
    notify: Notify | None = None,
) -> Verdict:
    """The verdict chain for `service` (NAME, NAME.NAMESPACE, NAME.NAMESPACE.svc[.DOMAIN]) as the client
    writes it, from a probe pod in `from_namespace` (default: the Service's) or from the pod `from_pod`."""
    say = notify or (lambda _: None)
    validate_arguments(service, namespace, from_namespace, from_pod, image)
    target = parse_target(service, namespace or client.namespace)
    client_ns = from_namespace or target.namespace
    snapshot = read_snapshot(client, target.namespace)
    report = inspect_snapshot(snapshot, lambda s: s.name == target.service)
    sr = report.service(target.namespace, target.service)
    if client_ns != target.namespace:
        check_namespace(client, client_ns)
    pod = pod_from_api(_client_pod(client, client_ns, from_pod)) if from_pod else None
    vantage = Vantage(client_ns, pod)
    notes = list(snapshot.notes)
    policies = _policies(snapshot, sr, client_ns, pod)
    passive = passive_steps(sr, target)
    if sr is None or any(s.status is StepStatus.FAILED for s in passive):
        steps = chain(sr, target, vantage, skipped_active("an earlier step failed"))
        return Verdict(
            target, vantage, tuple(steps), sentence(steps, target, vantage, sr), tuple(notes), None, policies
        )
    plan = probe_plan(sr, target, snapshot.nodes)
    notes += plan.notes
    script = probe_script(plan.checks)
    try:
        if pod is not None:
            run = _probe_in_ephemeral(client, client_ns, pod.name, image, script, say)
        else:
            run = _probe_in_pod(client, client_ns, target.service, image, script, keep, say)
    except Forbidden as exc:
        what = "add an ephemeral container" if pod is not None else "create a probe pod"
        reason = f"no permission to {what} in namespace {client_ns} (grant {RBAC_HINT}): {exc}"
        steps = chain(sr, target, vantage, skipped_active(reason))
        return Verdict(
            target, vantage, tuple(steps), sentence(steps, target, vantage, sr), tuple(notes), None, policies
        )
    except ProbeFailed as exc:
        steps = chain(sr, target, vantage, skipped_active(str(exc)))
        return Verdict(
            target, vantage, tuple(steps), sentence(steps, target, vantage, sr), tuple(notes), None, policies
        )
    log = parse_probe_log(run.text, plan.checks)
    if not log.complete:
        notes.append("the probe did not print all its results (ended early?)")
    vantage = Vantage(client_ns, pod, run.node)
    steps = chain(sr, target, vantage, active_steps(sr, target, vantage, plan, log), run.duration)
    return Verdict(
        target,
        vantage,
        tuple(steps),
        sentence(steps, target, vantage, sr),
        tuple(notes),
        run.site,
        policies,
    )


def _policies(
    snapshot: Snapshot, sr: ServiceReport | None, client_ns: str, pod: Pod | None
) -> Reachability | None:
    """The Service's endpoints judged against the NetworkPolicies of its namespace for this client,
    when there are any (the client's own egress policies are `reach`'s to judge)."""
    if sr is None or not sr.service.selects_pods:
        return None
    if not any(p.namespace == sr.service.namespace for p in snapshot.network_policies):
        return None
    who = PolicyClient.of_pod(pod) if pod is not None else PolicyClient.in_namespace(client_ns)
    return reachability(snapshot, sr.service, who)


def why(
    service: str,
    namespace: str | None = None,
    *,
    from_namespace: str | None = None,
    from_pod: str | None = None,
    image: str = DEFAULT_IMAGE,
    keep: bool = False,
    kubeconfig: str | None = None,
    context: str | None = None,
    request_timeout: float | None = None,
    settings: Settings | None = None,
) -> Verdict:
    """The Python API of `why`: the verdict chain for a Service, as `kubectl svc-inspect why` runs it.
    `verdict.ok`, `verdict.sentence` and `verdict.steps` let a test suite fail with the broken link.
    Raises `InspectorError` subclasses on bad input or an unreachable cluster; the probe pod is
    deleted before it returns or raises (unless `keep`). The environment (KUBECONFIG) is read once,
    here, unless `settings` are given."""
    from inspector.kube.connection import connect

    settings = Settings.from_environment() if settings is None else settings
    with connect(kubeconfig, context, request_timeout, settings) as client:
        return why_service(
            client,
            service,
            namespace,
            from_namespace=from_namespace,
            from_pod=from_pod,
            image=image,
            keep=keep,
        )
