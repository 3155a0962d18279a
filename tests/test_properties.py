"""Properties of the pure core on generated inputs (hypothesis).

Selector matching is compared with a brute-force oracle; the search walk with glibc's rules (and the
kubelet's way of writing resolv.conf); snapshot building and inspection run on arbitrary schema-valid
API objects, and the builders also on JSON garbage inside their fields: nothing raises, and the
report's invariants hold. The `@example`s pin the falsifying inputs of bugs these properties found.
"""

from __future__ import annotations

import ipaddress
import json
import re
import string
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from inspector.diagnosis.endpoints import Endpoint
from inspector.diagnosis.report import Report, inspect_snapshot
from inspector.dns.answers import UNKNOWN, Answer
from inspector.dns.querynames import MAX_LABEL, MAX_NAME, validate_qname
from inspector.dns.resolvconf import (
    CONTINUE_SEARCH,
    MAX_NDOTS,
    MAX_SEARCH_CHARS,
    MAX_SEARCH_PATHS,
    ResolvConf,
    Stage,
    answered,
    candidates,
    cluster_searches,
    resolv_conf,
    walk,
)
from inspector.errors import BadInput
from inspector.model.building import (
    SERVICE_NAME_LABEL,
    endpointslice_from_api,
    endpointslices_from_legacy_endpoints,
    node_from_api,
    pod_from_api,
    service_from_api,
    snapshot_from_manifests,
    workload_from_api,
)
from inspector.model.findings import CATALOGUE, Severity
from inspector.model.selectors import LabelIndex, format_selector, near_misses, parse_selector
from inspector.model.snapshot import Pod, Service
from inspector.output.documents import dump, report_json, summary_json
from inspector.output.text import explain

# the labels the EndpointSlice controller puts on its slices (the inspector reads neither)
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_MANAGED_BY = "endpointslice-controller.k8s.io"

# sized so the whole file runs in well under 20 s; raise max_examples locally to search harder
QUICK = settings(max_examples=75, deadline=None)
CLUSTER = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

# --------------------------------------------------------------------------- names the API accepts

LOWER_ALNUM = string.ascii_lowercase + string.digits
ALNUM = string.ascii_letters + string.digits


