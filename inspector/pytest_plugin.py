"""A pytest plugin: assert that Services are discoverable, with the inspector's explanation on failure.

Registered through the `pytest11` entry point, so installing kubectl-svc-inspect in a test environment is
enough. It uses the kubeconfig the suite already uses (`--inspector-kubeconfig`, else KUBECONFIG, else
~/.kube/config), so it works on kind as on any cluster:

    def test_checkout_is_reachable(assert_discoverable):
        assert_discoverable("shop/checkout", timeout=30)

`assert_manifests_discoverable("k8s/")` judges manifests before they are applied, offline (no
cluster, no kubeconfig): it fails on every error-level finding judged from manifests alone.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from inspector.diagnosis.readiness import WaitResult, parse_targets
from inspector.diagnosis.report import Report
from inspector.kube.connection import Client, connect
from inspector.live.waiting import wait_for
from inspector.output.text import explain, wait_explanation
from inspector.settings import Settings


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("svc-inspect")
    group.addoption(
        "--inspector-kubeconfig",
        default=None,
        help="kubeconfig for assert_discoverable (default: KUBECONFIG, then ~/.kube/config)",
    )
    group.addoption("--inspector-context", default=None, help="kubeconfig context for assert_discoverable")


class NotDiscoverable(AssertionError):
    """A Service did not become discoverable in time; the message is the inspector's explanation."""


def discoverable(
    *services: str,
    timeout: float = 60.0,
    namespace: str | None = None,
    kubeconfig: str | None = None,
    context: str | None = None,
    client: Client | None = None,
    settings: Settings | None = None,
) -> WaitResult:
    """Waits until every Service ("ns/name" or "name") has all its expected endpoints; raises
    NotDiscoverable with the remaining drift explained at the timeout. Every connection and watch it
    opens is closed when it returns (a `client` passed in stays open: it is the caller's). The
    environment (KUBECONFIG, INSPECTOR_WATCH_SECONDS) is read once, here, unless `settings` are given."""
    settings = Settings.from_environment() if settings is None else settings
    seconds = settings.watch_seconds()
    if client is not None:
        targets = parse_targets(services, namespace or client.namespace)
        result = wait_for(client, targets, timeout, watch_seconds=seconds)
    else:
        with connect(kubeconfig, context, settings=settings) as own:
            targets = parse_targets(services, namespace or own.namespace)
            result = wait_for(own, targets, timeout, watch_seconds=seconds)
    if not result.ok:
        raise NotDiscoverable(wait_explanation(result))
    return result


AssertDiscoverable = Callable[..., WaitResult]


@pytest.fixture
def assert_discoverable(request: pytest.FixtureRequest) -> AssertDiscoverable:
    """`assert_discoverable("ns/name", ..., timeout=30)`: fails the test with the inspector's explanation."""
    kubeconfig = request.config.getoption("--inspector-kubeconfig")
    context = request.config.getoption("--inspector-context")

    def check(*services: str, timeout: float = 60.0, namespace: str | None = None) -> WaitResult:
        try:
            return discoverable(
                *services, timeout=timeout, namespace=namespace, kubeconfig=kubeconfig, context=context
            )
        except NotDiscoverable as exc:
            pytest.fail(str(exc), pytrace=False)

    return check


def manifests_discoverable(
    *paths: str, recursive: bool = False, namespace: str | None = None, from_namespace: str | None = None
) -> Report:
    """Judges manifests offline, as `kubectl svc-inspect diff --offline -f PATH...` does (with
    `from_namespace`, its NetworkPolicies for a pod there too); raises NotDiscoverable with the
    report in words when any finding is an error. No cluster is contacted."""
    from inspector.live.inspecting import make_scope
    from inspector.live.planning import Files, offline_client_findings, offline_report

    report = offline_report(Files(tuple(paths), recursive, offline=True), make_scope(namespace))
    if from_namespace is not None:
        report = offline_client_findings(report, from_namespace)
    if not report.ok:
        raise NotDiscoverable(explain(report))
    return report


@pytest.fixture
def assert_manifests_discoverable() -> Callable[..., Report]:
    """`assert_manifests_discoverable("k8s/", recursive=True)`: fails the test with the offline report."""

    def check(
        *paths: str, recursive: bool = False, namespace: str | None = None, from_namespace: str | None = None
    ) -> Report:
        try:
            return manifests_discoverable(
                *paths, recursive=recursive, namespace=namespace, from_namespace=from_namespace
            )
        except NotDiscoverable as exc:
            pytest.fail(str(exc), pytrace=False)

    return check
