"""`dns --offline -f`: the DNS records manifests' Services will have once applied, from the same
expected-records model the oracle judges the cluster DNS with, fed the EndpointSlices the controller
will write; and the command line (no kubeconfig read, bad input in one line, exit 2)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from inspector.cli import run
from inspector.diagnosis.expectations import expected_slices
from inspector.diagnosis.report import inspect_snapshot
from inspector.dns.records import Kind, Record, expected_records
from inspector.errors import NotFound
from inspector.live.inspecting import make_scope
from inspector.live.planning import Files, offline_dns, planned_records
from inspector.model.overlaying import Manifest, what_if
from inspector.model.snapshot import ObjectRef, SliceEndpoint, SlicePort
from tests.conftest import load, snapshot_of

ZONE = "svc.cluster.local."
VERSION = Record("", "dns-version.cluster.local.", "TXT", ('"1.1.0"',), Kind.VERSION)


def planned(text: str, domain: str = "cluster.local") -> list[Record]:
    """The records of the manifests, offline (the dns-version record last)."""
    manifests = [Manifest(obj, "app.yaml", i) for i, obj in enumerate(load(text), start=1)]
    return planned_records(inspect_snapshot(what_if(manifests)), domain)


def rows(records: list[Record]) -> list[tuple[str, str, str, tuple[str, ...], bool]]:
    return [(r.service, r.qname, r.qtype, r.answers, r.pending) for r in records]


def deployment(name: str, labels: str, ports: str, replicas: int = 2) -> str:
    return f"""
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: shop}}
spec:
  replicas: {replicas}
  template:
    metadata: {{labels: {labels}}}
    spec: {{containers: [{{name: c, image: x, ports: {ports}}}]}}
"""


def statefulset(name: str, service_name: str, labels: str, replicas: int = 2) -> str:
    return f"""
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: {name}, namespace: shop}}
spec:
  replicas: {replicas}
  serviceName: {service_name}
  template:
    metadata: {{labels: {labels}}}
    spec: {{containers: [{{name: pg, image: x, ports: [{{name: pg, containerPort: 5432}}]}}]}}