def names(edge: str, middle: str, max_size: int = MAX_LABEL) -> st.SearchStrategy[str]:
    """1 to max_size characters of `middle`, beginning and ending with one of `edge`."""
    ends = st.sampled_from(edge)
    return ends | st.builds(lambda a, m, z: a + m + z, ends, st.text(middle, max_size=max_size - 2), ends)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The value, or None for a field the object leaves out."""
    return st.none() | strategy


def present(**fields: Any) -> dict[str, Any]:
    """A JSON object without the fields drawn as absent (the API omits empty fields)."""
    return {k: v for k, v in fields.items() if v is not None}


DNS_LABELS = names(LOWER_ALNUM, LOWER_ALNUM + "-")  # DNS-1123 label: namespaces, pods, nodes
SHORT_NAMES = names(LOWER_ALNUM, LOWER_ALNUM + "-", max_size=20)
SERVICE_NAMES = st.builds(  # DNS-1035 label, short enough for a suffix
    lambda first, rest: first + rest, st.sampled_from(string.ascii_lowercase), st.just("") | SHORT_NAMES
)
SUBDOMAINS = st.lists(DNS_LABELS, min_size=1, max_size=4).map(
    lambda labels: ".".join(labels)[:253].rstrip(".-")
)
NAMESPACES = st.sampled_from(["default", "shop", "kube-system"]) | SHORT_NAMES
LABEL_NAMES = names(ALNUM, ALNUM + "-_.")
LABEL_KEYS = st.sampled_from(["app", "tier", "version", "app.kubernetes.io/name"]) | st.builds(
    lambda prefix, name: f"{prefix}/{name}" if prefix else name, maybe(SUBDOMAINS), LABEL_NAMES
)
LABEL_VALUES = st.sampled_from(["", "web", "db", "v1", "v2"]) | LABEL_NAMES
LABELS = st.dictionaries(LABEL_KEYS, LABEL_VALUES, max_size=4)
IANA_SVC_NAMES = st.sampled_from(["http", "https", "grpc", "metrics", "dns-tcp"]) | st.builds(
    lambda letters, rest: letters + rest,
    st.text(string.ascii_lowercase, min_size=1, max_size=8),
    st.text(LOWER_ALNUM, max_size=7),
)
PORT_NUMBERS = st.sampled_from([53, 80, 443, 8080]) | st.integers(1, 65535)
PROTOCOLS = st.sampled_from(["TCP", "UDP", "SCTP"])
IPV4 = st.ip_addresses(v=4).map(str)
IPV6 = st.ip_addresses(v=6).map(str)
IPS = IPV4 | IPV6
FAMILIES = {"IPv4": IPV4, "IPv6": IPV6}
TIMESTAMP = st.just("2024-05-01T12:00:00Z")


def subset_of(labels: Mapping[str, str]) -> st.SearchStrategy[dict[str, str]]:
    if not labels:
        return st.just({})
    return st.sets(st.sampled_from(sorted(labels))).map(lambda keys: {k: labels[k] for k in keys})


def conditions(*types: str) -> st.SearchStrategy[list[dict[str, str]]]:
    return st.lists(
        st.fixed_dictionaries(
            {"type": st.sampled_from(types), "status": st.sampled_from(["True", "False", "Unknown"])}
        ),
        max_size=len(types),
        unique_by=lambda c: c["type"],
    )


# --------------------------------------------------------------------------- schema-valid objects

CONTAINERS = st.builds(
    lambda name, ports: present(name=name, image="registry.k8s.io/pause:3.9", ports=ports or None),
    SHORT_NAMES,
    st.lists(
        st.builds(
            lambda number, protocol, name: present(containerPort=number, protocol=protocol, name=name),
            PORT_NUMBERS,
            maybe(PROTOCOLS),
            maybe(IANA_SVC_NAMES),
        ),
        max_size=3,
    ),
)
SIDECARS = st.builds(
    lambda c, policy: present(**c, restartPolicy=policy), CONTAINERS, maybe(st.just("Always"))
)
SEARCH_DOMAINS = SUBDOMAINS | SUBDOMAINS.map(lambda s: s + ".")  # the API accepts a trailing dot
NDOTS_VALUES = (
    st.none()
    | st.just("")
    | st.integers(0, 20).map(str)
    | st.builds(lambda n, junk: f"{n}{junk}", st.integers(0, 20), st.sampled_from(["x", "abc"]))
    | st.sampled_from(["x", " 3"])
)
DNS_OPTIONS = st.lists(
    st.builds(
        lambda name, value: present(name=name, value=value),
        st.sampled_from(["ndots", "ndots", "timeout", "attempts", "edns0", "no-tld-query"]),
        NDOTS_VALUES,
    ),
    max_size=3,
)


def dns_configs(long_searches: bool) -> st.SearchStrategy[dict[str, Any]]:
    searches = st.lists(SEARCH_DOMAINS, max_size=4)
    if long_searches:  # the API takes 32; with the cluster's 3 the kubelet must cut
        searches |= st.lists(SEARCH_DOMAINS, min_size=30, max_size=32)
    return st.builds(
        lambda servers, searches, options: present(
            nameservers=servers or None, searches=searches or None, options=options or None
        ),
        st.lists(IPS, max_size=3),
        searches,
        DNS_OPTIONS,
    )


DNS_CONFIGS = dns_configs(long_searches=False)
LONG_DNS_CONFIGS = dns_configs(long_searches=True)
DNS_POLICIES = st.sampled_from(["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"])
OWNER_REFERENCES = st.builds(
    lambda kind, owner, controller: [
        present(apiVersion="apps/v1", kind=kind, name=owner, uid="u1", controller=controller)
    ],
    st.sampled_from(["ReplicaSet", "StatefulSet", "DaemonSet", "Job"]),
    SHORT_NAMES,
    maybe(st.booleans()),
)


def draw_pod(
    draw: st.DrawFn,
    namespace: str | None,
    name: str,
    ips: tuple[str, ...],
    nodes: tuple[str, ...] = (),
    label_pool: tuple[Mapping[str, str], ...] = (),
    dns_config: st.SearchStrategy[dict[str, Any]] = DNS_CONFIGS,
) -> dict[str, Any]:
    containers = draw(st.lists(CONTAINERS, min_size=1, max_size=3))
    sidecars = draw(st.lists(SIDECARS, max_size=1))
    seen: set[str] = set()
    for c in containers + sidecars:  # port names are unique within a pod
        for p in c.get("ports", []):
            if p.get("name") in seen:
                del p["name"]
            seen.add(p.get("name", ""))
    status: dict[str, Any] = present(
        phase=draw(maybe(st.sampled_from(["Pending", "Running", "Succeeded", "Failed", "Unknown"]))),
        conditions=draw(maybe(conditions("Ready", "ContainersReady", "Initialized", "PodScheduled"))),
    )
    if ips:
        shape = draw(st.sampled_from(["both", "podIP", "podIPs"]))
        if shape != "podIPs":
            status["podIP"] = ips[0]
        if shape != "podIP":
            status["podIPs"] = [{"ip": ip} for ip in ips]
    labels = draw(st.sampled_from(label_pool) | LABELS if label_pool else LABELS)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": present(
            name=name,
            namespace=namespace,
            labels=dict(labels) or None,
            deletionTimestamp=draw(maybe(TIMESTAMP)),
            ownerReferences=draw(maybe(OWNER_REFERENCES)),
        ),
        "spec": present(
            containers=containers,
            initContainers=sidecars or None,
            nodeName=draw(maybe(st.sampled_from(nodes) if nodes else SHORT_NAMES)),
            hostNetwork=draw(maybe(st.booleans())),
            dnsPolicy=draw(maybe(DNS_POLICIES)),
            dnsConfig=draw(maybe(dns_config)),
            hostname=draw(maybe(SHORT_NAMES)),
            subdomain=draw(maybe(SHORT_NAMES)),
        ),
        "status": status,
    }


@st.composite
def pod_manifests(draw: st.DrawFn, long_searches: bool = False) -> dict[str, Any]:
    v4, v6 = draw(IPV4), draw(IPV6)
    ips = draw(st.sampled_from([(), (v4,), (v6,), (v4, v6), (v6, v4)]))
    config = LONG_DNS_CONFIGS if long_searches else DNS_CONFIGS
    return draw_pod(draw, draw(maybe(NAMESPACES)), draw(DNS_LABELS), ips, dns_config=config)


def draw_service(
    draw: st.DrawFn,
    namespace: str | None,
    name: str,
    label_pool: tuple[Mapping[str, str], ...] = (),
    port_names: tuple[str, ...] = (),
) -> dict[str, Any]:
    kind = draw(maybe(st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"])))
    effective = kind or "ClusterIP"
    selectors = st.none() | st.just({}) | LABELS
    if label_pool:  # often a part of some pod's labels
        selectors |= st.sampled_from(label_pool).flatmap(subset_of)
    numbers = draw(st.lists(PORT_NUMBERS, max_size=3, unique=True))
    port_names_drawn = draw(
        st.lists(IANA_SVC_NAMES, min_size=len(numbers), max_size=len(numbers), unique=True)
    )
    named = len(numbers) > 1 or draw(st.booleans())  # several ports must all be named
    targets = st.integers(1, 65535) | IANA_SVC_NAMES
    if port_names:
        targets |= st.sampled_from(port_names)
    node_ports = maybe(st.integers(30000, 32767)) if effective in ("NodePort", "LoadBalancer") else st.none()
    ports = [
        present(
            name=port_name if named else None,
            port=number,
            protocol=draw(maybe(PROTOCOLS)),
            targetPort=draw(maybe(targets)),
            nodePort=draw(node_ports),
        )
        for number, port_name in zip(numbers, port_names_drawn, strict=True)
    ]
    spec: dict[str, Any] = present(
        type=kind,
        selector=draw(selectors),
        ports=ports or None,
        publishNotReadyAddresses=draw(maybe(st.booleans())),
    )
    status: dict[str, Any] = {}
    if effective == "ExternalName":
        spec["externalName"] = draw(SUBDOMAINS)
    elif effective == "ClusterIP" and draw(st.booleans()):
        spec |= {"clusterIP": "None", "clusterIPs": ["None"]}
    elif draw(st.booleans()):  # else a manifest leaves the cluster IPs to the API server
        families = draw(st.sampled_from([None, ["IPv4"], ["IPv6"], ["IPv4", "IPv6"], ["IPv6", "IPv4"]]))
        cluster_ips = [draw(FAMILIES[f]) for f in families or ["IPv4"]]
        spec |= present(clusterIP=cluster_ips[0], clusterIPs=cluster_ips, ipFamilies=families)
    if effective in ("NodePort", "LoadBalancer"):
        spec |= present(externalTrafficPolicy=draw(maybe(st.sampled_from(["Cluster", "Local"]))))
    if effective == "LoadBalancer":
        spec |= present(allocateLoadBalancerNodePorts=draw(maybe(st.booleans())))
        ingress = draw(
            st.lists(
                st.builds(lambda ip: {"ip": ip}, IPS) | st.builds(lambda h: {"hostname": h}, SUBDOMAINS),
                max_size=2,
            )
        )
        status = {"loadBalancer": {"ingress": ingress}} if ingress else {}
    return present(
        apiVersion="v1",
        kind="Service",
        metadata=present(name=name, namespace=namespace, labels=draw(LABELS) or None),
        spec=spec,
        status=status or None,
    )


@st.composite
def service_manifests(draw: st.DrawFn) -> dict[str, Any]:
    return draw_service(draw, draw(maybe(NAMESPACES)), draw(SERVICE_NAMES))


SLICE_CONDITIONS = st.builds(
    present, ready=maybe(st.booleans()), serving=maybe(st.booleans()), terminating=maybe(st.booleans())
)
SLICE_PORTS = st.lists(
    st.builds(
        lambda port, protocol, name: present(port=port, protocol=protocol, name=name),
        maybe(PORT_NUMBERS),
        maybe(PROTOCOLS),
        maybe(IANA_SVC_NAMES | st.just("")),
    ),
    max_size=3,
)


def draw_slice(
    draw: st.DrawFn,
    namespace: str | None,
    services: tuple[str, ...] = (),
    pods: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
) -> dict[str, Any]:
    address_type = draw(st.sampled_from(["IPv4", "IPv6", "FQDN"]))
    addresses = {"IPv4": IPV4, "IPv6": IPV6, "FQDN": SUBDOMAINS}[address_type]
    pod_ips = [ip for ip in ips if address_type != "FQDN" and (":" in ip) == (address_type == "IPv6")]
    if pod_ips:  # mostly the addresses of the cluster's pods
        addresses = st.sampled_from(pod_ips) | addresses
    targets = st.builds(
        lambda pod, ns: present(kind="Pod", name=pod, namespace=ns),
        st.sampled_from(pods) if pods else SHORT_NAMES,
        maybe(st.just(namespace)),
    )
    endpoint = st.builds(
        lambda addrs, cond, ref, node, host: present(
            addresses=addrs, conditions=cond, targetRef=ref, nodeName=node, hostname=host
        ),
        st.lists(addresses, min_size=1, max_size=2),
        maybe(SLICE_CONDITIONS),
        maybe(targets),
        maybe(SHORT_NAMES),
        maybe(SHORT_NAMES),
    )
    labels = present(
        **{
            SERVICE_NAME_LABEL: draw(
                maybe(st.sampled_from(services) | SERVICE_NAMES if services else SERVICE_NAMES)
            ),
            MANAGED_BY_LABEL: draw(maybe(st.sampled_from([CONTROLLER_MANAGED_BY, "staff"]))),
        }
    )
    return present(
        apiVersion="discovery.k8s.io/v1",
        kind="EndpointSlice",
        metadata=present(name=draw(SHORT_NAMES), namespace=namespace, labels=labels or None),
        addressType=address_type,
        endpoints=draw(st.lists(endpoint, max_size=4)) or None,
        ports=draw(maybe(SLICE_PORTS)),
    )


@st.composite
def endpointslice_manifests(draw: st.DrawFn) -> dict[str, Any]:
    return draw_slice(draw, draw(maybe(NAMESPACES)), pods=("web-0",))


ENDPOINT_ADDRESSES = st.builds(
    lambda ip, ref, node, host: present(ip=ip, targetRef=ref, nodeName=node, hostname=host),
    IPV4,
    maybe(st.builds(lambda pod: {"kind": "Pod", "name": pod}, SHORT_NAMES)),
    maybe(SHORT_NAMES),
    maybe(SHORT_NAMES),
)
LEGACY_ENDPOINTS = st.builds(
    lambda name, namespace, subsets: present(
        apiVersion="v1", kind="Endpoints", metadata=present(name=name, namespace=namespace), subsets=subsets
    ),
    SERVICE_NAMES,
    maybe(NAMESPACES),
    maybe(
        st.lists(
            st.builds(
                lambda ready, not_ready, ports: present(
                    addresses=ready or None, notReadyAddresses=not_ready or None, ports=ports or None
                ),
                st.lists(ENDPOINT_ADDRESSES, max_size=2),
                st.lists(ENDPOINT_ADDRESSES, max_size=2),
                SLICE_PORTS,
            ),
            max_size=2,
        )
    ),
)
NODES = st.builds(
    lambda name, labels, conds, addresses: {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": present(name=name, labels=labels or None),
        "status": present(conditions=conds or None, addresses=addresses or None),
    },
    SHORT_NAMES,
    LABELS,
    conditions("Ready", "MemoryPressure", "DiskPressure"),
    st.lists(
        st.builds(
            lambda kind, address: {"type": kind, "address": address},
            st.sampled_from(["InternalIP", "ExternalIP", "Hostname"]),
            IPS,
        ),
        max_size=3,
    ),
)


def draw_workload(
    draw: st.DrawFn, namespace: str | None, label_pool: tuple[Mapping[str, str], ...] = ()
) -> dict[str, Any]:
    labels = dict(draw(st.sampled_from(label_pool) | LABELS if label_pool else LABELS))
    return {
        "apiVersion": "apps/v1",
        "kind": draw(st.sampled_from(["Deployment", "StatefulSet", "ReplicaSet"])),
        "metadata": present(
            name=draw(SHORT_NAMES),
            namespace=namespace,
            ownerReferences=draw(maybe(st.just([{"kind": "Deployment", "name": "owner", "uid": "u"}]))),
        ),
        "spec": present(
            replicas=draw(maybe(st.integers(0, 5))),
            selector={"matchLabels": labels},
            template={"metadata": {"labels": labels}},
        ),
    }


@st.composite
def workload_manifests(draw: st.DrawFn) -> dict[str, Any]:
    return draw_workload(draw, draw(maybe(NAMESPACES)))


def draw_pod_ips(draw: st.DrawFn, count: int, unique: bool) -> list[tuple[str, ...]]:
    """Each pod's IPs; unless `unique`, pods may share them (hostNetwork pods on one node do)."""
    numbers = st.integers(1, 2**32 - 2) if unique else st.integers(1, 3) | st.integers(1, 2**32 - 2)
    v4s = draw(st.lists(numbers, min_size=count, max_size=count, unique=unique))
    v6s = draw(st.lists(numbers, min_size=count, max_size=count, unique=unique))
    out = []
    for a, b in zip(v4s, v6s, strict=True):
        v4, v6 = str(ipaddress.IPv4Address(a)), str(ipaddress.IPv6Address(b))
        out.append(draw(st.sampled_from([(), (v4,), (v6,), (v4, v6), (v6, v4)])))
    return out


