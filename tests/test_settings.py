"""Settings at the edge: the environment is read in one module, once per run, and passed down."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from inspector.cli import run
from inspector.cli.candidates import Asker, Line
from inspector.errors import BadInput
from inspector.live.asking import DNSOptions
from inspector.settings import WATCH_SECONDS, Settings, parse_dns_via

PACKAGE = Path(__file__).resolve().parent.parent / "inspector"

# the only modules that may read the environment, and why
READERS = {
    "settings.py": "the settings: the one reader",
    "cli/__init__.py": "INSPECTOR_READY_FD, written before anything (the settings included) is imported",
}
ENVIRONMENT = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def _reads_of_the_environment(source: str) -> list[int]:
    """The lines that touch the process environment: os.environ, os.getenv, ..., or import them."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ENVIRONMENT
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ) or (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(alias.name in ENVIRONMENT for alias in node.names)
        ):
            lines.append(node.lineno)
    return lines


def test_only_the_settings_read_the_environment() -> None:
    found = {
        f"{path.relative_to(PACKAGE)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if str(path.relative_to(PACKAGE)) not in READERS
        for line in _reads_of_the_environment(path.read_text())
    }

    assert found == set()


def test_the_check_finds_every_spelling_of_a_read() -> None:
    source = "import os\nfrom os import environ\nos.environ['A']\nos.getenv('B')\nx = os.path.join('a')\n"

    assert _reads_of_the_environment(source) == [2, 3, 4]


def test_the_allowed_readers_exist() -> None:
    for module in READERS:
        assert _reads_of_the_environment((PACKAGE / module).read_text()), module


def test_settings_are_what_the_documented_variables_say() -> None:
    settings = Settings.from_environment(
        {
            "KUBECONFIG": "/a/config:/b/config",
            "KUBERNETES_SERVICE_HOST": "10.96.0.1",
            "INSPECTOR_DNS_SERVER": "10.96.0.10:53",
            "INSPECTOR_DNS_VIA": "port-forward",
            "INSPECTOR_WATCH_SECONDS": "5",
            "INSPECTOR_DEBUG": "1",
            "_KUBECTL_SVC_INSPECT_COMPLETE": "bash_complete",
            "HOME": "/root",
        }
    )

    assert settings == Settings(
        kubeconfig="/a/config:/b/config",
        in_cluster=True,
        dns_server="10.96.0.10:53",
        dns_via="port-forward",
        watch_seconds_text="5",
        debug=True,
        shell_completion=True,
    )
    assert settings.watch_seconds() == 5


def test_an_empty_environment_gives_the_defaults() -> None:
    settings = Settings.from_environment({"INSPECTOR_DNS_VIA": "", "KUBECONFIG": ""})

    assert settings == Settings()
    assert settings.watch_seconds() == WATCH_SECONDS
    assert parse_dns_via(settings.dns_via) == "auto"


@pytest.mark.parametrize("text", ["0", "-1", "soon", "1.5", ""])
def test_a_bad_watch_length_is_bad_input_where_it_is_used(text: str) -> None:
    settings = Settings(watch_seconds_text=text)  # reading it does not fail: using it does

    with pytest.raises(BadInput) as raised:
        settings.watch_seconds()
    assert str(raised.value) == (
        f"invalid INSPECTOR_WATCH_SECONDS {text!r}: use a whole number of seconds, 1 or more"
    )


def test_a_bad_dns_via_is_bad_input_naming_the_choices() -> None:
    with pytest.raises(BadInput) as raised:
        parse_dns_via("carrier-pigeon")
    assert (
        str(raised.value)
        == "invalid INSPECTOR_DNS_VIA 'carrier-pigeon': use one of auto, direct, port-forward"
    )


def test_dns_options_take_the_server_from_the_settings_unless_a_flag_names_one() -> None:
    settings = Settings(dns_server="10.96.0.10", in_cluster=True, dns_via="direct")

    from_env = DNSOptions.from_cli(None, None, settings=settings)
    from_flag = DNSOptions.from_cli("127.0.0.1:5353", None, settings=settings)
    from_nothing = DNSOptions.from_cli(None, None)

    assert (from_env.server, from_env.server_via) == ("10.96.0.10", "INSPECTOR_DNS_SERVER")
    assert (from_env.in_cluster, from_env.via) == (True, "direct")
    assert (from_flag.server, from_flag.server_via) == ("127.0.0.1:5353", "--dns-server")
    assert (from_nothing.server, from_nothing.in_cluster, from_nothing.via) == (None, False, "auto")


def test_the_cli_passes_its_settings_down_to_the_connection(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUBECONFIG", "/from/the/environment")
    given = Settings(kubeconfig="/nonexistent/a:/nonexistent/b")

    assert run(["services", "-n", "shop"], settings=given) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: kubeconfig /nonexistent/a:/nonexistent/b not found"
    ]


def test_without_given_settings_the_cli_reads_the_environment_once_at_its_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/from-env")

    assert run(["endpoints", "-n", "shop"]) == 2
    assert capsys.readouterr().err.splitlines() == ["error: kubeconfig /nonexistent/from-env not found"]


def test_a_bad_watch_length_fails_wait_before_any_request(capsys: pytest.CaptureFixture[str]) -> None:
    given = Settings(kubeconfig="/nonexistent/config", watch_seconds_text="soon")

    assert run(["wait", "web", "-n", "shop"], settings=given) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: invalid INSPECTOR_WATCH_SECONDS 'soon': use a whole number of seconds, 1 or more"
    ]


def test_completion_reads_the_contexts_of_the_kubeconfig_its_settings_name(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_text("contexts:\n- name: dev\n  context: {cluster: c}\n")
    second.write_text(
        "contexts:\n- name: prod\n  context: {cluster: c}\n- name: dev\n  context: {cluster: c}\n"
    )

    asker = Asker(Line(), Settings(kubeconfig=f"{first}:{second}"))

    assert asker.contexts() == ["dev", "prod"]
