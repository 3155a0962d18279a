"""`why`'s text: the chain, one step after the other with its evidence, and the verdict sentence.

Why it exists: a user reads the chain top to bottom, as the Debug Services checklist goes; each
step says passed, failed (with the evidence and the finding) or skipped (and why), so the broken
link is where the reading stops.
"""

from __future__ import annotations

from typing import Any

from inspector.diagnosis.checklist import ProbeSite, Step, Verdict
from inspector.diagnosis.nodeverdicts import COLUMNS, NodeRow, NodesVerdict, health_text
from inspector.output.documents import finding_json
from inspector.output.reachviews import policies_for_client, reach_json
from inspector.output.tables import table
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


# --------------------------------------------------------------------------- why --nodes

MAX_SKIPPED_ROWS = 6  # skipped nodes beyond these are counted, not listed (a cluster of kwok nodes)


def nodes_text(verdict: NodesVerdict) -> str:
    """The passive steps, then one row per node (NODE, ZONE, DNS, ENDPOINTS, CLUSTER-IP, NODE-PORTS, and
    with --node-health KUBE-PROXY and HEALTH-CHECK), each failing node's findings, the node model's
    findings and the verdict."""
    t = verdict.target
    head = (
        f"why {t.name} --nodes: Service {t.namespace}/{t.service}, from a probe pod on each node in "
        f"namespace {verdict.namespace}"
    )
    lines = [head, ""]
    for i, step in enumerate(verdict.passive, 1):
        lines.append(f"{i:2}. {MARKS[step.status.value]:8} {step.title}")
        lines += [f"             {e}" for e in step.evidence]
        lines += [f"             {finding_line(f)}" for f in step.findings if step.status.value == "failed"]
    rows = [r for r in verdict.rows if r.ok is not None]
    skipped = [r for r in verdict.rows if r.ok is None]
    if verdict.rows:
        headers = ["NODE", "ZONE", *COLUMNS.values(), "MODEL"]
        if verdict.health_asked:
            headers.append("KUBE-PROXY")
            if verdict.health_check_port:
                headers.append("HEALTH-CHECK")
        table_rows = []
        for r in rows:
            row = [r.node, r.run.zone or "<none>", *(r.cells[c] for c in COLUMNS.values()), r.model]
            if verdict.health_asked:
                row.append(health_text(r.health, r.health_finding))
                if verdict.health_check_port:
                    row.append(r.health_check.text if r.health_check else "-")
            table_rows.append(row)
        if table_rows:
            lines += ["", table(table_rows, headers)]
        by_reason: dict[str, list[str]] = {}
        for r in skipped:
            by_reason.setdefault(r.run.reason, []).append(r.node)
        for reason, names in by_reason.items():
            shown = ", ".join(names[:MAX_SKIPPED_ROWS])
            more = f" and {len(names) - MAX_SKIPPED_ROWS} more" if len(names) > MAX_SKIPPED_ROWS else ""
            lines.append(f"skipped {shown}{more}: {reason}")
        lines.append(
            "MODEL: where the node model says kube-proxy there sends the ClusterIP's traffic from a pod on the node"
        )
    said = {(f.code, f.message) for f in verdict.model_findings}
    for r in rows:
        if r.ok:
            continue
        lines += ["", f"node {r.node}: {r.cause}"]
        for step in r.run.steps:
            if step.status.value == "failed":
                lines += [
                    f"  observed: {e}" for e in step.evidence if not e.endswith((": connected", ": resolved"))
                ][:4]
        # the node model's findings are shown once, below
        lines += [f"  {finding_line(f)}" for f in r.findings if (f.code, f.message) not in said]
    if verdict.model_findings:
        lines += ["", "The node model (from the API alone):"]
        lines += [f"  {finding_line(f)}" for f in verdict.model_findings]
    lines += ["", f"Verdict: {verdict.sentence}"]
    lines += [f"note: {n}" for n in verdict.notes]
    return "\n".join(lines)


def _health_json(r: NodeRow) -> dict[str, Any] | None:
    h = r.health
    if h is None:
        return None
    return {
        "reached": h.reached,
        "status": h.status,
        "lastUpdated": h.last_updated.isoformat() if h.last_updated else None,
        "currentTime": h.current_time.isoformat() if h.current_time else None,
        "nodeEligible": h.node_eligible,
        "error": h.error or None,
        "verdict": health_text(h, r.health_finding),
    }


def nodes_json(verdict: NodesVerdict) -> dict[str, Any]:
    t = verdict.target
    return {
        "name": t.name,
        "service": f"{t.namespace}/{t.service}",
        "namespace": verdict.namespace,
        "steps": [step_json(s) for s in verdict.passive],
        "nodes": [
            {
                "node": r.node,
                "zone": r.run.zone,
                "state": r.run.state.value,
                "reason": r.run.reason or None,
                "probePod": r.run.pod,
                "ok": r.ok,
                "cells": {k.lower(): v for k, v in r.cells.items()},
                "cause": r.cause or None,
                "steps": [step_json(s) for s in r.run.steps],
                "findings": [finding_json(f) for f in r.findings],
                "model": r.model,
                "kubeProxy": _health_json(r),
                "healthCheck": None
                if r.health_check is None
                else {
                    "reached": r.health_check.reached,
                    "status": r.health_check.status,
                    "expected": r.health_check.expected,
                    "localEndpoints": r.health_check.local_endpoints,
                    "error": r.health_check.error or None,
                },
            }
            for r in verdict.rows
        ],
        "modelFindings": [finding_json(f) for f in verdict.model_findings],
        "verdict": verdict.sentence,
        "ok": verdict.ok,
        "failedNodes": [r.node for r in verdict.rows if r.ok is False],
        "notes": list(verdict.notes),
        "image": verdict.image,
        "kept": verdict.kept,
    }