@st.composite
def clusters(draw: st.DrawFn, with_slices: bool = True, unique_ips: bool = False) -> list[dict[str, Any]]:
    """The manifests of a small cluster: pods, Services and slices that mostly refer to one another."""
    namespaces = draw(st.lists(NAMESPACES, min_size=1, max_size=3, unique=True))
    in_namespace = st.sampled_from(namespaces)
    nodes = draw(st.lists(NODES, max_size=3, unique_by=lambda n: n["metadata"]["name"]))
    node_names = tuple(n["metadata"]["name"] for n in nodes)
    label_pool = tuple(draw(st.lists(LABELS.filter(bool), min_size=1, max_size=3)))
    pods = [
        draw_pod(draw, draw(in_namespace), f"{draw(SHORT_NAMES)}-{i}", ips, node_names, label_pool)
        for i, ips in enumerate(draw_pod_ips(draw, draw(st.integers(0, 6)), unique_ips))
    ]
    port_names = tuple(
        p["name"]
        for pod in pods
        for c in pod["spec"]["containers"]
        for p in c.get("ports", [])
        if "name" in p
    )
    services = [
        draw_service(draw, draw(in_namespace), f"{draw(SERVICE_NAMES)}-{i}", label_pool, port_names)
        for i in range(draw(st.integers(0, 4)))
    ]
    docs: list[dict[str, Any]] = [*nodes, *pods, *services]
    docs += [draw_workload(draw, draw(in_namespace), label_pool) for _ in range(draw(st.integers(0, 2)))]
    if with_slices:
        ips = tuple(ip["ip"] for p in pods for ip in p["status"].get("podIPs", []))
        for _ in range(draw(st.integers(0, 4))):
            namespace = draw(in_namespace)
            named = tuple(s["metadata"]["name"] for s in services if s["metadata"]["namespace"] == namespace)
            pod_names = tuple(p["metadata"]["name"] for p in pods if p["metadata"]["namespace"] == namespace)
            docs.append(draw_slice(draw, namespace, named, pod_names, ips))
        docs += draw(st.lists(LEGACY_ENDPOINTS, max_size=1))
    docs = draw(st.permutations(docs))
    cut = draw(st.integers(0, len(docs)))  # some of them as a List, as `kubectl get -o yaml` writes them
    if cut and draw(st.booleans()):
        docs = [{"apiVersion": "v1", "kind": "List", "items": docs[:cut]}, *docs[cut:]]
    return docs


