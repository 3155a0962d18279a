"""Unit-test fixtures: Kubernetes manifests (files under tests/manifests, or inline YAML) as snapshots.

A source is either the name of a multi-document file in tests/manifests ("shop.yaml") or a YAML
string written in the test itself, for small variations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from inspector.diagnosis.report import Report, inspect_snapshot
from inspector.model.building import snapshot_from_manifests
from inspector.model.snapshot import ContainerPort, Pod, Snapshot
from tests.fakeapi import api, client  # noqa: F401 (fixtures: the in-process API server and a client of it)
from tests.fleetapis import dead_port, fleet_apis, fleet_config  # noqa: F401 (fixtures: a fleet's API servers)

MANIFESTS = Path(__file__).resolve().parent / "manifests"


def load(*sources: str) -> list[dict[str, Any]]:
    """The documents of every source, in order; empty documents dropped."""
    docs: list[dict[str, Any]] = []
    for source in sources:
        text = (MANIFESTS / source).read_text() if "\n" not in source else source
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def snapshot_of(*sources: str) -> Snapshot:
    return snapshot_from_manifests(load(*sources))


def inspect_manifests(*sources: str) -> Report:
    return inspect_snapshot(snapshot_of(*sources))


def policy_pod(
    namespace: str,
    name: str,
    labels: dict[str, str],
    ip: str | None = None,
    ports: tuple[ContainerPort, ...] = (),
) -> Pod:
    """A snapshot pod with only what a verdict reads: where it is, its labels, IP and declared ports."""
    return Pod(namespace, name, labels, ip, container_ports=ports)


def container_port(port: int, name: str | None = None, protocol: str = "TCP") -> ContainerPort:
    return ContainerPort("serve", port, protocol, name)
