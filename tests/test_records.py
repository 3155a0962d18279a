"""Expected DNS records from the API objects, as the DNS spec and CoreDNS derive them; and the API
asked like a DNS server."""

from __future__ import annotations

from inspector.dns.answers import UNKNOWN, Answer
from inspector.dns.records import (
    Kind,
    Record,
    RecordBook,
    dashed,
    expected_records,
    namespaces_named,
    same_answers,
    service_parts,
)
from inspector.live.asking import records_for_report
from inspector.model.snapshot import Service
from tests.conftest import inspect_manifests, snapshot_of

REDIS = """
apiVersion: v1
kind: Service
metadata: {name: redis-master, namespace: my-ns}
spec:
  clusterIP: 10.96.0.7
  clusterIPs: [10.96.0.7]
  selector: {app: redis}
  ports:
    - {name: redis, port: 6379, targetPort: 6379}
    - {port: 9121, targetPort: 9121}
    - {name: gossip, port: 7000, protocol: UDP}
"""

HEADLESS = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: my-ns}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc
  namespace: my-ns
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
  - addresses: [10.244.0.5]
    hostname: web-0
    conditions: {ready: true}
    targetRef: {kind: Pod, name: web-0}
  - addresses: [10.244.1.6]
    conditions: {ready: true}
    targetRef: {kind: Pod, name: web-7f9c}
  - addresses: [10.244.1.9]
    hostname: web-2
    conditions: {ready: false}
    targetRef: {kind: Pod, name: web-2}