# --------------------------------------------------------------------------- selectors


@st.composite
def pods_and_selector(draw: st.DrawFn) -> tuple[list[Pod], str, dict[str, str]]:
    """Pods over a few namespaces, and a selector that often matches some of them in part or whole."""
    namespaces = draw(st.lists(NAMESPACES, min_size=1, max_size=3, unique=True))
    pods = [
        Pod(namespace, f"pod-{i}", MappingProxyType(labels))
        for i, (namespace, labels) in enumerate(
            draw(st.lists(st.tuples(st.sampled_from(namespaces), LABELS), max_size=8))
        )
    ]
    pool = [dict(p.labels) for p in pods if p.labels]
    selector = draw(LABELS | (st.sampled_from(pool).flatmap(subset_of) if pool else LABELS))
    return pods, draw(st.sampled_from(namespaces)), selector


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """The oracle: every key=value of the selector is among the labels."""
    return all(k in labels and labels[k] == v for k, v in selector.items())


@QUICK
@given(pods_and_selector())
def test_label_index_selects_exactly_the_pods_of_the_namespace_carrying_every_selector_pair(
    case: tuple[list[Pod], str, dict[str, str]],
) -> None:
    pods, namespace, selector = case
    got = LabelIndex(pods).select(namespace, selector)
    want = [p for p in pods if selector and p.namespace == namespace and selects(selector, p.labels)]
    assert [p.key for p in got] == [p.key for p in want]
    assert all(p.namespace == namespace for p in got)


@QUICK
@given(pods_and_selector(), LABELS)
def test_labels_outside_the_selector_never_change_the_selection(
    case: tuple[list[Pod], str, dict[str, str]], extra: dict[str, str]
) -> None:
    pods, namespace, selector = case
    extra = {k: v for k, v in extra.items() if k not in selector}
    relabelled = [Pod(p.namespace, p.name, MappingProxyType({**extra, **p.labels})) for p in pods]
    before = [p.key for p in LabelIndex(pods).select(namespace, selector)]
    assert [p.key for p in LabelIndex(relabelled).select(namespace, selector)] == before


@settings(QUICK, max_examples=30)
@given(pods_and_selector())
def test_empty_selector_selects_nothing_as_a_selectorless_service(
    case: tuple[list[Pod], str, dict[str, str]],
) -> None:
    pods, namespace, _ = case
    assert LabelIndex(pods).select(namespace, {}) == []


