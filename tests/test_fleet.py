"""A fleet: `--contexts`/`--all-contexts` ask several kubeconfig contexts in one run, in parallel, each
through its own connection. Two in-process API servers hold the same namespace and Service (shop/web)
in different states: web's pod carries the selector's label behind `east` and another label behind
`west`; a third context, `gone`, points at a port where nothing listens. (The same on two real
clusters: e2e/test_fleet.py.)"""

from __future__ import annotations

import json
import threading

import pytest

from inspector.cli import run
from inspector.errors import BadInput, ClusterUnreachable
from inspector.kube.connection import Client
from inspector.live.fleet import ContextResult, Fleet, choose_contexts, dns_servers, inspect_fleet
from inspector.live.inspecting import make_scope
from inspector.output.fleetviews import fleet_json, services_fleet_table
from inspector.settings import Settings
from tests.fakeapi import FakeAPI

# --------------------------------------------------------------------------- which contexts


def test_contexts_are_checked_against_the_kubeconfig_kept_in_the_order_given_once(fleet_config: str) -> None:
    assert choose_contexts("west,east,west", False, fleet_config) == ("west", "east")
    assert choose_contexts(None, True, fleet_config) == ("east", "west", "gone")


@pytest.mark.parametrize(
    ("names", "every", "message"),
    [
        pytest.param(
            "east,nope,other", False, 'context "nope", "other" not found in the kubeconfig', id="unknown"
        ),
        pytest.param(
            "east,,west",
            False,
            "invalid --contexts 'east,,west': context names, comma-separated",
            id="empty-name",
        ),
        pytest.param("east", True, "give --contexts or --all-contexts, not both", id="both"),
    ],
)
def test_bad_contexts_are_bad_input(fleet_config: str, names: str, every: bool, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        choose_contexts(names, every, fleet_config)
    assert str(caught.value) == message


def test_one_dns_server_per_context() -> None:
    contexts = ("east", "west")
    assert dns_servers("east=127.0.0.1:28353, west=10.0.0.10", "--dns-server", contexts) == {
        "east": "127.0.0.1:28353",
        "west": "10.0.0.10",
    }
    assert dns_servers("west=10.0.0.10", "--dns-server", contexts) == {"west": "10.0.0.10"}
    assert dns_servers("10.0.0.10", "--dns-server", ("east",)) == {"east": "10.0.0.10"}
    assert dns_servers(None, "--dns-server", contexts) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "127.0.0.1:28353",
            "INSPECTOR_DNS_SERVER '127.0.0.1:28353' names one DNS server, and 2 contexts are asked: "
            "name one per context, CONTEXT=HOST[:PORT],...",
            id="one-server-for-two-clusters",
        ),
        pytest.param(
            "east=1.2.3.4,north=1.2.3.5",
            "INSPECTOR_DNS_SERVER names context 'north', which this run does not ask",
            id="a-context-not-asked",
        ),
        pytest.param(
            "east=1.2.3.4,west",
            "invalid INSPECTOR_DNS_SERVER 'east=1.2.3.4,west': CONTEXT=HOST[:PORT], comma-separated",
            id="malformed",
        ),
    ],
)
def test_dns_servers_that_cannot_be_told_apart_are_bad_input(text: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        dns_servers(text, "INSPECTOR_DNS_SERVER", ("east", "west"))
    assert str(caught.value) == message


# --------------------------------------------------------------------------- the runs


def test_contexts_are_asked_in_parallel_each_through_a_connection_of_its_own(fleet_config: str) -> None:
    both_inside = threading.Barrier(2, timeout=10)  # broken (an error) unless both runs are in at once
    seen: dict[str, Client] = {}

    def one(context: str, client: Client) -> str:
        seen[context] = client
        both_inside.wait()
        return client.server

    results = Fleet(("west", "east"), fleet_config).each(one)

    assert [r.context for r in results] == ["west", "east"]  # in the order named
    assert all(r.answered for r in results)
    assert results[0].value != results[1].value  # each its own API server
    assert seen["west"].api is not seen["east"].api
    assert seen["west"].api.configuration is not seen["east"].api.configuration
    assert seen["west"].api.configuration.api_key["BearerToken"] == "Bearer token-of-west"
    assert seen["east"].api.configuration.api_key["BearerToken"] == "Bearer token-of-east"


def test_same_namespace_and_service_in_two_clusters_are_judged_each_by_its_own_objects(
    fleet_config: str, fleet_apis: tuple[FakeAPI, FakeAPI]
) -> None:
    results = inspect_fleet(Fleet(("east", "west", "gone"), fleet_config), make_scope())

    for api in fleet_apis:  # each server read once per kind, by its own context's connection alone
        pods = [path for _, path, _ in api.seen if path == "/api/v1/namespaces/shop/pods"]
        assert len(pods) == 1

    east, west, gone = results
    assert east.value is not None and west.value is not None
    [east_web] = east.value.services
    [west_web] = west.value.services
    assert (east_web.service.key, west_web.service.key) == ("shop/web", "shop/web")
    assert east_web.status.value == "ok"
    assert [e.address for e in east_web.actual] == ["10.244.0.5:80"]
    assert [p.name for p in east_web.expectation.selected] == ["web-1"]
    assert west_web.status.value == "error"
    assert [f.code for f in west_web.findings] == ["selector-matches-no-pods"]
    assert west_web.actual == () and west_web.expectation.selected == ()
    assert east.value.snapshot.pods != west.value.snapshot.pods
    assert gone.value is None and isinstance(gone.error, ClusterUnreachable)
    assert str(gone.error).startswith("cannot reach the API server http://127.0.0.1:")


# --------------------------------------------------------------------------- the command line


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, list[str]]:
    status = run(argv, Settings())
    out, err = capsys.readouterr()
    return status, out, err.splitlines()


