"""A pod's resolver, emulated: its resolv.conf as the kubelet writes it, and the glibc search walk.

Why it exists: "redis-master does not resolve" is most often not a DNS fault but the search list:
a short name is tried under `<ns>.svc.<domain>`, `svc.<domain>` and `<domain>` before being tried
as is, so it resolves only from its own namespace, and every name with fewer than `ndots` dots costs
several queries. Emulating this exactly (the kubelet's dnsPolicy/dnsConfig merge, glibc's
`__res_context_search` order and stop rules) shows users what their pod really asks. Pure: no I/O;
the walk takes the function that answers one query.

What the inspector cannot know: the node's own resolv.conf, which the kubelet appends to the search
list of ClusterFirst pods and uses whole for dnsPolicy Default.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from inspector.dns.answers import UNKNOWN, Answer
from inspector.dns.querynames import MAX_LABEL, MAX_NAME
from inspector.model.snapshot import DNSPolicy, Pod

GLIBC_DEFAULT_NDOTS = 1
MAX_NDOTS = 15  # glibc's RES_MAXNDOTS: larger values are capped
CLUSTER_NDOTS = 5  # the kubelet's "ndots:5" for ClusterFirst pods
MAX_SEARCH_PATHS = 32  # the kubelet's MaxDNSSearchPaths
MAX_SEARCH_CHARS = 2048  # the kubelet's MaxDNSSearchListChars
# glibc treats these answers as "try the next search domain"; anything else ends the search part.
# UNKNOWN (a name the API cannot vouch for) goes on too, so the API's own walk reaches its answer.
CONTINUE_SEARCH = frozenset({"NXDOMAIN", "NOERROR", "SERVFAIL", UNKNOWN})


# --------------------------------------------------------------------------- resolv.conf


@dataclass(frozen=True, slots=True)
class ResolvConf:
    """What the resolver of a pod in `namespace` reads from its /etc/resolv.conf."""

    namespace: str
    searches: tuple[str, ...]
    ndots: int = GLIBC_DEFAULT_NDOTS
    no_tld_query: bool = False
    policy: DNSPolicy = DNSPolicy.CLUSTER_FIRST
    pod: str | None = None
    nameservers: tuple[str, ...] = ()  # besides the cluster DNS (dnsConfig), as the pod lists them
    uses_cluster_dns: bool = True
    notes: tuple[str, ...] = ()

    @property
    def options(self) -> str:
        return f"ndots:{self.ndots}" + (" no-tld-query" if self.no_tld_query else "")


def cluster_searches(namespace: str, domain: str) -> tuple[str, ...]:
    return (f"{namespace}.svc.{domain}", f"svc.{domain}", domain)


def _ndots(value: str | None) -> int:
    # glibc reads it with atoi(): leading digits, 0 when there are none; capped at RES_MAXNDOTS
    digits = re.match(r"\s*(\d+)", value or "")
    return min(int(digits[1]), MAX_NDOTS) if digits else 0


def _dedup(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _fit_search_limits(searches: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    """The kubelet keeps the first 32 search domains, within 2048 characters."""
    kept: list[str] = []
    for s in searches[:MAX_SEARCH_PATHS]:
        if len(" ".join([*kept, s])) > MAX_SEARCH_CHARS:
            break
        kept.append(s)
    if len(kept) < len(searches):
        return tuple(kept), f"the kubelet keeps only the first {len(kept)} search domains"
    return tuple(kept), None


def resolv_conf(namespace: str, domain: str, pod: Pod | None = None) -> ResolvConf:
    """The resolv.conf of a ClusterFirst pod in `namespace`, or of `pod` with its dnsPolicy and dnsConfig.

    The kubelet's rules (pkg/kubelet/network/dns): ClusterFirst, and ClusterFirstWithHostNet, get the
    cluster search list and `ndots:5`; ClusterFirst on the host network falls back to Default, the
    node's resolv.conf; None starts empty. dnsConfig then appends nameservers and searches (without
    duplicates) and overrides options by name.
    """
    domain = domain.strip(".").lower()
    if pod is None:
        return ResolvConf(namespace, cluster_searches(namespace, domain), CLUSTER_NDOTS)
    notes: list[str] = []
    policy = pod.dns_policy
    effective = policy
    if policy is DNSPolicy.CLUSTER_FIRST and pod.host_network:
        effective = DNSPolicy.DEFAULT
        notes.append("dnsPolicy ClusterFirst on the host network behaves as Default (the node's resolver)")
    searches: tuple[str, ...] = ()
    options: dict[str, str | None] = {}
    cluster_dns = effective in (DNSPolicy.CLUSTER_FIRST, DNSPolicy.CLUSTER_FIRST_WITH_HOST_NET)
    if cluster_dns:
        searches = cluster_searches(pod.namespace, domain)
        options["ndots"] = str(CLUSTER_NDOTS)
    elif effective is DNSPolicy.DEFAULT:
        notes.append(
            "dnsPolicy Default: the pod uses its node's resolv.conf, which the inspector cannot read; "
            "emulated without the node's search domains and with glibc's ndots:1"
        )
    config = pod.dns_config
    nameservers: tuple[str, ...] = ()
    if config is not None:
        nameservers = _dedup(config.nameservers)
        searches = _dedup(searches + tuple(s.strip().lower() for s in config.searches))
        options.update(config.options)
    if not cluster_dns and not nameservers and effective is DNSPolicy.NONE:
        notes.append("dnsPolicy None without dnsConfig.nameservers: the pod has no resolver at all")
    if nameservers and not cluster_dns:
        notes.append(
            f"the pod asks {', '.join(nameservers)}, not the cluster DNS; the inspector asks the cluster DNS"
        )
    searches, cut = _fit_search_limits(searches)
    if cut:
        notes.append(cut)
    return ResolvConf(
        namespace=pod.namespace,
        searches=searches,
        # the kubelet writes an ndots without value as a bare "ndots", which glibc ignores
        ndots=_ndots(options["ndots"]) if options.get("ndots") else GLIBC_DEFAULT_NDOTS,
        no_tld_query="no-tld-query" in options,
        policy=policy,
        pod=pod.name,
        nameservers=nameservers,
        uses_cluster_dns=cluster_dns,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------- the glibc walk


class Stage(StrEnum):
    AS_IS = "as-is"  # tried first: the name has at least ndots dots, or a trailing dot
    SEARCH = "search"  # name + "." + a search domain
    AS_IS_LAST = "as-is-last"  # tried after the search list


@dataclass(frozen=True, slots=True)
class Candidate:
    qname: str  # absolute, with its trailing dot
    stage: Stage


def candidates(name: str, conf: ResolvConf) -> tuple[Candidate, ...]:
    """Every name glibc's res_search may query for `name`, in its order (glibc res_query.c).

    With a trailing dot: the name alone. With at least ndots dots: as is, then the search list. Else
    the search list, then as is, unless the search list holds the root or no-tld-query forbids a
    dotless name. A search name too long for DNS is never sent: glibc cannot encode it, and that
    failure (NO_RECOVERY) ends the search list.
    """
    if name.endswith("."):
        return (Candidate(name, Stage.AS_IS),)
    dots = name.count(".")
    out: list[Candidate] = []
    tried_as_is = dots >= conf.ndots
    if tried_as_is:
        out.append(Candidate(f"{name}.", Stage.AS_IS))
    root_on_list = False
    for search in conf.searches:
        domain = search.strip(".")
        if not domain:
            root_on_list = True
        qname = f"{name}.{domain}." if domain else f"{name}."
        if not _encodable(qname):
            break
        out.append(Candidate(qname, Stage.SEARCH))
    searched = bool(conf.searches)
    if (dots or not searched or not conf.no_tld_query) and not (tried_as_is or root_on_list):
        out.append(Candidate(f"{name}.", Stage.AS_IS_LAST))
    return tuple(out)


def _encodable(qname: str) -> bool:
    body = qname.removesuffix(".")
    return len(body) <= MAX_NAME and all(0 < len(label) <= MAX_LABEL for label in body.split("."))


@dataclass(frozen=True, slots=True)
class Walk:
    """The queries one lookup made, in order, and the one that answered (None: the name failed)."""

    attempts: tuple[Answer, ...]
    answered: Answer | None

    @property
    def queries(self) -> int:
        return len(self.attempts)


def answered(answer: Answer) -> bool:
    """glibc accepts a response only when it is NOERROR with at least one answer record."""
    return answer.rcode == "NOERROR" and bool(answer.answers)


def walk(cands: tuple[Candidate, ...], ask: Callable[[str], Answer]) -> Walk:
    """Query the candidates as glibc does: stop at the first answer; an answer other than NXDOMAIN,
    NODATA or SERVFAIL ends the search list (glibc's `done`), but the as-is name is still tried."""
    attempts: list[Answer] = []
    search_over = False
    for c in cands:
        if c.stage is Stage.SEARCH and search_over:
            continue
        reply = ask(c.qname)
        attempts.append(reply)
        if answered(reply):
            return Walk(tuple(attempts), reply)
        if c.stage is Stage.SEARCH and reply.rcode not in CONTINUE_SEARCH:
            search_over = True
    return Walk(tuple(attempts), None)


def ndots_explanation(name: str, conf: ResolvConf) -> str:
    """Why the walk went the way it did, in one clause."""
    if name.endswith("."):
        return "a trailing dot makes the name absolute: no search list"
    dots = name.count(".")
    if dots >= conf.ndots:
        return f"{dots} dot(s) >= ndots:{conf.ndots}, so the name is tried as is first"
    return f"{dots} dot(s) < ndots:{conf.ndots}, so the search list comes first"