"""


def service(name: str, spec: str) -> str:
    return f"---\napiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: shop}}\nspec: {spec}\n"


API = deployment("api", "{app: api}", "[{name: http, containerPort: 8080}]")
DB = statefulset("db", "db", "{app: db}") + service(
    "db", "{clusterIP: None, selector: {app: db}, ports: [{name: pg, port: 5432}]}"
)


# --------------------------------------------------------------------------- records from manifests


def test_a_deployment_and_its_service_have_the_cluster_ip_records_with_a_stand_in_for_the_ip() -> None:
    records = planned(API + service("api", "{selector: {app: api}, ports: [{name: http, port: 80}]}"))
    fqdn = f"api.shop.{ZONE}"
    assert rows(records) == [
        ("shop/api", fqdn, "A", ("<cluster IPv4>",), True),
        ("shop/api", f"_http._tcp.{fqdn}", "SRV", (f"80 {fqdn}",), False),
        ("shop/api", "<cluster IPv4, reversed>.in-addr.arpa.", "PTR", (fqdn,), True),
        ("", "dns-version.cluster.local.", "TXT", ('"1.1.0"',), False),
    ]
    assert [r.kind for r in records] == [Kind.SERVICE, Kind.SRV, Kind.PTR, Kind.VERSION]


def test_a_cluster_ip_written_in_the_file_gives_exact_records_and_its_ptr() -> None:
    records = planned(
        API + service("api", "{clusterIP: 10.96.0.50, selector: {app: api}, ports: [{port: 80}]}")
    )
    fqdn = f"api.shop.{ZONE}"
    assert rows(records)[:-1] == [
        ("shop/api", fqdn, "A", ("10.96.0.50",), False),
        ("shop/api", "50.0.96.10.in-addr.arpa.", "PTR", (fqdn,), False),
    ]


def test_dual_stack_families_give_an_a_and_an_aaaa_record_and_both_reverse_zones() -> None:
    spec = "{ipFamilies: [IPv4, IPv6], selector: {app: api}, ports: [{port: 80}]}"
    fqdn = f"api.shop.{ZONE}"
    assert rows(planned(API + service("api", spec)))[:-1] == [
        ("shop/api", fqdn, "A", ("<cluster IPv4>",), True),
        ("shop/api", fqdn, "AAAA", ("<cluster IPv6>",), True),
        ("shop/api", "<cluster IPv4, reversed>.in-addr.arpa.", "PTR", (fqdn,), True),
        ("shop/api", "<cluster IPv6, reversed>.ip6.arpa.", "PTR", (fqdn,), True),
    ]


def test_a_headless_service_of_a_statefulset_names_each_pod_by_its_hostname() -> None:
    fqdn = f"db.shop.{ZONE}"
    assert rows(planned(DB)) == [
        ("shop/db", fqdn, "A", ("<IPv4 of pod db-0>", "<IPv4 of pod db-1>"), True),
        ("shop/db", f"db-0.{fqdn}", "A", ("<IPv4 of pod db-0>",), True),
        ("shop/db", f"db-1.{fqdn}", "A", ("<IPv4 of pod db-1>",), True),
        ("shop/db", "<IPv4 of pod db-0, reversed>.in-addr.arpa.", "PTR", (f"db-0.{fqdn}",), True),
        ("shop/db", "<IPv4 of pod db-1, reversed>.in-addr.arpa.", "PTR", (f"db-1.{fqdn}",), True),
        ("shop/db", f"_pg._tcp.{fqdn}", "SRV", (f"5432 db-0.{fqdn}", f"5432 db-1.{fqdn}"), False),
        ("", "dns-version.cluster.local.", "TXT", ('"1.1.0"',), False),
    ]


def test_a_statefulset_whose_service_name_is_another_service_gets_no_hostname_records() -> None:
    # the controller sets an endpoint's hostname only when the pod's subdomain is this Service
    text = statefulset("db", "db-other", "{app: db}", replicas=1) + service(
        "db", "{clusterIP: None, selector: {app: db}, ports: [{name: pg, port: 5432}]}"
    )
    fqdn = f"db.shop.{ZONE}"
    dashed = "<IPv4 of pod db-0, dashed>"
    assert rows(planned(text))[:-1] == [
        ("shop/db", fqdn, "A", ("<IPv4 of pod db-0>",), True),
        ("shop/db", f"{dashed}.{fqdn}", "A", ("<IPv4 of pod db-0>",), True),
        ("shop/db", "<IPv4 of pod db-0, reversed>.in-addr.arpa.", "PTR", (f"{dashed}.{fqdn}",), True),
        ("shop/db", f"_pg._tcp.{fqdn}", "SRV", (f"5432 {dashed}.{fqdn}",), True),
    ]


def test_a_headless_service_of_a_deployment_names_its_pods_by_their_dashed_ip_stand_in() -> None:
    text = API + service(
        "api", "{clusterIP: None, selector: {app: api}, ports: [{port: 80, targetPort: 8080}]}"
    )
    records = planned(text)
    (pod_a, pod_b) = sorted(r.answers[0] for r in records if r.kind is Kind.HOSTNAME)
    assert pod_a.startswith("<IPv4 of pod api-") and pod_a.endswith("-0>")
    names = [r.qname for r in records if r.kind is Kind.HOSTNAME]
    assert names == [f"{pod_a[:-1]}, dashed>.api.shop.{ZONE}", f"{pod_b[:-1]}, dashed>.api.shop.{ZONE}"]
    assert not [r for r in records if r.kind is Kind.SRV]  # no named port, no SRV


def test_only_named_ports_get_srv_records_with_their_protocol() -> None:
    spec = (
        "{selector: {app: api}, ports: [{name: http, port: 80}, {port: 81},"
        " {name: dns, port: 53, protocol: UDP}]}"
    )
    fqdn = f"api.shop.{ZONE}"
    srv = [(r.qname, r.answers) for r in planned(API + service("api", spec)) if r.qtype == "SRV"]
    assert srv == [(f"_http._tcp.{fqdn}", (f"80 {fqdn}",)), (f"_dns._udp.{fqdn}", (f"53 {fqdn}",))]


def test_headless_srv_lists_only_the_pods_that_resolve_the_named_port_all_have_an_address() -> None:
    # web-1 lacks the containerPort name: the controller lists it in a slice without that port
    pods = "".join(
        f"""