@st.composite
def selector_and_labels(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, str]]:
    selector = draw(LABELS)
    labels = draw(LABELS | st.builds(lambda extra, kept: {**extra, **kept}, LABELS, subset_of(selector)))
    return selector, labels


@QUICK
@given(selector_and_labels())
def test_formatted_selector_parses_back_to_a_selector_matching_exactly_its_supersets(
    case: tuple[dict[str, str], dict[str, str]],
) -> None:
    selector, labels = case
    assert parse_selector(format_selector(selector)).matches(labels) == selects(selector, labels)


OPERATORS = ["=", "==", "!=", "in", "notin", "exists", "!"]


def render(key: str, operator: str, values: list[str], space: str) -> str:
    """One requirement in kubectl's syntax, spaced as a user might."""
    if operator in ("in", "notin"):
        return f"{key} {operator}{space}({f',{space}'.join(values)})"
    if operator == "exists":
        return key
    if operator == "!":
        return f"!{space}{key}"
    return f"{key}{space}{operator}{space}{values[0]}"


def requirement_holds(key: str, operator: str, values: list[str], labels: Mapping[str, str]) -> bool:
    """The Kubernetes semantics of one requirement, written out independently."""
    has = key in labels
    return {
        "=": has and labels.get(key) == values[0],
        "==": has and labels.get(key) == values[0],
        "!=": not has or labels[key] != values[0],
        "in": has and labels[key] in values,
        "notin": not has or labels[key] not in values,
        "exists": has,
        "!": not has,
    }[operator]


REQUIREMENTS = st.tuples(
    LABEL_KEYS,
    st.sampled_from(OPERATORS),
    st.lists(LABEL_VALUES.filter(bool), min_size=1, max_size=3),
    st.sampled_from(["", " ", "  "]),
)


@QUICK
@given(st.lists(REQUIREMENTS, min_size=1, max_size=4), LABELS)
def test_parsed_selector_matches_as_kubernetes_defines_each_operator(
    requirements: list[tuple[str, str, list[str], str]], labels: dict[str, str]
) -> None:
    text = ",".join(render(*r) for r in requirements)
    expected = all(requirement_holds(k, op, values, labels) for k, op, values, _ in requirements)
    assert parse_selector(text).matches(labels) == expected


@QUICK
@given(st.text(alphabet=st.sampled_from("ab=!,() \t\n/.-_") | st.characters(), max_size=40))
def test_selector_parsing_fails_only_with_bad_input(text: str) -> None:
    try:
        selector = parse_selector(text)
    except BadInput:
        return
    assert all(r.operator in ("=", "!=", "in", "notin", "exists", "!") for r in selector.requirements)
    selector.matches({})


@QUICK
@given(pods_and_selector(), st.integers(0, 10))
def test_near_misses_describe_exactly_how_each_pod_differs_from_the_selector(
    case: tuple[list[Pod], str, dict[str, str]], limit: int
) -> None:
    pods, namespace, selector = case
    index = LabelIndex(pods)
    selected = {p.key for p in index.select(namespace, selector)}
    misses = near_misses(index, namespace, selector, limit)
    assert len(misses) <= limit
    assert len({m.pod.key for m in misses}) == len(misses)
    for m in misses:
        assert m.pod.namespace == namespace
        assert m.matched or m.different  # it shares a key with the selector
        keys = [*m.matched, *(k for k, _ in m.missing), *(k for k, _, _ in m.different)]
        assert sorted(keys) == sorted(selector)
        assert all(m.pod.labels[k] == selector[k] for k in m.matched)
        assert all(k not in m.pod.labels and selector[k] == v for k, v in m.missing)
        assert all(m.pod.labels[k] == have != want == selector[k] for k, want, have in m.different)
        text = m.describe()
        assert all(f"missing label {k}={v}" in text for k, v in m.missing)
        assert all(f"{k}={have} (selector wants {k}={want})" in text for k, want, have in m.different)
        # a near miss is a full match exactly when the selector selects that pod
        assert (not m.missing and not m.different) == (m.pod.key in selected)
    if not selected:
        assert all(m.missing or m.different for m in misses)
    ranks = [(-len(m.matched), len(m.missing) + len(m.different)) for m in misses]
    assert ranks == sorted(ranks)


# --------------------------------------------------------------------------- the search walk

QNAME_LABELS = names(LOWER_ALNUM + "_", LOWER_ALNUM + "_-") | st.builds(
    lambda c, n: c * n, st.sampled_from("abz09_"), st.integers(1, MAX_LABEL)
)
LONG_QNAMES = st.integers(1, MAX_NAME).map(lambda n: (("a" * 62 + "b.") * 4)[:n].strip("."))
QNAMES = (
    st.lists(QNAME_LABELS, min_size=1, max_size=6).map(
        lambda labels: ".".join(labels)[:MAX_NAME].rstrip(".-")
    )
    | LONG_QNAMES
).flatmap(lambda n: st.sampled_from([n, n + "."]))
CLUSTER_DOMAINS = st.sampled_from(["cluster.local", "corp.example"]) | SUBDOMAINS
CONFS = st.builds(
    ResolvConf,
    namespace=NAMESPACES,
    searches=st.lists(SEARCH_DOMAINS | st.just("."), max_size=5).map(tuple),
    ndots=st.integers(0, MAX_NDOTS),
    no_tld_query=st.booleans(),
)


def is_absolute_dns_name(qname: str) -> bool:
    """Sendable as a query: a trailing dot, labels of 1-63 characters, at most 253 without the dot."""
    body = qname.removesuffix(".")
    return (
        qname.endswith(".")
        and len(body) <= MAX_NAME
        and all(1 <= len(label) <= MAX_LABEL for label in body.split("."))
    )


def searched(name: str, conf: ResolvConf) -> list[str]:
    """The search-list names glibc sends: in order, until the first it cannot encode ends the list."""
    out = []
    for search in conf.searches:
        domain = search.strip(".")
        qname = f"{name}.{domain}." if domain else f"{name}."
        if not is_absolute_dns_name(qname):
            break
        out.append(qname)
    return out


