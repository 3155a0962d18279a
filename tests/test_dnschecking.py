"""The DNS oracle: answers judged against the API's records, findings with exact messages, and the
verdict of one `resolve`."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from inspector.dns.answers import Answer, Failure
from inspector.dns.oracle import check_record, check_records, judge, nothing_answered
from inspector.dns.records import Kind, Record, RecordBook, version_record
from inspector.dns.resolvconf import candidates, resolv_conf, walk
from inspector.live.asking import records_for_report, with_dns_findings
from inspector.model.findings import Severity
from tests.conftest import inspect_manifests

SERVER = "127.0.0.1:25353 (--dns-server)"
FQDN = "redis-master.my-ns.svc.cluster.local."
A = Record("my-ns/redis-master", FQDN, "A", ("10.96.0.7",), Kind.SERVICE)
SRV = Record("my-ns/redis-master", f"_redis._tcp.{FQDN}", "SRV", (f"6379 {FQDN}",), Kind.SRV, "redis")
GONE = Record("my-ns/web", "web.my-ns.svc.cluster.local.", "A", (), Kind.SERVICE)

REDIS = """
apiVersion: v1
kind: Service
metadata: {name: redis-master, namespace: my-ns}
spec:
  clusterIP: 10.96.0.7
  selector: {app: redis}
  ports: [{name: redis, port: 6379}]
