"""Every DNS replica asked the same questions: who disagrees, who answers nothing."""

from __future__ import annotations

from inspector.dns.answers import Answer, Failure, Outcome
from inspector.dns.records import Kind, Record
from inspector.dns.replicas import Replica, disagreements, unreachable

FQDN = "web.shop.svc.cluster.local."
A = Record("shop/web", FQDN, "A", ("10.96.0.7",), Kind.SERVICE)
SRV = Record("shop/web", "_http._tcp." + FQDN, "SRV", ("80 " + FQDN,), Kind.SRV, "http")
ONE = Replica("kube-system/coredns-a", "10.88.0.5", True, 0, "10.88.0.5:53", "direct")
TWO = Replica("kube-system/coredns-b", "10.88.0.6", True, 3, "10.88.0.6:53", "direct")


def answered(
    a: tuple[str, ...], srv: tuple[str, ...] = ("0 100 80 " + FQDN,)
) -> dict[tuple[str, str], Outcome]:
    return {
        (A.qname, "A"): Answer(A.qname, "A", "NOERROR" if a else "NXDOMAIN", a),
        (SRV.qname, "SRV"): Answer(SRV.qname, "SRV", "NOERROR", srv),
    }


def test_replicas_that_answer_alike_do_not_disagree() -> None:
    assert disagreements([A, SRV], {ONE: answered(("10.96.0.7",)), TWO: answered(("10.96.0.7",))}) == []


def test_replica_with_a_stale_answer_is_named_with_what_it_said() -> None:
    (f,) = disagreements([A, SRV], {TWO: answered(("10.96.0.99",)), ONE: answered(("10.96.0.7",))})
    assert f.code == "dns-replicas-disagree"
    assert f.message == (
        "the DNS replicas disagree on web.shop.svc.cluster.local. (A): kube-system/coredns-a (10.88.0.5) says "
        "10.96.0.7; kube-system/coredns-b (10.88.0.6) says 10.96.0.99: clients get a different answer depending "
        "on which replica the Service sends them to"
    )
    assert f.details["service"] == "shop/web"
    assert f.details["replicas"] == {
        "kube-system/coredns-a (10.88.0.5)": "10.96.0.7",
        "kube-system/coredns-b (10.88.0.6)": "10.96.0.99",
    }


def test_nxdomain_against_an_answer_is_a_disagreement() -> None:
    (f,) = disagreements([A], {ONE: answered(("10.96.0.7",)), TWO: answered(())})
    assert "kube-system/coredns-b (10.88.0.6) says NXDOMAIN" in f.message


def test_a_failure_to_answer_is_not_a_disagreement() -> None:
    failed: dict[tuple[str, str], Outcome] = {(A.qname, "A"): Failure("timeout")}
    assert disagreements([A], {ONE: answered(("10.96.0.7",)), TWO: failed}) == []


def test_replica_that_answered_nothing_is_unreachable() -> None:
    outcomes: dict[tuple[str, str], Outcome] = {
        (A.qname, "A"): Failure("connection refused"),
        (SRV.qname, "SRV"): Failure("connection refused"),
    }
    f = unreachable(TWO, outcomes)
    assert f is not None
    assert (f.code, f.severity.value) == ("dns-replica-unreachable", "error")
    assert f.message == (
        "DNS replica kube-system/coredns-b (10.88.0.6) did not answer (connection refused): the share of "
        "queries the Service sends it times out or fails"
    )
    assert f.details["pod"] == "kube-system/coredns-b"


def test_replica_that_answered_something_is_reachable() -> None:
    outcomes = answered(("10.96.0.7",))
    outcomes[(A.qname, "A")] = Failure("timeout")
    assert unreachable(ONE, outcomes) is None