@QUICK
@given(QNAMES, CONFS)
def test_name_with_a_trailing_dot_is_tried_alone_as_is(name: str, conf: ResolvConf) -> None:
    absolute = name.rstrip(".") + "."
    assert [(c.qname, c.stage) for c in candidates(absolute, conf)] == [(absolute, Stage.AS_IS)]


@QUICK
@given(QNAMES.map(lambda n: n.rstrip(".")), CONFS)
def test_search_order_follows_glibc_ndots_rule(name: str, conf: ResolvConf) -> None:
    cands = candidates(name, conf)
    stages = [c.stage for c in cands]
    search = [c.qname for c in cands if c.stage is Stage.SEARCH]
    assert search == searched(name, conf)
    dots = name.count(".")
    if dots >= conf.ndots:  # as is first, never again as is after the search list
        assert cands[0].qname == f"{name}."
        assert stages == [Stage.AS_IS] + [Stage.SEARCH] * len(search)
    else:  # the search list first, then as is, unless the root is on the list or no-tld-query forbids it
        root = any(not s.strip(".") for s in conf.searches[: len(search)])
        last = not root and (dots > 0 or not conf.searches or not conf.no_tld_query)
        assert stages == [Stage.SEARCH] * len(search) + [Stage.AS_IS_LAST] * last
        if last:
            assert cands[-1].qname == f"{name}."


@QUICK
@given(QNAMES, CONFS)
def test_candidates_repeat_no_name_unless_the_search_list_repeats_a_domain(
    name: str, conf: ResolvConf
) -> None:
    domains = [s.strip(".") for s in conf.searches]
    qnames = [c.qname for c in candidates(name, conf)]
    if all(domains) and len(set(domains)) == len(domains):
        assert len(set(qnames)) == len(qnames)


@st.composite
def pod_resolv_confs(draw: st.DrawFn) -> tuple[ResolvConf, Pod, str]:
    domain = validate_qname(draw(CLUSTER_DOMAINS)).strip(".")
    pod = pod_from_api(draw(pod_manifests(long_searches=True)))
    return resolv_conf("default", domain, pod), pod, domain


@QUICK
@given(
    QNAMES,
    CONFS | st.builds(resolv_conf, NAMESPACES, CLUSTER_DOMAINS) | pod_resolv_confs().map(lambda c: c[0]),
)
@example(".".join(["a" * 60, "b" * 60, "c" * 60, "d" * 60]), resolv_conf("default", "cluster.local"))
def test_every_candidate_of_a_valid_name_is_a_sendable_absolute_name(name: str, conf: ResolvConf) -> None:
    for c in candidates(validate_qname(name), conf):
        assert is_absolute_dns_name(c.qname), c


NDOTS_WITHOUT_VALUE = pod_from_api(
    {"metadata": {"name": "client"}, "spec": {"dnsConfig": {"options": [{"name": "ndots"}]}}}
)


def glibc_ndots(cluster_dns: bool, options: Mapping[str, str | None]) -> int:
    """ndots as glibc reads it from the options line the kubelet writes (pkg/kubelet/network/dns).

    The kubelet merges the pod's options over its own by name and writes `name:value`, or `name`
    alone when the value is empty or absent; glibc takes `ndots:N` with atoi() and ignores the rest.
    """
    merged: dict[str, str] = {"ndots": "5"} if cluster_dns else {}
    merged |= {k: v or "" for k, v in options.items()}
    ndots = 1  # glibc's default
    for option in (f"{k}:{v}" if v else k for k, v in merged.items()):
        if option.startswith("ndots:"):
            digits = re.match(r"\s*(\d*)", option.removeprefix("ndots:"))
            ndots = min(int(digits[1] or 0) if digits else 0, MAX_NDOTS)
    return ndots


@QUICK
@given(pod_resolv_confs())
@example((resolv_conf("default", "cluster.local", NDOTS_WITHOUT_VALUE), NDOTS_WITHOUT_VALUE, "cluster.local"))
def test_pod_resolv_conf_is_what_the_kubelet_writes_and_glibc_reads(
    case: tuple[ResolvConf, Pod, str],
) -> None:
    conf, pod, domain = case
    cluster_dns = pod.dns_policy == "ClusterFirstWithHostNet" or (
        pod.dns_policy == "ClusterFirst" and not pod.host_network
    )
    assert conf.uses_cluster_dns == cluster_dns
    assert conf.namespace == pod.namespace
    assert len(conf.searches) <= MAX_SEARCH_PATHS
    assert len(" ".join(conf.searches)) <= MAX_SEARCH_CHARS
    assert len(set(conf.searches)) == len(conf.searches)
    own = [s.strip().lower() for s in (pod.dns_config.searches if pod.dns_config else ())]
    base = list(cluster_searches(pod.namespace, domain)) if cluster_dns else []
    merged = list(dict.fromkeys(base + own))
    assert list(conf.searches) == merged[: len(conf.searches)]  # the kubelet only cuts from the end
    assert conf.ndots == glibc_ndots(cluster_dns, pod.dns_config.options if pod.dns_config else {})
    assert conf.no_tld_query == ("no-tld-query" in (pod.dns_config.options if pod.dns_config else {}))