"""


def codes(record: Record, outcome: Answer | Failure) -> list[str]:
    return [f.code for f in check_record(record, outcome, SERVER).findings]


def test_matching_answer_is_ok() -> None:
    check = check_record(A, Answer(FQDN, "A", "NOERROR", ("10.96.0.7",)), SERVER)
    assert check.ok
    assert check.answer == Answer(FQDN, "A", "NOERROR", ("10.96.0.7",))


def test_nxdomain_for_an_existing_service_is_dns_nxdomain() -> None:
    (f,) = check_record(A, Answer(FQDN, "A", "NXDOMAIN"), SERVER).findings
    assert f.code == "dns-nxdomain"
    assert f.severity is Severity.ERROR
    assert f.message == (
        "redis-master.my-ns.svc.cluster.local. (A) does not exist in the cluster DNS (NXDOMAIN), but the API "
        "says it should answer 10.96.0.7: clients using this name fail to resolve it"
    )
    assert f.details["service"] == "my-ns/redis-master"


def test_other_address_is_dns_mismatch_with_expected_and_got() -> None:
    (f,) = check_record(A, Answer(FQDN, "A", "NOERROR", ("10.96.0.99",)), SERVER).findings
    assert f.code == "dns-mismatch"
    assert f.message.startswith(
        "redis-master.my-ns.svc.cluster.local. (A) answers 10.96.0.99, but the API says 10.96.0.7: "
    )
    assert (f.details["expectedAnswers"], f.details["answers"]) == (["10.96.0.7"], ["10.96.0.99"])


def test_servfail_is_a_mismatch_that_says_the_rcode() -> None:
    (f,) = check_record(A, Answer(FQDN, "A", "SERVFAIL"), SERVER).findings
    assert f.code == "dns-mismatch"
    assert "answers SERVFAIL with no records, but the API says 10.96.0.7" in f.message


@pytest.mark.parametrize(
    "answer",
    [Answer(SRV.qname, "SRV", "NXDOMAIN"), Answer(SRV.qname, "SRV", "NOERROR")],
    ids=["nxdomain", "nodata"],
)
def test_absent_srv_record_is_dns_missing_srv(answer: Answer) -> None:
    (f,) = check_record(SRV, answer, SERVER).findings
    assert f.code == "dns-missing-srv"
    assert f.message == (
        "SRV record _redis._tcp.redis-master.my-ns.svc.cluster.local. for named port redis is missing "
        "(expected 6379 redis-master.my-ns.svc.cluster.local.): clients that discover ports by SRV cannot find it"
    )


def test_srv_answer_with_another_port_is_a_mismatch() -> None:
    assert codes(SRV, Answer(SRV.qname, "SRV", "NOERROR", (f"0 100 6380 {FQDN}",))) == ["dns-mismatch"]


def test_srv_answer_with_priority_and_weight_matches() -> None:
    assert codes(SRV, Answer(SRV.qname, "SRV", "NOERROR", (f"0 100 6379 {FQDN}",))) == []


def test_headless_service_without_ready_endpoints_must_answer_nxdomain() -> None:
    assert codes(GONE, Answer(GONE.qname, "A", "NXDOMAIN")) == []
    (f,) = check_record(GONE, Answer(GONE.qname, "A", "NOERROR", ("10.244.0.5",)), SERVER).findings
    assert f.code == "dns-mismatch"
    assert "answers 10.244.0.5, but the API says NXDOMAIN (no ready endpoint)" in f.message


def test_no_answer_from_the_server_is_dns_unreachable() -> None:
    check = check_record(A, Failure("no answer within 2s, 2 tries"), SERVER)
    (f,) = check.findings
    assert (check.answer, check.failure) == (None, "no answer within 2s, 2 tries")
    assert f.code == "dns-unreachable"
    assert f.message == (
        "the cluster DNS at 127.0.0.1:25353 (--dns-server) did not answer redis-master.my-ns.svc.cluster.local. "
        "(no answer within 2s, 2 tries): name resolution cannot be checked"
    )


def test_server_that_answered_nothing_is_unreachable_not_wrong() -> None:
    outcomes: dict[tuple[str, str], Answer | Failure] = {
        (A.qname, "A"): Failure("timeout"),
        (SRV.qname, "SRV"): Failure("timeout"),
    }
    assert nothing_answered(check_records([A, SRV], outcomes, SERVER))
    outcomes[(A.qname, "A")] = Answer(FQDN, "A", "NOERROR", ("10.96.0.7",))
    assert not nothing_answered(check_records([A, SRV], outcomes, SERVER))
    assert not nothing_answered([])


def test_dns_findings_join_their_services_findings_in_the_report() -> None:
    report = inspect_manifests(REDIS)
    records = records_for_report(report, "cluster.local")
    checks = check_records(
        records, {(r.qname, r.qtype): Answer(r.qname, r.qtype, "NXDOMAIN") for r in records}, SERVER
    )
    merged = with_dns_findings(report, checks)
    assert [f.code for f in merged.services[0].findings][-3:] == [
        "dns-nxdomain",
        "dns-missing-srv",
        "dns-missing-ptr",
    ]
    assert merged.count(Severity.ERROR) == report.count(Severity.ERROR) + 3
    assert not merged.ok


# --------------------------------------------------------------------------- resolve


def dns(table: dict[str, tuple[str, ...]]) -> Callable[[str], Answer]:
    def ask(qname: str) -> Answer:
        if qname in table:
            return Answer(qname, "A", "NOERROR", table[qname])
        return Answer(qname, "A", "SERVFAIL" if qname.count(".") == 1 else "NXDOMAIN")

    return ask


BOOK = RecordBook([A], "cluster.local", ["my-ns", "test-ns"])


def resolve(name: str, namespace: str, table: dict[str, tuple[str, ...]]) -> tuple[bool | None, bool, int]:
    conf = resolv_conf(namespace, "cluster.local")
    cands = candidates(name, conf)
    res = judge(name, "A", conf, SERVER, cands, walk(cands, dns(table)), BOOK)
    return res.match, res.ok, res.walk.queries


def test_short_name_from_its_own_namespace_matches_in_one_query() -> None:
    assert resolve("redis-master", "my-ns", {FQDN: ("10.96.0.7",)}) == (True, True, 1)


def test_short_name_from_another_namespace_fails_as_the_api_says_after_four_queries() -> None:
    assert resolve("redis-master", "test-ns", {FQDN: ("10.96.0.7",)}) == (True, False, 4)


def test_name_with_namespace_resolves_from_anywhere_in_two_queries() -> None:
    assert resolve("redis-master.my-ns", "test-ns", {FQDN: ("10.96.0.7",)}) == (True, True, 2)


def test_stale_answer_does_not_match() -> None:
    assert resolve("redis-master", "my-ns", {FQDN: ("10.96.0.1",)}) == (False, False, 1)


def test_missing_record_does_not_match() -> None:
    assert resolve("redis-master", "my-ns", {}) == (False, False, 4)


def test_answer_from_a_name_the_api_has_no_service_for_does_not_match() -> None:
    table = {"redis-master.test-ns.svc.cluster.local.": ("10.96.0.50",)}
    assert resolve("redis-master", "test-ns", table) == (False, False, 1)


def test_answer_from_outside_the_cluster_zones_cannot_be_judged_but_resolves() -> None:
    assert resolve("example.com", "test-ns", {"example.com.": ("93.184.216.34",)}) == (None, True, 4)


def test_resolution_names_the_expected_candidate() -> None:
    conf = resolv_conf("test-ns", "cluster.local")
    cands = candidates("redis-master.my-ns", conf)
    res = judge("redis-master.my-ns", "A", conf, SERVER, cands, walk(cands, dns({})), BOOK)
    assert res.expected == Answer(FQDN, "A", "NOERROR", ("10.96.0.7",))
    assert res.answer is None
    assert res.match is False


# --------------------------------------------------------------------------- PTR, pod records, dns-version

PTR = Record("my-ns/redis-master", "7.0.96.10.in-addr.arpa.", "PTR", (FQDN,), Kind.PTR, detail="10.96.0.7")


def test_ptr_pointing_elsewhere_is_dns_missing_ptr_with_its_ip() -> None:
    got = Answer(PTR.qname, "PTR", "NOERROR", ("other.my-ns.svc.cluster.local.",))
    (f,) = check_record(PTR, got, SERVER).findings
    assert (f.code, f.message) == (
        "dns-missing-ptr",
        "7.0.96.10.in-addr.arpa. (PTR) answers other.my-ns.svc.cluster.local., but the API says it should "
        "point at redis-master.my-ns.svc.cluster.local.: reverse lookups of 10.96.0.7 (dig -x, logging, TLS "
        "and SSH name checks) do not find the Service's name",
    )


def test_ptr_among_other_ptrs_of_the_same_ip_is_ok() -> None:
    got = Answer(PTR.qname, "PTR", "NOERROR", ("other.my-ns.svc.cluster.local.", FQDN))
    assert check_record(PTR, got, SERVER).ok


def test_unserved_ptr_servfail_is_dns_missing_ptr() -> None:
    (f,) = check_record(PTR, Answer(PTR.qname, "PTR", "SERVFAIL"), SERVER).findings
    assert f.code == "dns-missing-ptr"
    assert "answers SERVFAIL with no records" in f.message


def pod_record(mode: str) -> Record:
    answers = ("10.244.0.5",) if mode != "disabled" else ()
    return Record("my-ns/web", "10-244-0-5.my-ns.pod.cluster.local.", "A", answers, Kind.POD, detail=mode)


def test_missing_pod_record_when_the_corefile_serves_pods() -> None:
    record = pod_record("insecure")
    (f,) = check_record(record, Answer(record.qname, "A", "NXDOMAIN"), SERVER).findings
    assert (f.code, f.message) == (
        "dns-missing-pod-record",
        "pod record 10-244-0-5.my-ns.pod.cluster.local. (A) answers NXDOMAIN with no records, but the "
        "Corefile serves pod records (pods insecure) and the API says 10.244.0.5: clients using the pod's "
        "dashed-IP name fail to resolve it",
    )
    assert check_record(record, Answer(record.qname, "A", "NOERROR", ("10.244.0.5",)), SERVER).ok


def test_pod_record_answered_with_pods_disabled_is_a_mismatch() -> None:
    record = pod_record("disabled")
    (f,) = check_record(record, Answer(record.qname, "A", "NOERROR", ("10.244.0.5",)), SERVER).findings
    assert f.code == "dns-mismatch"
    assert "the API says NXDOMAIN (the Corefile says pods disabled)" in f.message
    assert check_record(record, Answer(record.qname, "A", "NXDOMAIN"), SERVER).ok


def test_dns_version_txt_must_answer_the_specification_version() -> None:
    record = version_record("cluster.local")
    assert (record.qname, record.qtype, record.answers) == ("dns-version.cluster.local.", "TXT", ('"1.1.0"',))
    assert check_record(record, Answer(record.qname, "TXT", "NOERROR", ('"1.1.0"',)), SERVER).ok
    (f,) = check_record(record, Answer(record.qname, "TXT", "NXDOMAIN"), SERVER).findings
    assert f.code == "dns-nxdomain"
