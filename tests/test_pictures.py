"""The picture: a report as a Graphviz graph, Service -> port -> EndpointSlice -> pod -> node, with
missing endpoints red and dashed, unexpected ones orange, near-miss pods grey, not-ready pods hollow."""

from __future__ import annotations

import re
import shutil

import pytest

from inspector.cli import run
from inspector.output.pictures import DOT_MISSING, dot_graph, quoted, render
from tests.conftest import inspect_manifests


def edges(dot: str) -> dict[tuple[str, str], str]:
    """(tail, head) -> the edge's attributes, from the DOT text."""
    found = re.findall(r'^  "([^"]+)" -> "([^"]+)"(?: \[(.*)\])?;$', dot, re.MULTILINE)
    return {(tail, head): attrs for tail, head, attrs in found}


def nodes(dot: str) -> dict[str, str]:
    return dict(re.findall(r'^  "([^"]+)" \[(.*)\];$', dot, re.MULTILINE))


def only(report_services: str, *sources: str) -> str:
    report = inspect_manifests(*sources)
    return dot_graph(report, [sr for sr in report.services if sr.service.name == report_services])


def test_a_healthy_service_goes_through_port_and_slice_to_its_pods_and_their_nodes() -> None:
    dot = only("web-stale", "shop.yaml", "drift.yaml")
    e = edges(dot)

    assert ("service/shop/web-stale", "port/shop/web-stale/http/TCP") in e
    assert ("port/shop/web-stale/http/TCP", "slice/shop/web-stale-fghij") in e
    assert ("slice/shop/web-stale-fghij", "pod/shop/web-7d9f8-a1") in e
    assert ("pod/shop/web-7d9f8-a1", "node/node-a") in e


def test_a_missing_endpoint_is_a_red_dashed_edge_from_the_port_to_the_pod_behind_it() -> None:
    dot = only("web-missing", "shop.yaml", "drift.yaml")
    red = {k: a for k, a in edges(dot).items() if 'color="red"' in a}

    assert list(red) == [("port/shop/web-missing/http/TCP", "pod/shop/web-7d9f8-b2")]
    assert 'style="dashed"' in red["port/shop/web-missing/http/TCP", "pod/shop/web-7d9f8-b2"]
    assert 'label="missing 10.244.2.7:8080"' in red["port/shop/web-missing/http/TCP", "pod/shop/web-7d9f8-b2"]


def test_an_unexpected_endpoint_is_an_orange_edge_to_its_bare_address() -> None:
    dot = only("web-stale", "shop.yaml", "drift.yaml")
    orange = [k for k, a in edges(dot).items() if 'color="orange"' in a]

    assert orange == [("slice/shop/web-stale-fghij", "address/10.244.3.99")]
    assert "pod web-5b4c3-gone not found" in nodes(dot)["address/10.244.3.99"]


def test_near_miss_pods_are_grey_with_the_label_they_lack_on_their_edge() -> None:
    dot = only("checkout", "shop.yaml", "selection.yaml")
    e = edges(dot)

    assert 'label="missing label version=1"' in e["service/shop/checkout", "pod/shop/checkout-5c6d-x"]
    assert 'color="grey55"' in nodes(dot)["pod/shop/checkout-5c6d-x"]
    assert (
        'label="label version=2 (selector wants version=1)"'
        in (e["service/shop/checkout", "pod/shop/checkout-canary"])
    )


def test_ready_pods_are_filled_and_not_ready_ones_hollow() -> None:
    n = nodes(only("queue", "shop.yaml", "readiness.yaml"))

    assert 'style="filled"' in n["pod/shop/queue-ready"]
    assert 'style="solid"' in n["pod/shop/queue-starting"]
    assert "(not ready)" in n["pod/shop/queue-starting"]
    assert 'style="solid"' in n["pod/shop/queue-draining"]
    assert "(terminating)" in n["pod/shop/queue-draining"]


def test_dot_strings_escape_quotes_backslashes_and_line_breaks() -> None:
    assert quoted('a "b"\\c\nd') == '"a \\"b\\"\\\\c\\nd"'


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graphviz_renders_the_graph_as_svg_with_the_node_names() -> None:
    svg = render(dot_graph(inspect_manifests("shop.yaml", "drift.yaml")))

    assert svg.lstrip().startswith("<?xml")
    assert "<title>pod/shop/web&#45;7d9f8&#45;b2</title>" in svg


def test_svg_without_graphviz_is_one_line_and_exit_2_before_any_request(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("inspector.output.pictures.shutil.which", lambda name: None)

    assert run(["diff", "-o", "svg", "--kubeconfig", "/nonexistent/kubeconfig"]) == 2
    assert capsys.readouterr().err.splitlines() == [f"error: {DOT_MISSING}"]