---
apiVersion: v1
kind: Pod
metadata: {{name: web-{i}, namespace: shop, labels: {{app: web}}}}
spec: {{hostname: web-{i}, subdomain: web, containers: [{{name: c, image: x, ports: {ports}}}]}}
"""
        for i, ports in enumerate(["[{name: http, containerPort: 8080}]", "[]"])
    )
    text = pods + service(
        "web", "{clusterIP: None, selector: {app: web}, ports: [{name: http, port: 80, targetPort: http}]}"
    )
    records = {(r.qname, r.qtype): r.answers for r in planned(text)}
    fqdn = f"web.shop.{ZONE}"
    assert records[(fqdn, "A")] == ("<IPv4 of pod web-0>", "<IPv4 of pod web-1>")
    assert records[(f"_http._tcp.{fqdn}", "SRV")] == (f"8080 web-0.{fqdn}",)


def test_an_externalname_service_is_a_cname_and_an_ip_there_is_no_record() -> None:
    text = service("legacy", "{type: ExternalName, externalName: db.example.com}") + service(
        "byip", "{type: ExternalName, externalName: 192.0.2.10}"
    )
    assert rows(planned(text)) == [
        ("shop/legacy", f"legacy.shop.{ZONE}", "CNAME", ("db.example.com.",), False),
        ("", "dns-version.cluster.local.", "TXT", ('"1.1.0"',), False),
    ]


def test_a_service_selecting_nothing_keeps_its_name_headless_it_is_nxdomain() -> None:
    text = (
        API
        + service("typo", "{selector: {app: apx}, ports: [{port: 80}]}")
        + service("hl", "{clusterIP: None, selector: {app: apx}, ports: [{port: 80}]}")
    )
    records = planned(text)
    by_name = {(r.qname, r.qtype): (r.answers, r.rcode) for r in records}
    assert by_name[(f"typo.shop.{ZONE}", "A")] == (("<cluster IPv4>",), "NOERROR")
    assert by_name[(f"hl.shop.{ZONE}", "A")] == ((), "NXDOMAIN")
    assert [r.qname for r in records if r.service == "shop/hl"] == [f"hl.shop.{ZONE}"]


def test_a_selectorless_service_answers_the_endpoint_slices_of_the_files() -> None:
    text = (
        service("ext", "{clusterIP: None, ports: [{name: pg, port: 5432}]}")
        + """
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ext-1, namespace: shop, labels: {kubernetes.io/service-name: ext}}
addressType: IPv4
ports: [{name: pg, port: 5432}]
endpoints: [{addresses: [192.0.2.20], conditions: {ready: true}}]
"""
    )
    fqdn = f"ext.shop.{ZONE}"
    assert rows(planned(text))[:-1] == [
        ("shop/ext", fqdn, "A", ("192.0.2.20",), False),
        ("shop/ext", f"192-0-2-20.{fqdn}", "A", ("192.0.2.20",), False),
        ("shop/ext", "20.2.0.192.in-addr.arpa.", "PTR", (f"192-0-2-20.{fqdn}",), False),
        ("shop/ext", f"_pg._tcp.{fqdn}", "SRV", (f"5432 192-0-2-20.{fqdn}",), False),
    ]


def test_the_cluster_domain_is_the_one_given() -> None:
    records = planned(DB, domain="corp.example")
    assert records[0].qname == "db.shop.svc.corp.example."
    assert records[-1].qname == "dns-version.corp.example."


def test_expected_slices_of_running_pods_give_the_records_of_the_slices_the_controller_wrote() -> None:
    # the same Service and pods read from a cluster: predicted slices and written ones, same records
    live = """
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {clusterIP: None, selector: {app: db}, ports: [{name: pg, port: 5432}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: shop, labels: {app: db}}
spec: {hostname: db-0, subdomain: db, nodeName: n1, containers: [{name: pg, ports: [{name: pg, containerPort: 5432}]}]}
status: {phase: Running, podIP: 10.244.0.5, podIPs: [{ip: 10.244.0.5}], conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-x, namespace: shop, labels: {app: db}}
spec: {nodeName: n1, containers: [{name: pg, ports: [{name: pg, containerPort: 5432}]}]}
status: {phase: Running, podIP: 10.244.0.6, podIPs: [{ip: 10.244.0.6}], conditions: [{type: Ready, status: "False"}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: db-abc, namespace: shop, labels: {kubernetes.io/service-name: db}}
addressType: IPv4
ports: [{name: pg, port: 5432, protocol: TCP}]
endpoints:
- addresses: [10.244.0.5]
  hostname: db-0
  nodeName: n1
  conditions: {ready: true, serving: true, terminating: false}
  targetRef: {kind: Pod, name: db-0}
- addresses: [10.244.0.6]
  nodeName: n1
  conditions: {ready: false, serving: false, terminating: false}
  targetRef: {kind: Pod, name: web-x}
"""
    report = inspect_snapshot(snapshot_of(live))
    (sr,) = report.services
    (predicted,) = expected_slices(sr.expectation)
    assert predicted.ports == (SlicePort(5432, "TCP", "pg"),)
    assert predicted.endpoints == (
        SliceEndpoint(("10.244.0.5",), True, True, False, ObjectRef("Pod", "shop", "db-0"), "n1", "db-0"),
        SliceEndpoint(("10.244.0.6",), False, False, False, ObjectRef("Pod", "shop", "web-x"), "n1", None),
    )
    assert expected_records(sr.service, (predicted,), "cluster.local") == expected_records(
        sr.service, sr.facts.slices, "cluster.local"
    )


def test_offline_dns_reads_the_files_alone_and_names_a_missing_service(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(DB)
    found = offline_dns(Files((str(path),), offline=True), make_scope(), None)
    assert found.domain == "cluster.local"
    assert [r.service for r in found.records] == ["shop/db"] * 6 + [""]
    assert found.records[-1] == VERSION
    with pytest.raises(NotFound, match='service "nope" not found in the files'):
        offline_dns(Files((str(path),), offline=True), make_scope(name="nope"), None)


# --------------------------------------------------------------------------- the command line


@pytest.fixture
def no_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline runs read no kubeconfig: HOME and KUBECONFIG point at nothing."""
    monkeypatch.setenv("HOME", str(tmp_path / "no-home"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.delenv("INSPECTOR_DNS_SERVER", raising=False)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_dns_offline_prints_the_expected_records_and_says_nothing_was_asked(
    tmp_path: Path, no_kubeconfig: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "db.yaml", DB + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    assert run(["dns", "--offline", "-f", path]) == 0
    out, err = capsys.readouterr()
    blocks = out.split("\n\n")
    assert blocks[0].splitlines() == [
        "Expected DNS records once 2 object(s) of the files are applied, offline: nothing was asked "
        "(no cluster, no DNS server); <...> is an address allocated once applied:",
        f"  planned   StatefulSet shop/db   {path} (document 1)",
        f"  planned   Service shop/db   {path} (document 2)",
    ]
    table = blocks[1].splitlines()
    assert table[0].split() == ["SERVICE", "NAME", "TYPE", "EXPECTED"]
    assert table[2].split() == ["shop/db", f"db-0.db.shop.{ZONE}", "A", "<IPv4", "of", "pod", "db-0>"]
    assert table[-1].split() == ["(cluster)", "dns-version.cluster.local.", "TXT", '"1.1.0"']
    assert blocks[2] == (
        "1 service(s), 7 expected record(s), 5 pending (their addresses are allocated once applied); "
        "pod records are the Corefile's to decide: not listed\n"
    )
    assert err == "note: skipped 1 object(s) of kinds a what-if run does not judge: ConfigMap (1)\n"


def test_dns_offline_json_has_each_service_s_records_and_the_files(
    tmp_path: Path, no_kubeconfig: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path, "app.yaml", API + service("api", "{selector: {app: api}, ports: [{name: http, port: 80}]}")
    )
    assert run(["dns", "--offline", "-f", path, "--cluster-domain", "corp.example.", "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["domain"] == "corp.example"
    assert doc["whatIf"]["offline"] is True
    assert [(o["kind"], o["action"]) for o in doc["whatIf"]["objects"]] == [
        ("Deployment", "planned"),
        ("Service", "planned"),
    ]
    (svc,) = doc["services"]
    assert (svc["namespace"], svc["name"], svc["type"], svc["headless"], svc["source"]) == (
        "shop",
        "api",
        "ClusterIP",
        False,
        path,
    )
    assert svc["records"][0] == {
        "qname": "api.shop.svc.corp.example.",
        "qtype": "A",
        "kind": "service",
        "expected": {"rcode": "NOERROR", "answers": ["<cluster IPv4>"]},
        "pending": True,
    }
    assert [r["kind"] for r in svc["records"]] == ["service", "srv", "ptr"]
    assert [r["qname"] for r in doc["cluster"]["records"]] == ["dns-version.corp.example."]
    assert doc["summary"] == {"services": 1, "records": 4, "pending": 2}


def test_dns_offline_reads_stdin(
    no_kubeconfig: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(DB))
    assert run(["dns", "--offline", "-f", "-", "-o", "yaml"]) == 0
    assert "qname: db-1.db.shop.svc.cluster.local." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "stderr"),
    [
        (
            ["dns", "-f", "{app}"],
            "error: dns -f needs --offline: it lists the records the files' Services will have, and the "
            "cluster DNS cannot answer for objects not applied yet (diff -f judges them on the cluster)",
        ),
        (
            ["dns", "--offline", "-f", "{app}", "--dns-server", "10.96.0.10"],
            "error: --dns-server says how to ask the cluster DNS; dns --offline asks nothing",
        ),
        (
            ["dns", "--offline", "-f", "{app}", "--dns-tcp"],
            "error: --dns-tcp says how to ask the cluster DNS; dns --offline asks nothing",
        ),
        (
            ["dns", "--offline", "-f", "{app}", "--all-contexts"],
            "error: --contexts and --all-contexts judge live clusters; they cannot be combined with -f",
        ),
        (
            ["dns", "--offline", "-f", "{app}", "--cluster-domain", "a..b"],
            "error: invalid --cluster-domain 'a..b': not a DNS name",
        ),
        (["dns", "--offline", "-f", "{app}", "nope"], 'error: service "nope" not found in the files'),
        (
            ["dns", "--offline", "-f", "{app}", "-o", "name"],
            "error: dns has no output 'name' (it has table, wide, json, yaml)",
        ),
        (["dns", "--offline"], "error: --offline judges files: give them with -f PATH"),
        (
            ["diff", "--dns", "--offline", "-f", "{app}"],
            "error: --dns asks the cluster DNS, which cannot answer for files not applied yet: "
            "`dns --offline -f` lists the records they will have",
        ),
        (
            ["dns", "--offline", "-f", "{tmp}/nowhere.yaml"],
            'error: the path "{tmp}/nowhere.yaml" does not exist',
        ),
        (
            ["dns", "--offline", "-f", "{bad}"],
            "error: {bad}: document 2: not valid YAML: did not find expected ',' or ']' (line 6, column 1)",
        ),
        (
            ["dns", "--offline", "-f", "{noname}"],
            "error: {noname}: document 1: Service has no metadata.name",
        ),
    ],
)
def test_bad_dns_what_if_input_is_one_line_and_exit_2(
    tmp_path: Path, argv: list[str], stderr: str, no_kubeconfig: None, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = {
        "app": write(tmp_path, "app.yaml", DB),
        "bad": write(
            tmp_path, "bad.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nkind: [x\n"
        ),
        "noname": write(tmp_path, "noname.yaml", "apiVersion: v1\nkind: Service\nmetadata: {}\n"),
        "tmp": str(tmp_path),
    }
    assert run([a.format(**paths) for a in argv]) == 2
    out, err = capsys.readouterr()
    assert (out, err.splitlines()) == ("", [stderr.format(**paths)])


def test_dns_offline_on_an_empty_stdin_is_one_line(
    no_kubeconfig: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert run(["dns", "--offline", "-f", "-"]) == 2
    assert capsys.readouterr().err == "error: -f -: stdin is empty: no objects to judge\n"