def test_diff_json_holds_every_context_and_an_unreachable_one_is_one_line_and_exit_3(
    fleet_config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(["diff", "--kubeconfig", fleet_config, "--all-contexts", "-o", "json"], capsys)

    assert status == 3
    assert len(err) == 1
    assert err[0].startswith('error: context "gone": cannot reach the API server http://127.0.0.1:')
    doc = json.loads(out)
    assert [c["context"] for c in doc["contexts"]] == ["east", "west", "gone"]
    east, west, gone = doc["contexts"]
    assert east["report"]["services"][0]["status"] == "ok"
    assert west["report"]["services"][0]["status"] == "error"
    assert set(gone) == {"context", "error"} and gone["error"] == err[0].split(": ", 2)[2]
    assert doc["summary"] == {
        "contexts": 3,
        "answered": 2,
        "failed": 1,
        "services": 2,
        "errors": 1,
        "warnings": 0,
        "infos": 0,
        "perContext": [
            {"context": "east", "services": 1, "errors": 0, "warnings": 0, "infos": 0},
            {"context": "west", "services": 1, "errors": 1, "warnings": 0, "infos": 0},
            {"context": "gone", "failed": True},
        ],
    }


def test_services_table_gains_a_first_context_column(
    fleet_config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(["services", "--kubeconfig", fleet_config, "--contexts", "west,east"], capsys)

    assert (status, err) == (1, [])  # west's error finding
    assert out.splitlines() == [
        "CONTEXT   NAME   TYPE        CLUSTER-IP   PORTS   SELECTOR   PODS   ENDPOINTS   STATUS",
        "west      web    ClusterIP   10.96.0.20   80      app=web    0/0    0/0         error",
        "east      web    ClusterIP   10.96.0.20   80      app=web    1/1    1/1         ok",
    ]


def test_exit_zero_leaves_only_the_unreachable_status(
    fleet_config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["diff", "--kubeconfig", fleet_config, "--exit-zero"]
    assert run_cli([*argv, "--contexts", "east,west"], capsys)[0] == 0
    assert run_cli([*argv, "--contexts", "west,gone"], capsys)[0] == 3


@pytest.mark.parametrize(
    ("argv", "stderr"),
    [
        pytest.param(
            ["services", "--contexts", "east,north"],
            'error: context "north" not found in the kubeconfig',
            id="unknown-context",
        ),
        pytest.param(
            ["diff", "--contexts", "east,west", "--context", "east"],
            "error: --contexts asks several contexts and --context names one: give one of them",
            id="contexts-and-context",
        ),
        pytest.param(
            ["diff", "--all-contexts", "--context", "east"],
            "error: --all-contexts asks several contexts and --context names one: give one of them",
            id="all-contexts-and-context",
        ),
        pytest.param(
            ["services", "--all-contexts", "-w"],
            "error: -w follows one context: it cannot be combined with --all-contexts",
            id="watch",
        ),
        pytest.param(
            ["diff", "--contexts", "east", "-o", "name"],
            "error: -o name shows one context: it cannot be combined with --contexts",
            id="output-name",
        ),
        pytest.param(
            ["dns", "--contexts", "east,west", "--dns-server", "127.0.0.1:53"],
            "error: --dns-server '127.0.0.1:53' names one DNS server, and 2 contexts are asked: "
            "name one per context, CONTEXT=HOST[:PORT],...",
            id="one-dns-server-for-two-contexts",
        ),
        pytest.param(
            ["diff", "--contexts", "east,west", "-f", "tests/manifests/shop.yaml"],
            "error: --contexts and --all-contexts judge live clusters; they cannot be combined with -f",
            id="fleet-and-files",
        ),
        pytest.param(
            ["services", "--all-contexts", "-f", "tests/manifests/shop.yaml"],
            "error: --contexts and --all-contexts judge live clusters; they cannot be combined with -f",
            id="fleet-and-files-services",
        ),
    ],
)
def test_bad_fleet_input_exits_2_with_one_line_before_any_request(
    argv: list[str], stderr: str, fleet_config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli([*argv, "--kubeconfig", fleet_config], capsys)
    assert (status, out, err) == (2, "", [stderr])


# --------------------------------------------------------------------------- the views


def test_fleet_document_and_table_from_answers_and_a_failure() -> None:
    from tests.conftest import inspect_manifests

    shop = inspect_manifests("shop.yaml")
    results = [
        ContextResult("a", value=shop),
        ContextResult("b", error=ClusterUnreachable("cannot reach the API server https://b:6443")),
    ]

    doc = fleet_json(
        results, lambda r: {"services": len(r.services)}, lambda r: {"services": len(r.services)}
    )
    table = services_fleet_table(results)

    n = len(shop.services)
    assert n == 1
    assert doc == {
        "contexts": [
            {"context": "a", "report": {"services": n}},
            {"context": "b", "error": "cannot reach the API server https://b:6443"},
        ],
        "summary": {
            "contexts": 2,
            "answered": 1,
            "failed": 1,
            "services": n,
            "perContext": [{"context": "a", "services": n}, {"context": "b", "failed": True}],
        },
    }
    assert table.splitlines() == [  # read from manifests: no one namespace, so NAMESPACE stays
        "CONTEXT   NAMESPACE   NAME   TYPE        CLUSTER-IP     PORTS     SELECTOR   PODS   ENDPOINTS   STATUS",
        "a         shop        web    ClusterIP   10.96.100.10   80:http   app=web    2/2    2/2         ok",
    ]


def test_diff_text_says_each_context_under_its_name_then_the_fleet(
    fleet_config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(["diff", "--kubeconfig", fleet_config, "--contexts", "east,west"], capsys)

    assert (status, err) == (1, [])
    blocks = out.rstrip("\n").split("\n\n")
    assert blocks[0] == "Context: east\nshop/web (ClusterIP): ok, 1 expected, 1 actual endpoint(s)"
    assert blocks[1] == "1 service(s): 0 error(s), 0 warning(s), 0 info(s)"
    assert blocks[2].startswith(
        "Context: west\nshop/web (ClusterIP): error, 0 expected, 0 actual endpoint(s)\n"
        "  ERROR   selector-matches-no-pods: selector app=web matches no pod in namespace shop"
    )
    assert blocks[3] == "1 service(s): 1 error(s), 0 warning(s), 0 info(s)"
    assert (
        blocks[4] == "2 context(s), 2 answered, 0 failed: 2 service(s): 1 error(s), 0 warning(s), 0 info(s)"
    )
    assert len(blocks) == 5
