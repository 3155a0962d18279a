"""Completion as kubectl asks it (`kubectl_complete-svc_inspect WORD... CURRENT`, cobra's protocol):
commands, flags, flag values, namespaces and Services of the cluster the line names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest

from inspector.cli.completing import NO_FILE, Asker, Line, complete


class Cluster(Asker):
    """A cluster of two namespaces, as the completion asks it; records what the line said."""

    SERVICES: ClassVar[dict[str, list[str]]] = {
        "shop": ["cart", "checkout", "web"],
        "default": ["kubernetes"],
    }
    asked: ClassVar[list[Line]] = []

    def __init__(self, line: Line) -> None:
        super().__init__(line)
        Cluster.asked.append(line)

    def contexts(self) -> list[str]:
        return ["dev", "prod"]

    def namespaces(self) -> list[str]:
        return sorted(self.SERVICES)

    def services(self, namespace: str | None, everywhere: bool) -> list[str]:
        if everywhere:
            return sorted({s for names in self.SERVICES.values() for s in names})
        return self.SERVICES[namespace or "default"]


def words(*args: str) -> tuple[list[str], int]:
    Cluster.asked.clear()
    candidates, directive = complete(list(args), Cluster)
    return [w for w, _ in candidates], directive


def test_an_empty_line_offers_the_visible_commands_with_descriptions() -> None:
    candidates, directive = complete([""], Cluster)

    assert [w for w, _ in candidates] == [
        "services",
        "endpoints",
        "diff",
        "resolve",
        "dns",
        "reach",
        "pods",
        "wait",
        "why",
        "serve",
    ]
    assert (
        dict(candidates)["diff"]
        == "Expected vs actual endpoints for every Service in scope, and all findings"
    )
    assert directive == NO_FILE


def test_a_prefix_narrows_the_commands() -> None:
    assert words("d") == (["diff", "dns"], NO_FILE)


def test_services_are_completed_in_the_namespace_the_line_names() -> None:
    assert words("services", "-n", "shop", "c") == (["cart", "checkout"], NO_FILE)
    assert Cluster.asked[0].values["--namespace"] == "shop"


def test_the_kubeconfig_and_context_on_the_line_are_the_ones_asked() -> None:
    words("diff", "--kubeconfig", "/tmp/kc", "--context=prod", "")

    assert (Cluster.asked[0].values["--kubeconfig"], Cluster.asked[0].values["--context"]) == (
        "/tmp/kc",
        "prod",
    )


def test_without_a_namespace_the_contexts_own_is_asked_and_all_with_dash_a() -> None:
    assert words("endpoints", "") == (["kubernetes"], NO_FILE)
    assert words("diff", "-A", "") == (["cart", "checkout", "kubernetes", "web"], NO_FILE)


def test_a_service_argument_is_completed_once_but_wait_takes_many() -> None:
    assert words("services", "web", "") == ([], NO_FILE)
    assert words("wait", "-n", "shop", "web", "c") == (["cart", "checkout"], NO_FILE)


def test_namespaces_and_contexts_are_completed_after_their_flags() -> None:
    assert words("services", "-n", "") == (["default", "shop"], NO_FILE)
    assert words("diff", "--namespace=s") == (["--namespace=shop"], NO_FILE)
    assert words("resolve", "web", "--from-namespace", "") == (["default", "shop"], NO_FILE)
    assert words("pods", "--context", "p") == (["prod"], NO_FILE)


def test_contexts_complete_the_last_name_of_their_list_and_offer_none_twice() -> None:
    assert words("services", "--contexts", "") == (["dev", "prod"], NO_FILE)
    assert words("diff", "--contexts", "dev,") == (["dev,prod"], NO_FILE)
    assert words("dns", "--contexts=prod,d") == (["--contexts=prod,dev"], NO_FILE)
    assert words("diff", "--contexts", "dev,prod,") == ([], NO_FILE)


@pytest.mark.parametrize(
    ("command", "outputs"),
    [
        ("services", ["table", "wide", "json", "yaml", "name", "dot", "svg"]),
        ("endpoints", ["table", "wide", "json", "yaml", "name"]),
        ("resolve", ["table", "wide", "json", "yaml"]),
    ],
)
def test_output_values_are_the_ones_the_command_has(command: str, outputs: list[str]) -> None:
    assert words(command, "-o", "") == (outputs, NO_FILE)


def test_enum_flags_offer_their_values() -> None:
    assert words("resolve", "web", "-t", "") == (["A", "AAAA", "SRV", "CNAME", "PTR", "TXT"], NO_FILE)
    assert words("wait", "web", "--for", "") == (["endpoints", "dns", "all"], NO_FILE)


def test_flags_are_offered_with_their_help_and_files_only_for_kubeconfig() -> None:
    candidates, directive = complete(["services", "--no"], Cluster)

    assert candidates == [("--no-headers", "Leave out the tables' header line")]
    assert directive == NO_FILE
    assert complete(["services", "--kubeconfig", ""], Cluster) == ([], 0)


def test_a_cluster_that_cannot_be_asked_gives_no_candidate_and_no_error() -> None:
    class Down(Cluster):
        def services(self, namespace: str | None, everywhere: bool) -> list[str]:
            raise ConnectionRefusedError("nothing listens")

    assert complete(["services", ""], Down) == ([], NO_FILE)


def test_the_executable_prints_candidates_then_the_directive_and_loads_no_client() -> None:
    probe = (
        "import sys\n"
        "sys.argv = ['kubectl_complete-svc_inspect', 'services', '-o', 'n']\n"
        "from inspector.cli.completing import main\n"
        "main()\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'kubernetes', 'dns', 'urllib3'})\n"
        "sys.stderr.write(f'LOADED {loaded}\\n')\n"
    )
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)

    assert res.stdout.splitlines() == ["name", ":4"]
    assert res.stderr.splitlines()[-1] == "LOADED []", res.stderr


def test_what_a_completion_swallows_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    class Down(Cluster):
        def namespaces(self) -> list[str]:
            raise ConnectionRefusedError("nothing listens")

    with caplog.at_level("DEBUG", logger="inspector.completing"):
        assert complete(["services", "-n", ""], Down) == ([], NO_FILE)

    (record,) = caplog.records
    assert record.getMessage() == "completing the values of --namespace failed"
    assert record.exc_info is not None and isinstance(record.exc_info[1], ConnectionRefusedError)


@pytest.mark.parametrize(("words", "env"), [(["-v"], {}), ([], {"INSPECTOR_DEBUG": "1"})], ids=["-v", "env"])
def test_the_executable_shows_what_it_swallowed_with_dash_v_or_inspector_debug(
    words: list[str], env: dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "config"
    broken.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\n")
    args = ["__complete", "services", "--kubeconfig", str(broken), *words, ""]
    probe = f"import sys\nsys.argv = ['x', *{args!r}]\nfrom inspector.cli.completing import main\nmain()\n"
    quiet = {k: v for k, v in os.environ.items() if k != "INSPECTOR_DEBUG"}

    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=quiet | env, check=False
    )
    hidden = subprocess.run(
        [sys.executable, "-c", probe.replace("'-v', ", "")],
        capture_output=True,
        text=True,
        env=quiet,
        check=False,
    )

    assert shown.stdout == hidden.stdout == ":4\n"
    assert "DEBUG inspector.completing: completing Service names failed" in shown.stderr
    assert "Traceback" in shown.stderr
    assert hidden.stderr == ""
