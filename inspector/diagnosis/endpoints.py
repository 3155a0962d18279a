"""Endpoints as the inspector compares them, and the actual ones read from EndpointSlices.

Why it exists: expected and actual endpoints must be the same kind of value to be diffed: one
(address, port, protocol, port name) with its pod, node and conditions. EndpointSlices hold the
actual ones split across several slices per Service (per address family and port set); this module
merges them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from inspector.model.snapshot import EndpointSlice, Service, SlicePort

EndpointKey = tuple[str, int | None, str, str | None]
PENDING_IP = ""  # the address of a planned pod's endpoint (what-if runs): not allocated yet


@dataclass(frozen=True, slots=True)
class Endpoint:
    ip: str
    port: int | None
    protocol: str
    port_name: str | None
    pod: str | None = None
    node: str | None = None
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    slice: str | None = None  # the slice it was read from (actual endpoints only)

    @property
    def key(self) -> EndpointKey:
        return (self.ip or f"<{self.pod}>", self.port, self.protocol, self.port_name)

    @property
    def pending(self) -> bool:
        """A planned pod's endpoint (what-if runs): its address is not known before the pod runs."""
        return self.ip == PENDING_IP

    @property
    def address(self) -> str:
        host = "<pending>" if self.pending else f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{host}:{self.port}" if self.port is not None else host

    @property
    def actual(self) -> bool:
        """Read from an EndpointSlice (an expected endpoint comes from a pod, and has no slice)."""
        return self.slice is not None


class SliceIndex:
    """EndpointSlices grouped by the Service they name (label kubernetes.io/service-name)."""

    def __init__(self, slices: Iterable[EndpointSlice]) -> None:
        self._by_service: dict[tuple[str, str], list[EndpointSlice]] = defaultdict(list)
        self.unlabelled: list[EndpointSlice] = []
        for s in slices:
            if s.service_name:
                self._by_service[(s.namespace, s.service_name)].append(s)
            else:
                self.unlabelled.append(s)

    def for_service(self, service: Service) -> list[EndpointSlice]:
        return self._by_service.get((service.namespace, service.name), [])

    def services_named(self) -> Iterable[tuple[str, str]]:
        return self._by_service.keys()

    def slices_naming(self, namespace: str, name: str) -> list[EndpointSlice]:
        return self._by_service.get((namespace, name), [])


NO_PORT = SlicePort(None, "TCP", None)


def actual_endpoints(slices: Iterable[EndpointSlice], portless_service: bool = False) -> list[Endpoint]:
    """Every (address, port) of the slices, with conditions; duplicates across slices kept once.

    A Service without ports (headless, DNS only) has slices without ports: each address then counts
    once, with port None. Otherwise a slice without ports carries no reachable endpoint.
    """
    seen: set[EndpointKey] = set()
    out = []
    for s in sorted(slices, key=lambda s: s.name):
        ports = s.ports or ((NO_PORT,) if portless_service else ())
        for e in s.endpoints:
            pod = e.target.name if e.target and e.target.kind == "Pod" else None
            for address in e.addresses:
                for p in ports:
                    ep = Endpoint(
                        address,
                        p.port,
                        p.protocol,
                        p.name,
                        pod,
                        e.node,
                        e.ready,
                        e.serving,
                        e.terminating,
                        s.name,
                    )
                    if ep.key not in seen:
                        seen.add(ep.key)
                        out.append(ep)
    return out


def addresses_without_ports(slices: Iterable[EndpointSlice]) -> list[str]:
    """Addresses in slices that carry no port: no traffic can reach them through the Service."""
    return sorted({a for s in slices if not s.ports for e in s.endpoints for a in e.addresses})
