"""`why`'s text: the chain, one step after the other with its evidence, and the verdict sentence.

Why it exists: a user reads the chain top to bottom, as the Debug Services checklist goes; each
step says passed, failed (with the evidence and the finding) or skipped (and why), so the broken
link is where the reading stops.
"""

from __future__ import annotations

from typing import Any

from inspector.diagnosis.checklist import ProbeSite, Step, Verdict
from inspector.output.documents import finding_json
from inspector.output.reachviews import policies_for_client, reach_json
from inspector.output.text import finding_line

MARKS = {"passed": "ok", "failed": "FAILED", "skipped": "skipped", "n/a": "n/a"}


def why_text(verdict: Verdict) -> str:
    t = verdict.target
    head = f"why {t.name}: Service {t.namespace}/{t.service}, from {verdict.client.describe}"
    probe = verdict.probe
    if probe is not None and probe.kind == "pod":
        head += f" (probe pod {probe.pod} on node {probe.node or '?'})"
    elif probe is not None and probe.kind == "ephemeral-container":
        head += (
            f" (ephemeral container {probe.container} on node {probe.node or '?'}; "
            "it stays in the pod's spec)"
        )
    lines = [head, ""]
    for i, step in enumerate(verdict.steps, 1):
        lines.append(f"{i:2}. {MARKS[step.status.value]:8} {step.title}")
        lines += [f"             {e}" for e in step.evidence]
        lines += [f"             {finding_line(f)}" for f in step.findings if step.status.value == "failed"]
    if verdict.policies is not None:
        lines += [
            "",
            f"NetworkPolicies of namespace {t.namespace} on the ready endpoints, for {verdict.client.describe} "
            "(the client's own egress policies: `reach`):",
            *(f"  {line}" for line in policies_for_client(verdict.policies).splitlines()),
        ]
    lines += ["", f"Verdict: {verdict.sentence}"]
    lines += [f"note: {n}" for n in verdict.notes]
    return "\n".join(lines)


def probe_json(probe: ProbeSite | None) -> dict[str, Any]:
    """Where the probe ran; an ephemeral container says it stays in the pod's spec; {} when none ran."""
    if probe is None:
        return {}
    if probe.kind == "ephemeral-container":
        return {
            "kind": probe.kind,
            "pod": probe.pod,
            "container": probe.container,
            "node": probe.node,
            "image": probe.image,
            "staysInPodSpec": True,
        }
    return {
        "kind": probe.kind,
        "pod": probe.pod,
        "node": probe.node,
        "image": probe.image,
        "kept": probe.kept,
    }


def step_json(step: Step) -> dict[str, Any]:
    return {
        "name": step.name,
        "title": step.title,
        "status": step.status.value,
        "evidence": list(step.evidence),
        "findings": [finding_json(f) for f in step.findings],
        "duration": round(step.duration, 3),
    }


def why_json(verdict: Verdict) -> dict[str, Any]:
    return {
        "name": verdict.target.name,
        "service": f"{verdict.target.namespace}/{verdict.target.service}",
        "client": {
            "namespace": verdict.client.namespace,
            "pod": verdict.client.pod.name if verdict.client.pod else None,
            "node": verdict.client.node,
        },
        "steps": [step_json(s) for s in verdict.steps],
        "verdict": verdict.sentence,
        "ok": verdict.ok,
        "brokenStep": verdict.broken.name if verdict.broken else None,
        "notes": list(verdict.notes),
        "probe": probe_json(verdict.probe),
        "policies": None if verdict.policies is None else reach_json(verdict.policies),
    }