@QUICK
@given(
    st.text(alphabet=st.sampled_from("abz09-_.\n\t ") | st.characters(), max_size=80)
    | QNAMES.map(lambda n: n.upper())
    | st.builds(lambda a, b: a + b, QNAMES, st.sampled_from(["\n", ".", "..", "-", " x", "\n.a"])),
    CONFS,
)
@example("web\n.shop", resolv_conf("default", "cluster.local"))
def test_a_typed_name_is_rejected_with_bad_input_or_becomes_a_lowercase_dns_name(
    text: str, conf: ResolvConf
) -> None:
    try:
        qname = validate_qname(text)
    except BadInput:
        return
    assert re.fullmatch(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?", qname), qname
    assert is_absolute_dns_name(qname.rstrip(".") + ".")
    assert validate_qname(qname) == qname
    assert all(is_absolute_dns_name(c.qname) for c in candidates(qname, conf))


RCODES = st.sampled_from(["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", UNKNOWN])


@QUICK
@given(QNAMES, CONFS, st.data())
def test_walk_asks_candidates_in_order_and_stops_at_the_first_answer(
    name: str, conf: ResolvConf, data: st.DataObject
) -> None:
    cands = candidates(name, conf)
    replies = {
        c.qname: Answer(c.qname, "A", rcode, ("10.0.0.1",) if has else ())
        for c, (rcode, has) in zip(
            cands,
            data.draw(st.lists(st.tuples(RCODES, st.booleans()), min_size=len(cands), max_size=len(cands))),
            strict=True,
        )
    }
    result = walk(cands, lambda q: replies[q])
    # glibc's rule, written out: ask in order; stop at an answer; after a search name whose reply is
    # not NXDOMAIN, NODATA or SERVFAIL, skip the rest of the search list but still try the name as is
    asked: list[str] = []
    search_over = False
    for c in cands:
        if c.stage is Stage.SEARCH and search_over:
            continue
        asked.append(c.qname)
        if answered(replies[c.qname]):
            break
        search_over |= c.stage is Stage.SEARCH and replies[c.qname].rcode not in CONTINUE_SEARCH
    assert [a.qname for a in result.attempts] == asked
    assert not any(answered(a) for a in result.attempts[:-1])
    if result.answered is not None:
        assert result.answered == result.attempts[-1]
    assert (result.answered is None) == (not any(answered(replies[q]) for q in asked))


# --------------------------------------------------------------------------- snapshot building


@CLUSTER
@given(pod_manifests())
def test_pod_from_api_keeps_identity_labels_ips_and_readiness(manifest: dict[str, Any]) -> None:
    pod = pod_from_api(manifest)
    meta, status = manifest["metadata"], manifest["status"]
    assert (pod.namespace, pod.name) == (meta.get("namespace", "default"), meta["name"])
    assert dict(pod.labels) == meta.get("labels", {})
    ips = [i["ip"] for i in status.get("podIPs", [])] or ([status["podIP"]] if "podIP" in status else [])
    assert list(pod.ips) == ips
    assert pod.ip == (ips[0] if ips else None)
    assert pod.ready == ({"type": "Ready", "status": "True"} in status.get("conditions", []))
    assert pod.terminating == ("deletionTimestamp" in meta)
    sidecars = [c for c in manifest["spec"].get("initContainers", []) if c.get("restartPolicy") == "Always"]
    declared = [p for c in manifest["spec"]["containers"] + sidecars for p in c.get("ports", [])]
    assert [(p.port, p.protocol, p.name) for p in pod.container_ports] == [
        (p["containerPort"], p.get("protocol", "TCP"), p.get("name")) for p in declared
    ]


@CLUSTER
@given(service_manifests())
def test_service_from_api_keeps_ports_with_the_api_default_target(manifest: dict[str, Any]) -> None:
    svc = service_from_api(manifest)
    spec = manifest["spec"]
    assert svc.type == spec.get("type", "ClusterIP")
    assert (dict(svc.selector) if svc.selector else {}) == spec.get("selector", {})
    assert [(p.port, p.protocol, p.name, p.target) for p in svc.ports] == [
        (p["port"], p.get("protocol", "TCP"), p.get("name"), p.get("targetPort", p["port"]))
        for p in spec.get("ports", [])
    ]
    assert svc.headless == (spec.get("clusterIP") == "None")


@CLUSTER
@given(endpointslice_manifests())
def test_endpointslice_from_api_reads_absent_ready_and_serving_as_true(manifest: dict[str, Any]) -> None:
    s = endpointslice_from_api(manifest)
    assert s.service_name == manifest["metadata"].get("labels", {}).get(SERVICE_NAME_LABEL)
    assert len(s.endpoints) == len(manifest.get("endpoints", []))
    for e, raw in zip(s.endpoints, manifest.get("endpoints", []), strict=True):
        cond = raw.get("conditions", {})
        assert e.addresses == tuple(raw["addresses"])
        assert e.ready == cond.get("ready", True)
        assert e.serving == cond.get("serving", e.ready)
        assert e.terminating == cond.get("terminating", False)
        assert (e.target.name if e.target else None) == raw.get("targetRef", {}).get("name")
        if e.target:
            assert e.target.namespace == raw["targetRef"].get("namespace", s.namespace)


@CLUSTER
@given(NODES, workload_manifests())
def test_node_and_workload_builders_read_readiness_addresses_and_replicas(
    node: dict[str, Any], workload: dict[str, Any]
) -> None:
    n = node_from_api(node)
    status = node["status"]
    assert n.ready == ({"type": "Ready", "status": "True"} in status.get("conditions", []))
    assert list(n.internal_ips) == [
        a["address"] for a in status.get("addresses", []) if a["type"] == "InternalIP"
    ]
    w = workload_from_api(workload)
    assert w.replicas == workload["spec"].get("replicas", 1)
    assert dict(w.template_labels) == workload["spec"]["template"]["metadata"]["labels"]
    assert w.owned == ("ownerReferences" in workload["metadata"])


@CLUSTER
@given(clusters())
def test_list_of_manifests_builds_the_same_snapshot_as_its_items(docs: list[dict[str, Any]]) -> None:
    flat = [i for d in docs for i in (d["items"] if d["kind"] == "List" else [d])]
    assert snapshot_from_manifests([{"kind": "List", "items": flat}]) == snapshot_from_manifests(flat)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
FATE = st.integers(0, 5)  # 0: garbage instead; 1: some fields dropped; else kept


def garble(draw: st.DrawFn, value: Any) -> Any:
    """`value` with fields at any depth dropped or replaced by JSON garbage."""
    fate = draw(FATE)
    if fate == 0:
        return draw(JSONISH)
    if isinstance(value, dict):
        return {k: garble(draw, v) for k, v in value.items() if fate != 1 or draw(st.booleans())}
    if isinstance(value, list):
        return [garble(draw, v) for v in value]
    return value


@st.composite
def garbled_clusters(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Every document keeps its kind (so it reaches its builder); anything inside it may be garbage."""
    return [
        {**{k: garble(draw, v) for k, v in d.items() if k != "kind" and draw(FATE)}, "kind": d["kind"]}
        for d in draw(clusters())
    ]


BUILDERS = {
    "Pod": pod_from_api,
    "Service": service_from_api,
    "EndpointSlice": endpointslice_from_api,
    "Endpoints": endpointslices_from_legacy_endpoints,
    "Node": node_from_api,
    "Deployment": workload_from_api,
    "StatefulSet": workload_from_api,
    "ReplicaSet": workload_from_api,
}


@CLUSTER
@given(garbled_clusters())
@example([{"kind": "List", "items": ["not a manifest", ["nor", "this"], 7]}])
def test_builders_never_raise_on_garbage_inside_fields(docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        if doc["kind"] in BUILDERS:
            BUILDERS[doc["kind"]](doc)
    snapshot_from_manifests(docs)


# --------------------------------------------------------------------------- inspection


def assert_report_invariants(report: Report) -> None:
    pods = {(p.namespace, p.name): p for p in report.snapshot.pods}
    assert len(report.services) == len(report.snapshot.services)
    for sr in report.services:
        svc = sr.service
        if svc.selector and svc.type != "ExternalName":  # exactly the pods the oracle selects
            assert [p.key for p in sr.expectation.selected] == [
                p.key
                for p in report.snapshot.pods
                if p.namespace == svc.namespace and selects(svc.selector, p.labels)
            ]
        else:
            assert sr.expectation.selected == ()
        with_ip = {p.name: p for p in sr.expectation.selected if p.ip}
        for e in sr.expected:  # every expected endpoint is an IP of a selected pod
            assert e.pod in with_ip
            assert pods[(svc.namespace, e.pod)] is with_ip[e.pod]
            assert e.ip in with_ip[e.pod].ips
            assert (e.port is None) == (not svc.ports)
        expected_keys = {e.key for e in sr.expected}
        actual_keys = {a.key for a in sr.actual}
        unexpected_keys = {a.key for a in sr.facts.unexpected}
        assert set(sr.facts.missing) <= set(sr.expected)
        assert {e.key for e in sr.facts.missing}.isdisjoint(actual_keys)
        assert unexpected_keys.isdisjoint(expected_keys)
        if svc.type != "ExternalName":  # which has no endpoints to diff
            assert unexpected_keys == actual_keys - expected_keys
            assert {e.key for e in sr.facts.missing} == expected_keys - actual_keys
        assert all(e.key == a.key and a.ready != e.ready for e, a in sr.facts.conditions_differ)
        assert (sr.status == "error") == any(f.severity is Severity.ERROR for f in sr.findings)
    for f in report.findings:
        assert f.severity is CATALOGUE[f.code].severity
    summary = summary_json(report)
    assert summary["services"] == len(report.services)
    for severity, key in (
        (Severity.ERROR, "errors"),
        (Severity.WARNING, "warnings"),
        (Severity.INFO, "infos"),
    ):
        assert summary[key] == sum(1 for f in report.findings if f.severity is severity)
    assert report.ok == (not any(f.severity is Severity.ERROR for f in report.findings))
    existing = {f"{s.namespace}/{s.name}" for s in report.snapshot.services}
    naming = {
        "pod-subdomain-without-headless-service",
        "statefulset-service-missing",
        "statefulset-service-not-headless",
    }
    for f in report.cluster_findings:
        assert f.code == "orphan-endpointslice" or f.code in naming
        if f.code == "orphan-endpointslice":
            assert f.details["service"] not in existing
    data = report_json(report)
    assert json.loads(json.dumps(data)) == data
    dump(data, "yaml")
    explain(report)


@CLUSTER
@given(clusters())
def test_inspecting_any_schema_valid_cluster_gives_a_consistent_report(docs: list[dict[str, Any]]) -> None:
    assert_report_invariants(inspect_snapshot(snapshot_from_manifests(docs)))


def slice_for(svc: Service, index: int, e: Endpoint) -> dict[str, Any]:
    """The EndpointSlice the controller would write for one expected endpoint."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{svc.name}-ep-{index}",
            "namespace": svc.namespace,
            "labels": {SERVICE_NAME_LABEL: svc.name, MANAGED_BY_LABEL: CONTROLLER_MANAGED_BY},
        },
        "addressType": "IPv6" if ":" in e.ip else "IPv4",
        "endpoints": [
            present(
                addresses=[e.ip],
                conditions={"ready": e.ready, "serving": e.serving, "terminating": e.terminating},
                targetRef={"kind": "Pod", "name": e.pod, "namespace": svc.namespace},
                nodeName=e.node,
            )
        ],
        "ports": []
        if e.port is None
        else [{"port": e.port, "protocol": e.protocol, "name": e.port_name or ""}],
    }


