"""The command line without a cluster: bad input exits 2, an unreachable server 3, one line on stderr each."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from inspector.cli import run
from inspector.cli.durations import parse_duration
from inspector.errors import BadInput
from inspector.live.inspecting import Scope, make_scope
from inspector.model.names import validate_name
from inspector.model.selectors import parse_selector

# A kubeconfig a reader recognises, pointing at a port nothing listens on.
DEAD_CLUSTER_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
  - name: dead
    cluster:
      server: https://127.0.0.1:1
contexts:
  - name: dead
    context:
      cluster: dead
      user: viewer
      namespace: shop
current-context: dead
users:
  - name: viewer
    user:
      token: not-a-real-token
"""


@pytest.fixture(autouse=True)
def no_ambient_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


@pytest.fixture
def kubeconfig(tmp_path: Path) -> str:
    path = tmp_path / "config"
    path.write_text(DEAD_CLUSTER_KUBECONFIG)
    return str(path)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        pytest.param("5s", 5.0, id="seconds"),
        pytest.param("500ms", 0.5, id="milliseconds"),
        pytest.param("1m", 60.0, id="minutes"),
        pytest.param("2h", 7200.0, id="hours"),
        pytest.param("10", 10.0, id="bare-number-is-seconds"),
        pytest.param("1.5s", 1.5, id="fraction"),
        pytest.param(" 3s ", 3.0, id="spaces"),
        pytest.param("0", None, id="zero-is-no-timeout"),
        pytest.param("0s", None, id="zero-seconds-is-no-timeout"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_parse_duration_reads_kubectl_durations(text: str | None, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("-1s", id="negative"),
        pytest.param("abc", id="word"),
        pytest.param("5 minutes", id="spelled-unit"),
        pytest.param("", id="empty"),
        pytest.param("1d", id="days-unsupported"),
        pytest.param("s", id="unit-without-number"),
        pytest.param("1e3", id="exponent"),
    ],
)
def test_parse_duration_rejects_negative_or_garbage(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_duration(text)
    assert (
        str(caught.value)
        == f"invalid duration {text!r}: use a non-negative number with ms, s, m or h, e.g. 5s"
    )


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("web", id="word"),
        pytest.param("a", id="one-letter"),
        pytest.param("web-1", id="dash-and-digit"),
        pytest.param("1st", id="leading-digit"),
        pytest.param("x" * 63, id="63-characters"),
    ],
)
def test_valid_names_pass(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("Web", id="uppercase"),
        pytest.param("web_1", id="underscore"),
        pytest.param("-web", id="leading-dash"),
        pytest.param("web-", id="trailing-dash"),
        pytest.param("web.shop", id="dot"),
        pytest.param("x" * 64, id="64-characters"),
    ],
)
def test_invalid_names_are_bad_input(name: str) -> None:
    with pytest.raises(BadInput) as caught:
        validate_name(name, "Service name")
    assert str(caught.value).startswith(f"invalid Service name {name!r}: must be at most 63 lowercase")


def test_make_scope_validates_and_parses_before_any_request() -> None:
    assert make_scope("shop", False, "web", "app=web") == Scope(
        "shop", False, "web", parse_selector("app=web")
    )
    assert make_scope(all_namespaces=True) == Scope(None, True, None, None)


# ----------------------------------------------------------------------------- run(argv)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    status = run(argv)
    return status, capsys.readouterr().err.splitlines()


