"""A pod's resolver, emulated: the kubelet's resolv.conf and glibc's search walk, with exact names."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

from inspector.dns.answers import UNKNOWN, Answer
from inspector.dns.corefile import cluster_domain_from_corefile
from inspector.dns.querynames import Nameserver, parse_nameserver, validate_qname
from inspector.dns.resolvconf import (
    ResolvConf,
    Stage,
    candidates,
    ndots_explanation,
    resolv_conf,
    walk,
)
from inspector.errors import BadInput
from inspector.model.building import pod_from_api
from tests.conftest import load

CLUSTER_FIRST = resolv_conf("test-ns", "cluster.local")


def qnames(name: str, conf: ResolvConf = CLUSTER_FIRST) -> list[str]:
    return [c.qname for c in candidates(name, conf)]


def pod(spec: str) -> ResolvConf:
    (doc,) = load(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: test-ns}\nspec:\n"
        + "".join(f"  {line}\n" for line in textwrap.dedent(spec).strip().splitlines())
    )
    return resolv_conf("test-ns", "cluster.local", pod_from_api(doc))


# --------------------------------------------------------------------------- resolv.conf


def test_cluster_first_pod_searches_its_namespace_then_svc_then_the_domain_with_ndots_5() -> None:
    assert CLUSTER_FIRST.searches == ("test-ns.svc.cluster.local", "svc.cluster.local", "cluster.local")
    assert CLUSTER_FIRST.ndots == 5
    assert CLUSTER_FIRST.policy == "ClusterFirst"


def test_cluster_domain_is_taken_without_its_trailing_dot() -> None:
    assert resolv_conf("a", "corp.example.").searches == (
        "a.svc.corp.example",
        "svc.corp.example",
        "corp.example",
    )


def test_pod_dns_config_appends_searches_and_overrides_ndots() -> None:
    conf = pod(
        """
        dnsConfig:
          searches: [corp.example, svc.cluster.local]
          options: [{name: ndots, value: "2"}, {name: edns0}]
        """
    )
    assert conf.searches == (
        "test-ns.svc.cluster.local",
        "svc.cluster.local",
        "cluster.local",
        "corp.example",
    )
    assert conf.ndots == 2
    assert conf.pod == "client"


def test_cluster_first_on_the_host_network_falls_back_to_the_node_resolver() -> None:
    conf = pod("hostNetwork: true\ndnsPolicy: ClusterFirst")
    assert conf.searches == ()
    assert conf.ndots == 1
    assert not conf.uses_cluster_dns
    assert "behaves as Default" in conf.notes[0]


def test_cluster_first_with_host_net_keeps_the_cluster_search_list() -> None:
    conf = pod("hostNetwork: true\ndnsPolicy: ClusterFirstWithHostNet")
    assert conf.searches == ("test-ns.svc.cluster.local", "svc.cluster.local", "cluster.local")
    assert conf.ndots == 5
    assert conf.uses_cluster_dns


def test_dns_policy_none_uses_only_the_pods_dns_config() -> None:
    conf = pod(
        """
        dnsPolicy: None
        dnsConfig:
          nameservers: [10.0.0.53]
          searches: [corp.example]
        """
    )
    assert conf.searches == ("corp.example",)
    assert conf.ndots == 1
    assert conf.nameservers == ("10.0.0.53",)
    assert conf.notes == ("the pod asks 10.0.0.53, not the cluster DNS; the inspector asks the cluster DNS",)


def test_ndots_is_read_like_glibc_atoi_and_capped_at_15() -> None:
    assert pod('dnsConfig: {options: [{name: ndots, value: "40"}]}').ndots == 15
    assert pod('dnsConfig: {options: [{name: ndots, value: "x"}]}').ndots == 0


def test_no_tld_query_option_is_carried() -> None:
    assert pod("dnsConfig: {options: [{name: no-tld-query}]}").no_tld_query


def test_the_kubelet_keeps_at_most_32_search_domains() -> None:
    many = ", ".join(f"d{i}.example" for i in range(40))
    conf = pod(f"dnsPolicy: None\ndnsConfig: {{searches: [{many}]}}")
    assert len(conf.searches) == 32
    assert conf.notes[-1] == "the kubelet keeps only the first 32 search domains"


# --------------------------------------------------------------------------- candidates


def test_a_short_name_walks_the_search_list_before_being_tried_as_is() -> None:
    assert qnames("redis-master") == [
        "redis-master.test-ns.svc.cluster.local.",
        "redis-master.svc.cluster.local.",
        "redis-master.cluster.local.",
        "redis-master.",
    ]


def test_a_full_name_below_ndots_still_costs_the_whole_search_list_first() -> None:
    assert qnames("redis-master.my-ns.svc.cluster.local") == [
        "redis-master.my-ns.svc.cluster.local.test-ns.svc.cluster.local.",
        "redis-master.my-ns.svc.cluster.local.svc.cluster.local.",
        "redis-master.my-ns.svc.cluster.local.cluster.local.",
        "redis-master.my-ns.svc.cluster.local.",
    ]


def test_a_trailing_dot_makes_the_name_absolute() -> None:
    assert [
        (c.qname, c.stage) for c in candidates("redis-master.my-ns.svc.cluster.local.", CLUSTER_FIRST)
    ] == [("redis-master.my-ns.svc.cluster.local.", Stage.AS_IS)]


def test_a_name_with_ndots_dots_is_tried_as_is_first_and_not_again() -> None:
    conf = ResolvConf("test-ns", ("test-ns.svc.cluster.local",), ndots=1)
    assert [(c.qname, c.stage) for c in candidates("redis-master.my-ns", conf)] == [
        ("redis-master.my-ns.", Stage.AS_IS),
        ("redis-master.my-ns.test-ns.svc.cluster.local.", Stage.SEARCH),
    ]


def test_no_tld_query_skips_the_as_is_query_of_a_dotless_name() -> None:
    conf = ResolvConf("ns", ("ns.svc.cluster.local",), ndots=5, no_tld_query=True)
    assert qnames("redis", conf) == ["redis.ns.svc.cluster.local."]
    assert qnames("redis.x", conf)[-1] == "redis.x."  # a dotted name is still tried as is


def test_a_root_search_domain_replaces_the_final_as_is_query() -> None:
    conf = ResolvConf("ns", ("a.example", "."), ndots=5)
    assert qnames("host", conf) == ["host.a.example.", "host."]


def test_without_search_list_the_name_is_tried_as_is_once() -> None:
    assert qnames("redis", ResolvConf("ns", (), ndots=1)) == ["redis."]


def test_ndots_explanation_says_why_the_walk_went_that_way() -> None:
    assert ndots_explanation("redis-master", CLUSTER_FIRST) == (
        "0 dot(s) < ndots:5, so the search list comes first"
    )
    assert (
        ndots_explanation("a.b.c.d.e.f", CLUSTER_FIRST)
        == "5 dot(s) >= ndots:5, so the name is tried as is first"
    )
    assert ndots_explanation("x.", CLUSTER_FIRST) == "a trailing dot makes the name absolute: no search list"


# --------------------------------------------------------------------------- the walk


def replies(table: dict[str, tuple[str, tuple[str, ...]]]) -> tuple[list[str], Callable[[str], Answer]]:
    asked: list[str] = []

    def ask(qname: str) -> Answer:
        asked.append(qname)
        rcode, answers = table.get(qname, ("NXDOMAIN", ()))
        return Answer(qname, "A", rcode, answers)

    return asked, ask


def test_walk_stops_at_the_first_noerror_answer() -> None:
    asked, ask = replies({"redis-master.svc.cluster.local.": ("NOERROR", ("10.96.0.7",))})
    result = walk(candidates("redis-master", CLUSTER_FIRST), ask)
    assert asked == ["redis-master.test-ns.svc.cluster.local.", "redis-master.svc.cluster.local."]
    assert result.answered == Answer("redis-master.svc.cluster.local.", "A", "NOERROR", ("10.96.0.7",))
    assert result.queries == 2


def test_walk_of_a_name_that_exists_nowhere_costs_four_queries_and_answers_nothing() -> None:
    _, ask = replies({"redis-master.": ("SERVFAIL", ())})
    result = walk(candidates("redis-master", CLUSTER_FIRST), ask)
    assert result.answered is None
    assert [a.rcode for a in result.attempts] == ["NXDOMAIN", "NXDOMAIN", "NXDOMAIN", "SERVFAIL"]


def test_walk_goes_on_after_nodata_and_servfail_in_the_search_list() -> None:
    asked, ask = replies(
        {
            "x.test-ns.svc.cluster.local.": ("NOERROR", ()),
            "x.svc.cluster.local.": ("SERVFAIL", ()),
            "x.cluster.local.": ("NOERROR", ("10.0.0.1",)),
        }
    )
    result = walk(candidates("x", CLUSTER_FIRST), ask)
    assert result.answered is not None and result.answered.qname == "x.cluster.local."
    assert len(asked) == 3


def test_a_refused_answer_ends_the_search_list_but_the_name_is_still_tried_as_is() -> None:
    asked, ask = replies({"x.test-ns.svc.cluster.local.": ("REFUSED", ())})
    walk(candidates("x", CLUSTER_FIRST), ask)
    assert asked == ["x.test-ns.svc.cluster.local.", "x."]


def test_an_nxdomain_answer_with_records_is_not_an_answer() -> None:
    asked, ask = replies({"x.test-ns.svc.cluster.local.": ("NXDOMAIN", ("CNAME gone.example.",))})
    assert walk(candidates("x", CLUSTER_FIRST), ask).answered is None
    assert len(asked) == 4


def test_unknown_answers_of_the_api_do_not_end_the_search_list() -> None:
    asked, ask = replies({"x.test-ns.svc.cluster.local.": (UNKNOWN, ())})
    walk(candidates("x", CLUSTER_FIRST), ask)
    assert len(asked) == 4


# --------------------------------------------------------------------------- names and servers


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a" * 64, "label 'aaaaaaaaaaaaaaaaaaaa'... has 64 characters, at most 63 allowed"),
        ("a..b", "it has an empty label (two dots, or a leading dot)"),
        (".a", "it has an empty label (two dots, or a leading dot)"),
        (
            "bad!name",
            "label 'bad!name' may hold only letters, digits, '-' and '_', and may not start or end with '-'",
        ),
        ("-x", "label '-x' may hold only letters, digits, '-' and '_', and may not start or end with '-'"),
        ("", "it is empty"),
        (".", "it is empty"),
        ("a." * 127 + "b", "255 characters, at most 253 allowed"),
    ],
)
def test_malformed_names_are_bad_input_with_the_reason(name: str, message: str) -> None:
    with pytest.raises(BadInput) as err:
        validate_qname(name)
    assert str(err.value) == f"invalid DNS name {name!r}: {message}"


def test_valid_names_are_lowercased_and_keep_their_trailing_dot() -> None:
    assert validate_qname("Redis-Master.My-NS.") == "redis-master.my-ns."
    assert validate_qname("_redis._tcp.redis-master") == "_redis._tcp.redis-master"


@pytest.mark.parametrize(
    ("text", "server"),
    [
        ("127.0.0.1:25353", Nameserver("127.0.0.1", 25353)),
        ("10.96.0.10", Nameserver("10.96.0.10", 53)),
        ("[::1]:5353", Nameserver("::1", 5353)),
        ("fd00::10", Nameserver("fd00::10", 53)),
    ],
)
def test_dns_server_is_host_and_optional_port(text: str, server: Nameserver) -> None:
    assert parse_nameserver(text) == server


def test_dns_server_label_says_where_it_came_from() -> None:
    assert parse_nameserver("[::1]:5353", "INSPECTOR_DNS_SERVER").label == "[::1]:5353 (INSPECTOR_DNS_SERVER)"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("dns.example:53", "'dns.example' is not an IP address"),
        ("127.0.0.1:0", "port '0' is not 1-65535"),
        ("127.0.0.1:x", "port 'x' is not 1-65535"),
        ("[::1", "use HOST[:PORT] or [IPv6]:PORT"),
        (":53", "no host"),
    ],
)
def test_bad_dns_servers_are_bad_input(text: str, reason: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_nameserver(text)
    assert str(err.value) == f"invalid DNS server {text!r} (--dns-server): {reason}"


KUBEADM_COREFILE = """\
.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
}
"""


@pytest.mark.parametrize(
    ("corefile", "domain"),
    [
        (KUBEADM_COREFILE, "cluster.local"),
        (KUBEADM_COREFILE.replace("kubernetes cluster.local", "kubernetes corp.example"), "corp.example"),
        (
            "cluster.internal:53 {\n    kubernetes in-addr.arpa Cluster.Internal. {\n    }\n}\n",
            "cluster.internal",
        ),
        ("kubernetes cluster.local\n", "cluster.local"),
        (".:53 {\n    kubernetes in-addr.arpa ip6.arpa\n}\n", None),
        (".:53 {\n    kubernetes {\n       pods insecure\n    }\n}\n", None),
        (".:53 {\n    forward . 1.1.1.1\n}\n", None),
        ("    # kubernetes commented.out\n", None),
        ("kubernetes bad_zone!\n", None),
    ],
    ids=[
        "kubeadm",
        "custom",
        "zone-block-and-case",
        "no-block",
        "reverse-only",
        "no-zone",
        "no-plugin",
        "commented",
        "invalid",
    ],
)
def test_cluster_domain_is_the_first_forward_zone_of_the_kubernetes_plugin(corefile: str, domain: str | None):
    assert cluster_domain_from_corefile(corefile) == domain