@CLUSTER
@given(clusters(with_slices=False, unique_ips=True))
def test_slices_written_from_the_expected_endpoints_leave_nothing_missing_unexpected_or_differing(
    docs: list[dict[str, Any]],
) -> None:
    first = inspect_snapshot(snapshot_from_manifests(docs))
    slices = [slice_for(sr.service, i, e) for sr in first.services for i, e in enumerate(sr.expected)]
    report = inspect_snapshot(snapshot_from_manifests(docs + slices))
    assert_report_invariants(report)
    for sr in report.services:
        assert sr.facts.missing == sr.facts.unexpected == sr.facts.conditions_differ == ()
        assert {a.key for a in sr.actual} == {e.key for e in sr.expected}
        codes = {f.code for f in sr.findings}
        assert codes.isdisjoint({"endpoints-missing", "endpoints-unexpected", "endpoint-conditions-differ"})
    assert [f for f in report.cluster_findings if f.code == "orphan-endpointslice"] == []


@QUICK
@given(pods_and_selector(), st.integers(0, 10))
def test_near_misses_through_the_index_rank_as_a_scan_of_every_pod_would(
    case: tuple[list[Pod], str, dict[str, str]], limit: int
) -> None:
    pods, namespace, selector = case
    here = [p for p in pods if p.namespace == namespace]
    sharing = [p for p in here if any(p.labels.get(k) == v for k, v in selector.items())]
    candidates = sharing or [p for p in here if any(k in p.labels for k in selector)]

    def rank(p: Pod) -> tuple[int, str]:
        return (-sum(p.labels.get(k) == v for k, v in selector.items()), p.name)

    want = [p.key for p in sorted(candidates, key=rank)[:limit]]
    assert [m.pod.key for m in near_misses(LabelIndex(pods), namespace, selector, limit)] == want