@pytest.mark.parametrize(
    ("argv", "stderr"),
    [
        pytest.param(
            ["diff", "-l", "app=web=x"],
            "error: invalid selector 'app=web=x': 'web=x' is not a valid label value",
            id="invalid-selector",
        ),
        pytest.param(
            ["pods", "-l", "env in (prod"],
            "error: invalid selector 'env in (prod': 'env in (prod' is not a valid label key",
            id="invalid-pod-selector",
        ),
        pytest.param(
            ["services", "Web_Frontend"],
            "error: invalid Service name 'Web_Frontend': must be at most 63 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit",
            id="invalid-service-name",
        ),
        pytest.param(
            ["diff", "-n", "Shop"],
            "error: invalid namespace 'Shop': must be at most 63 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit",
            id="invalid-namespace",
        ),
        pytest.param(
            ["diff", "--request-timeout", "-5s"],
            "error: invalid duration '-5s': use a non-negative number with ms, s, m or h, e.g. 5s",
            id="negative-request-timeout",
        ),
        pytest.param(
            ["reach", "api"],
            "error: give exactly one of --from-namespace NS or --from-pod POD",
            id="reach-without-a-client",
        ),
        pytest.param(
            ["reach", "api", "--from-namespace", "web", "--from-pod", "web-1"],
            "error: give exactly one of --from-namespace NS or --from-pod POD",
            id="reach-with-two-clients",
        ),
        pytest.param(
            ["reach", "api", "--from-namespace", "Web"],
            "error: invalid namespace 'Web': must be at most 63 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit",
            id="reach-invalid-client-namespace",
        ),
        pytest.param(
            ["reach", "api", "--from-namespace", "web", "--from-labels", "app"],
            "error: --from-labels: 'app' is not KEY=VALUE",
            id="reach-bad-client-labels",
        ),
        pytest.param(
            ["reach", "api", "--from-pod", "web-1", "--from-labels", "app=web"],
            "error: --from-labels goes with --from-namespace; a pod has its own labels",
            id="reach-pod-with-labels",
        ),
        pytest.param(
            ["diff", "--from-namespace", "Web"],
            "error: invalid namespace 'Web': must be at most 63 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit",
            id="diff-invalid-client-namespace",
        ),
        pytest.param(
            ["endpoints", "--request-timeout", "soon"],
            "error: invalid duration 'soon': use a non-negative number with ms, s, m or h, e.g. 5s",
            id="garbage-request-timeout",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line_before_any_request(
    argv: list[str], stderr: str, kubeconfig: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # the kubeconfig names an unreachable server: reaching it would exit 3, not 2
    status, err = run_cli([*argv, "--kubeconfig", kubeconfig], capsys)

    assert (status, err) == (2, [stderr])


@pytest.mark.parametrize(
    ("argv", "start"),
    [
        pytest.param(["diff", "-o", "xml"], "error: Invalid value for '-o' / '--output'", id="bad-output"),
        pytest.param(["services", "--frobnicate"], "error: No such option: --frobnicate", id="unknown-flag"),
        pytest.param(["frobnicate"], "error: No such command 'frobnicate'", id="unknown-command"),
        pytest.param(["diff", "web", "api"], "error: Got unexpected extra argument", id="extra-argument"),
    ],
)
def test_usage_error_exits_2_with_one_line(
    argv: list[str], start: str, kubeconfig: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = run_cli([*argv, "--kubeconfig", kubeconfig], capsys)

    assert status == 2
    assert len(err) == 1
    assert err[0].startswith(start)
    assert "Traceback" not in err[0]


def test_missing_kubeconfig_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere" / "config"

    assert run_cli(["diff", "--kubeconfig", str(missing)], capsys) == (
        2,
        [f"error: kubeconfig {missing} not found"],
    )


def test_malformed_kubeconfig_yaml_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "config"
    broken.write_text("apiVersion: v1\nkind: Config\n\tclusters: []\n")  # a tab cannot indent YAML

    status, err = run_cli(["services", "--kubeconfig", str(broken)], capsys)

    assert (status, err) == (2, [f"error: kubeconfig {broken} is not valid YAML at line 3"])


def test_kubeconfig_that_is_not_a_mapping_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed = tmp_path / "config"
    listed.write_text("- just\n- a list\n")

    status, err = run_cli(["services", "--kubeconfig", str(listed)], capsys)

    assert (status, err) == (2, [f"error: kubeconfig {listed} is not a kubeconfig (expected a mapping)"])


def test_unknown_context_exits_2(kubeconfig: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, err = run_cli(["diff", "--kubeconfig", kubeconfig, "--context", "prod"], capsys)

    assert (status, err) == (2, [f'error: context "prod" not found in kubeconfig {kubeconfig}'])


def test_unreachable_api_server_exits_3_with_one_line(
    kubeconfig: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("inspector.kube.connection.BACKOFF_S", 0.0)  # the retries need not wait here

    status, err = run_cli(["diff", "--kubeconfig", kubeconfig], capsys)

    assert (status, err) == (
        3,
        ["error: cannot reach the API server https://127.0.0.1:1: Connection refused"],
    )


def test_unreachable_api_server_with_a_timeout_still_says_refused(
    kubeconfig: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("inspector.kube.connection.BACKOFF_S", 0.0)

    status, err = run_cli(["services", "--kubeconfig", kubeconfig, "--request-timeout", "2s"], capsys)

    assert (status, err) == (
        3,
        ["error: cannot reach the API server https://127.0.0.1:1: Connection refused"],
    )


@pytest.mark.parametrize(
    "argv",
    [["--version"], ["--help"], ["diff", "--help"], ["diff", "--frobnicate"], ["diff", "-o", "xml"], []],
    ids=["version", "help", "command-help", "unknown-flag", "bad-output", "no-arguments"],
)
def test_version_help_and_usage_errors_load_neither_the_kubernetes_nor_the_dns_client(
    argv: list[str],
) -> None:
    probe = (
        "import os, sys\n"
        f"sys.argv = ['kubectl-svc_inspect', *{argv!r}]\n"
        "def leave(status):\n"  # main ends the process with os._exit: here, return to look
        "    raise SystemExit(status)\n"
        "os._exit = leave\n"
        "from inspector.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'kubernetes', 'dns', 'urllib3', 'yaml'})\n"
        "sys.stderr.write(f'LOADED {loaded}\\n')\n"
    )
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)

    assert res.stderr.splitlines()[-1] == "LOADED []", res.stderr


def test_the_dns_tier_loads_without_the_kubernetes_client() -> None:
    probe = "import sys, inspector.dns.oracle, inspector.dns.querying; print('kubernetes' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert res.stdout.strip() == "False"
