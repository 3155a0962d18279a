"""kubectl's layouts and flags: three spaces between columns, `--no-headers`, `-o name`, `-v=N`, and
one line with exit 2 for an output a command does not have."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.cli import run
from inspector.cli.running import kubectl_verbosity
from inspector.live.viewing import pods_with_services
from inspector.output import tables
from tests.conftest import inspect_manifests


def test_columns_are_three_spaces_apart_as_kubectls_printers_put_them() -> None:
    text = tables.table([["web", "ClusterIP"], ["checkout-long", "NodePort"]], ["NAME", "TYPE"])

    assert text.splitlines() == [
        "NAME            TYPE",
        "web             ClusterIP",
        "checkout-long   NodePort",
    ]


def _kubectl_layout(rows: list[list[str]], headers: list[str], no_headers: bool) -> str:
    """kubectl's printers, written out: each column as wide as its widest cell (header included),
    left-aligned, three spaces apart, no trailing blanks."""
    grid = [[cell.strip() for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in grid) for i in range(len(headers))]
    lines = ["   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in grid]
    return "\n".join(lines[1:] if no_headers else lines)


# what tables hold: names, IPs, ports, selectors, numbers, blanks, "<none>", "-"
_CELL = st.text(alphabet=st.sampled_from("abz09.-/:=,<>()[] _"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=1, max_value=5).flatmap(
        lambda n: st.tuples(
            st.lists(_CELL, min_size=n, max_size=n),
            st.lists(st.lists(_CELL, min_size=n, max_size=n), min_size=1, max_size=6),
        )
    ),
    st.booleans(),
)
def test_tabulate_draws_exactly_kubectls_layout(
    table: tuple[list[str], list[list[str]]], no_headers: bool
) -> None:
    headers, rows = table

    assert tables.table(rows, headers, no_headers) == _kubectl_layout(rows, headers, no_headers)


def test_numbers_stay_left_aligned_text() -> None:
    text = tables.table([["web", "80", "1.5"], ["api", "8080", "10"]], ["NAME", "PORT", "N"])

    assert text.splitlines() == ["NAME   PORT   N", "web    80     1.5", "api    8080   10"]


def test_no_headers_leaves_out_the_header_line_only() -> None:
    report = inspect_manifests("shop.yaml", "service-types.yaml")

    with_headers = tables.services_table(report).splitlines()
    without = tables.services_table(report, no_headers=True).splitlines()

    assert with_headers[0].startswith("NAMESPACE   NAME")
    assert without == with_headers[1:]


def test_endpoints_and_pods_tables_leave_out_their_headers_too() -> None:
    report = inspect_manifests("shop.yaml", "drift.yaml")
    rows = pods_with_services(report, report.snapshot.pods)

    assert (
        tables.endpoints_rows_text(report.services, no_headers=True).splitlines()
        == (tables.endpoints_rows_text(report.services).splitlines()[1:])
    )
    assert tables.pods_table(rows, no_headers=True).splitlines() == tables.pods_table(rows).splitlines()[1:]


def test_name_output_names_services_as_kubectl_does() -> None:
    report = inspect_manifests("shop.yaml", "drift.yaml")

    names = tables.service_names(report.services).splitlines()

    assert names == [f"service/{sr.service.name}" for sr in report.services]
    assert "service/web-missing" in names


def test_name_output_of_endpoints_names_each_slice_once() -> None:
    report = inspect_manifests("drift.yaml")
    stale = [sr for sr in report.services if sr.service.name == "web-stale"]

    assert tables.slice_names(stale) == "endpointslice.discovery.k8s.io/web-stale-fghij"


@pytest.mark.parametrize(
    ("argv", "expanded"),
    [
        pytest.param(["diff", "-v=6"], ["diff", *["-v"] * 6], id="kubectl-level"),
        pytest.param(["diff", "--v=1"], ["diff", "-v"], id="long-form"),
        pytest.param(["diff", "-v=0"], ["diff"], id="zero-is-quiet"),
        pytest.param(["diff", "-vv"], ["diff", "-vv"], id="counted-stays"),
        pytest.param(["diff", "-v=x"], ["diff", "-v=x"], id="not-a-number-left-to-the-parser"),
        pytest.param(["resolve", "--", "-v=2"], ["resolve", "--", "-v=2"], id="after-double-dash"),
    ],
)
def test_kubectl_verbosity_levels_become_counted_v_flags(argv: list[str], expanded: list[str]) -> None:
    assert kubectl_verbosity(argv) == expanded


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["resolve", "web", "-o", "name"],
            "error: resolve has no output 'name' (it has table, wide, json, yaml)",
            id="resolve-name",
        ),
        pytest.param(
            ["endpoints", "-o", "dot"],
            "error: endpoints has no output 'dot' (it has table, wide, json, yaml, name)",
            id="endpoints-dot",
        ),
        pytest.param(
            ["wait", "web", "-o", "svg"],
            "error: wait has no output 'svg' (it has table, wide, json, yaml)",
            id="wait-svg",
        ),
    ],
)
def test_an_output_the_command_does_not_have_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([*argv, "--kubeconfig", "/nonexistent/kubeconfig"]) == 2
    assert capsys.readouterr().err.splitlines() == [message]


def test_a_bad_verbosity_level_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["diff", "-v=x", "--kubeconfig", "/nonexistent/kubeconfig"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: ")


def test_help_names_the_plugin_as_kubectl_runs_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["diff", "--help"]) == 0
    assert "Usage: kubectl svc-inspect diff [OPTIONS]" in capsys.readouterr().out
