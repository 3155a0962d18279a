"""A pytest plugin: assert that Services are discoverable, with the inspector's explanation on failure.

Registered through the `pytest11` entry point, so installing kubectl-svc-inspect in a test environment is
enough. It uses the kubeconfig the suite already uses (`--inspector-kubeconfig`, else KUBECONFIG, else
~/.kube/config), so it works on kind as on any cluster:

    def test_checkout_is_reachable(assert_discoverable):
        assert_discoverable("shop/checkout", timeout=30)
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from inspector.diagnosis.readiness import WaitResult, parse_targets
from inspector.kube.connection import Client, connect
from inspector.live.waiting import wait_for, watch_seconds
from inspector.output.text import wait_explanation


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
) -> WaitResult:
    """Waits until every Service ("ns/name" or "name") has all its expected endpoints; raises
    NotDiscoverable with the remaining drift explained at the timeout. Every connection and watch it
    opens is closed when it returns (a `client` passed in stays open: it is the caller's)."""
    seconds = watch_seconds()
    if client is not None:
        result = wait_for(
            client, parse_targets(services, namespace or client.namespace), timeout, watch_seconds=seconds
        )
    else:
        with connect(kubeconfig, context) as own:
            result = wait_for(
                own, parse_targets(services, namespace or own.namespace), timeout, watch_seconds=seconds
            )
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