"""


def records(manifest: str, domain: str = "cluster.local") -> list[Record]:
    snap = snapshot_of(manifest)
    (svc,) = snap.services
    return expected_records(svc, snap.slices, domain)


def test_cluster_ip_service_answers_its_cluster_ip_and_one_srv_per_named_port() -> None:
    assert records(REDIS) == [
        Record(
            "my-ns/redis-master", "redis-master.my-ns.svc.cluster.local.", "A", ("10.96.0.7",), Kind.SERVICE
        ),
        Record(
            "my-ns/redis-master",
            "_redis._tcp.redis-master.my-ns.svc.cluster.local.",
            "SRV",
            ("6379 redis-master.my-ns.svc.cluster.local.",),
            Kind.SRV,
            "redis",
        ),
        Record(
            "my-ns/redis-master",
            "_gossip._udp.redis-master.my-ns.svc.cluster.local.",
            "SRV",
            ("7000 redis-master.my-ns.svc.cluster.local.",),
            Kind.SRV,
            "gossip",
        ),
        Record(
            "my-ns/redis-master",
            "7.0.96.10.in-addr.arpa.",
            "PTR",
            ("redis-master.my-ns.svc.cluster.local.",),
            Kind.PTR,
            detail="10.96.0.7",
        ),
    ]


def test_dual_stack_service_answers_a_and_aaaa() -> None:
    svc = Service("ns", "dual", cluster_ip="10.96.0.8", cluster_ips=("10.96.0.8", "fd00::8"))
    assert [(r.qtype, r.answers) for r in expected_records(svc, (), "cluster.local")] == [
        ("A", ("10.96.0.8",)),
        ("AAAA", ("fd00::8",)),
        ("PTR", ("dual.ns.svc.cluster.local.",)),
        ("PTR", ("dual.ns.svc.cluster.local.",)),
    ]
    assert [r.qname for r in expected_records(svc, (), "cluster.local") if r.qtype == "PTR"] == [
        "8.0.96.10.in-addr.arpa.",
        "8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.",
    ]


def test_records_follow_the_cluster_domain() -> None:
    assert records(REDIS, "corp.example.")[0].qname == "redis-master.my-ns.svc.corp.example."


def test_headless_service_answers_one_a_per_ready_endpoint_hostnames_and_srv_targets() -> None:
    assert [(r.qname, r.qtype, r.answers, r.kind) for r in records(HEADLESS)] == [
        ("web.my-ns.svc.cluster.local.", "A", ("10.244.0.5", "10.244.1.6"), Kind.SERVICE),
        # an endpoint without hostname is named by its dashed IP, as CoreDNS does (§2.4.1)
        ("10-244-1-6.web.my-ns.svc.cluster.local.", "A", ("10.244.1.6",), Kind.HOSTNAME),
        ("web-0.web.my-ns.svc.cluster.local.", "A", ("10.244.0.5",), Kind.HOSTNAME),
        ("5.0.244.10.in-addr.arpa.", "PTR", ("web-0.web.my-ns.svc.cluster.local.",), Kind.PTR),
        ("6.1.244.10.in-addr.arpa.", "PTR", ("10-244-1-6.web.my-ns.svc.cluster.local.",), Kind.PTR),
        (
            "_http._tcp.web.my-ns.svc.cluster.local.",
            "SRV",
            ("8080 10-244-1-6.web.my-ns.svc.cluster.local.", "8080 web-0.web.my-ns.svc.cluster.local."),
            Kind.SRV,
        ),
    ]


def test_headless_service_with_publish_not_ready_addresses_answers_every_endpoint() -> None:
    manifest = HEADLESS.replace("clusterIP: None", "clusterIP: None\n  publishNotReadyAddresses: true")
    by_name = {r.qname: r.answers for r in records(manifest) if r.qtype == "A"}
    assert by_name["web.my-ns.svc.cluster.local."] == ("10.244.0.5", "10.244.1.6", "10.244.1.9")
    assert by_name["web-2.web.my-ns.svc.cluster.local."] == ("10.244.1.9",)


def test_headless_service_with_no_ready_endpoint_answers_nxdomain() -> None:
    manifest = HEADLESS.replace("ready: true", "ready: false")
    (record,) = records(manifest)
    assert (record.qname, record.qtype, record.answers, record.rcode) == (
        "web.my-ns.svc.cluster.local.",
        "A",
        (),
        "NXDOMAIN",
    )


def test_headless_service_without_slices_answers_nxdomain() -> None:
    svc = Service("ns", "lonely", cluster_ip="None")
    assert expected_records(svc, (), "cluster.local") == [
        Record("ns/lonely", "lonely.ns.svc.cluster.local.", "A", (), Kind.SERVICE)
    ]


def test_headless_ipv6_endpoints_answer_aaaa_with_dashed_srv_targets() -> None:
    snap = snapshot_of(
        """
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: v6-x, namespace: ns, labels: {kubernetes.io/service-name: v6}}
addressType: IPv6
ports: [{name: http, port: 80}]
endpoints: [{addresses: ["fd00::5"], conditions: {ready: true}}]
"""
    )
    svc = Service("ns", "v6", cluster_ip="None", ports=(snapshot_of(REDIS).services[0].ports[0],))
    out = expected_records(svc, snap.slices, "cluster.local")
    assert [(r.qname, r.qtype, r.answers) for r in out] == [
        ("v6.ns.svc.cluster.local.", "AAAA", ("fd00::5",)),
        ("fd00--5.v6.ns.svc.cluster.local.", "AAAA", ("fd00::5",)),
        (
            "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.",
            "PTR",
            ("fd00--5.v6.ns.svc.cluster.local.",),
        ),
    ]
    assert dashed("fd00::5") == "fd00--5"


def test_externalname_service_answers_a_cname_to_its_external_name() -> None:
    manifest = """
