"""After the Python API returns, nothing of ours remains in the caller's process: no thread, no
socket, no watch. `assert_discoverable` and `inspector.inspect()` run inside users' test suites."""

from __future__ import annotations

import os
import threading

import pytest

import inspector
from e2e.harness import MANIFESTS, WEB_SVC, Cluster, apply
from inspector.pytest_plugin import NotDiscoverable, discoverable


def sockets() -> set[str]:
    """This process's open sockets (their inodes): a watch or a pooled connection holds one."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed in between
        if target.startswith("socket:"):
            out.add(target)
    return out


def threads() -> set[threading.Thread]:
    return set(threading.enumerate())


def test_nothing_of_ours_remains_after_a_wait_that_watched_or_an_inspect(cluster: Cluster, namespace: str):
    cluster.kubectl("apply", "-n", namespace, "-f", str(MANIFESTS / "web.yaml"))
    apply(cluster, namespace, WEB_SVC)
    apply(cluster, namespace, WEB_SVC.replace("web-svc", "web-typo").replace("app: web", "app: wbe"))
    before_threads, before_sockets = threads(), sockets()

    discoverable(f"{namespace}/web-svc", timeout=60)  # may return at once or after a few events
    with pytest.raises(NotDiscoverable):
        discoverable(f"{namespace}/web-typo", timeout=3)  # watches every kind until the timeout
    report = inspector.inspect(namespace)

    assert [sr.service.name for sr in report.services] == ["web-svc", "web-typo"]
    assert threads() - before_threads == set()
    assert sockets() - before_sockets == set()
