"""What a check may read about one Service: gathered once, read by every check."""

from __future__ import annotations

from dataclasses import dataclass

from inspector.diagnosis.endpoints import Endpoint
from inspector.diagnosis.expectations import Expectation
from inspector.model.selectors import NearMiss
from inspector.model.snapshot import EndpointSlice, Node, Pod, ProbeEvent, Service, ServiceEvent, Workload


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    service: Service
    expectation: Expectation
    slices: tuple[EndpointSlice, ...]
    actual: tuple[Endpoint, ...]
    missing: tuple[Endpoint, ...]  # expected, absent from the slices
    unexpected: tuple[Endpoint, ...]  # in the slices, explained by no selected pod
    conditions_differ: tuple[tuple[Endpoint, Endpoint], ...]  # (expected, actual) whose ready differs
    near_misses: tuple[NearMiss, ...]  # only computed when the selector selects nothing
    scaled_to_zero: tuple[Workload, ...]  # workloads whose pods the selector would pick, at 0 replicas
    nodes: tuple[Node, ...]
    probe_events: tuple[ProbeEvent, ...] = ()  # the selected pods' failed probes, when any is not ready
    service_events: tuple[ServiceEvent, ...] = ()  # the Service's TopologyAwareHintsDisabled events
    planned: bool = False  # a what-if run's files touch it: its slices are not read, only planned

    def last_probe_failure(self, pod: Pod) -> ProbeEvent | None:
        events = [e for e in self.probe_events if e.namespace == pod.namespace and e.pod == pod.name]
        # lastTimestamp has 1 s resolution: among equally recent events, the one that keeps repeating
        return max(events, key=lambda e: (e.last_seen, e.count), default=None)