apiVersion: v1
kind: Service
metadata: {name: db, namespace: my-ns}
spec: {type: ExternalName, externalName: My.Database.Example.com, ports: [{name: pg, port: 5432}]}
"""
    assert records(manifest) == [
        Record(
            "my-ns/db",
            "db.my-ns.svc.cluster.local.",
            "CNAME",
            ("my.database.example.com.",),
            Kind.EXTERNAL_NAME,
        )
    ]


def test_service_without_cluster_ip_has_no_records() -> None:
    assert expected_records(Service("ns", "pending"), (), "cluster.local") == []


def test_records_for_a_report_take_each_service_with_its_own_slices() -> None:
    report = inspect_manifests(REDIS, HEADLESS)
    assert [(r.service, r.qtype) for r in records_for_report(report, "cluster.local")] == [
        ("my-ns/redis-master", "A"),
        ("my-ns/redis-master", "SRV"),
        ("my-ns/redis-master", "SRV"),
        ("my-ns/redis-master", "PTR"),
        ("my-ns/web", "A"),
        ("my-ns/web", "A"),
        ("my-ns/web", "A"),
        ("my-ns/web", "PTR"),
        ("my-ns/web", "PTR"),
        ("my-ns/web", "SRV"),
    ]


# --------------------------------------------------------------------------- comparing


def test_answers_compare_as_sets() -> None:
    assert same_answers("A", ("10.0.0.1", "10.0.0.2"), ("10.0.0.2", "10.0.0.1"))
    assert not same_answers("A", ("10.0.0.1",), ("10.0.0.1", "10.0.0.2"))


def test_srv_answers_compare_port_and_target_not_priority_or_weight() -> None:
    assert same_answers("SRV", ("6379 r.ns.svc.cluster.local.",), ("0 100 6379 r.ns.svc.cluster.local.",))
    assert not same_answers("SRV", ("6379 r.ns.svc.cluster.local.",), ("0 100 6380 r.ns.svc.cluster.local.",))


def test_a_cname_answer_ignores_the_records_of_its_target() -> None:
    assert same_answers("A", ("CNAME db.example.com.",), ("CNAME db.example.com.", "93.184.216.34"))
    assert not same_answers("A", ("CNAME db.example.com.",), ("CNAME other.example.com.",))


# --------------------------------------------------------------------------- the API as a DNS server


def book() -> RecordBook:
    return RecordBook(
        records(REDIS) + records(HEADLESS.replace("web", "db")), "cluster.local", ["my-ns", "test-ns"]
    )


def test_service_parts_read_names_below_svc() -> None:
    assert service_parts("redis-master.my-ns.svc.cluster.local.", "cluster.local") == (
        "redis-master",
        "my-ns",
    )
    assert service_parts("svc.cluster.local.", "cluster.local") is None
    assert service_parts("redis-master.cluster.local.", "cluster.local") is None


def test_namespaces_named_by_candidates_in_order() -> None:
    assert namespaces_named(
        [
            "redis-master.my-ns.test-ns.svc.cluster.local.",
            "redis-master.my-ns.svc.cluster.local.",
            "redis-master.my-ns.cluster.local.",
            "redis-master.svc.cluster.local.",
        ],
        "cluster.local",
    ) == ["test-ns", "my-ns"]


def test_book_answers_what_the_api_says() -> None:
    assert book().answer("redis-master.my-ns.svc.cluster.local.", "A") == Answer(
        "redis-master.my-ns.svc.cluster.local.", "A", "NOERROR", ("10.96.0.7",)
    )


def test_book_answers_nxdomain_for_absent_names_in_known_namespaces_and_the_cluster_domain() -> None:
    assert book().answer("redis-master.test-ns.svc.cluster.local.", "A").rcode == "NXDOMAIN"
    assert book().answer("redis-master.cluster.local.", "A").rcode == "NXDOMAIN"


def test_book_cannot_vouch_for_outside_names_unread_namespaces_or_pod_records() -> None:
    b = book()
    assert b.answer("redis-master.", "A").rcode == UNKNOWN
    assert b.answer("x.other-ns.svc.cluster.local.", "A").rcode == UNKNOWN
    assert b.answer("10-244-0-5.my-ns.pod.cluster.local.", "A").rcode == UNKNOWN
    assert not b.knows("example.com.")


def test_book_answers_a_cname_for_every_type_of_an_externalname() -> None:
    ext = Record("ns/db", "db.ns.svc.cluster.local.", "CNAME", ("db.example.com.",), Kind.EXTERNAL_NAME)
    b = RecordBook([ext], "cluster.local", ["ns"])
    assert b.answer("db.ns.svc.cluster.local.", "A").answers == ("CNAME db.example.com.",)
    assert b.answer("db.ns.svc.cluster.local.", "CNAME").answers == ("db.example.com.",)


def test_book_answers_nodata_for_a_type_a_name_does_not_have() -> None:
    assert book().answer("redis-master.my-ns.svc.cluster.local.", "AAAA") == Answer(
        "redis-master.my-ns.svc.cluster.local.", "AAAA", "NOERROR", ()
    )
