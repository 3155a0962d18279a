"""Which Services a change of one object touches: the ones whose report it may change.

Why it exists: `serve` keeps a report of every Service current while pods churn; judging every
Service again after each burst of watch events would cost the whole cluster per event. A Service's
report reads its own object, its EndpointSlices, the pods and workloads its selector picks (and, while
it selects none, the near misses among its namespace's pods), the failed-probe events of those pods,
its own events and the nodes; so a change touches:

- a Service: itself;
- an EndpointSlice: the Service its `kubernetes.io/service-name` label names (before and after);
- a pod or a workload's template: the Services of its namespace whose selector matches its labels
  before or after, and those of its namespace that select no pod at all (their near misses and
  "scaled to zero" look at pods and workloads they do not select);
- a pod's failed-probe event: every Service of its namespace (the event names the pod, not its labels);
- a Service's own event: that Service;
- a node: every Service (node ports and the traffic policies read every node).

Pure: the object before and after (a one-object snapshot, None when absent) and the Services of its
namespace in, the keys (namespace/name) out; `None` stands for "every Service".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from inspector.model.snapshot import Service, Snapshot


def _selects(service: Service, labels: Mapping[str, str]) -> bool:
    selector = service.selector
    return bool(selector) and all(labels.get(k) == v for k, v in (selector or {}).items())


def touched(
    before: Snapshot | None,
    after: Snapshot | None,
    services: Iterable[Service],
    selecting_nothing: Iterable[str] = (),
) -> set[str] | None:
    """The keys of the Services (among `services`, those of the object's namespace) whose report the
    change from `before` to `after` may change; None for every Service of every namespace (a node).
    `selecting_nothing`: the keys of the namespace's Services that select no pod now."""
    parts = [p for p in (before, after) if p is not None]
    out: set[str] = set()
    for part in parts:
        if part.nodes:
            return None
        out |= {s.key for s in part.services}
        out |= {f"{s.namespace}/{s.service_name}" for s in part.slices if s.service_name}
        out |= {f"{e.namespace}/{e.service}" for e in part.service_events}
    labels = [p.labels for part in parts for p in part.pods]
    labels += [w.template_labels for part in parts for w in part.workloads]
    probed = any(part.probe_events for part in parts)
    if labels or probed:
        services = list(services)
        if probed:
            out |= {s.key for s in services}
        else:
            out |= {s.key for s in services if any(_selects(s, lab) for lab in labels)}
            out |= set(selecting_nothing)
    return out
