"""What `why`'s probe does inside the cluster: the checks, the script that runs them, and its output read back.

Why it exists: the active half of the Debug Services checklist (connect to each endpoint, to the
ClusterIP, to each node port; resolve the name with the client's own resolver) runs in one
short-lived container. Every check is one line of a shell script that runs them all at once and
prints one result line each, so that the probe needs nothing but to be created, to end and to have
its log read: no exec, no attach, no port of ours. Building the script and reading its log are pure.

The image is Kubernetes' own e2e test image, agnhost: `agnhost connect --timeout` tells a refused
connection (nothing listens) from a timeout (dropped: policy, routing, kube-proxy) and from other
network errors (no route); glibc's `getent hosts` resolves as the client's libc does (its
resolv.conf, search list and ndots).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

DEFAULT_IMAGE = "registry.k8s.io/e2e-test-images/agnhost:2.66.1"
CONNECT_TIMEOUT_S = 3
AGAIN_S = 2
PROBE_DEADLINE_S = 120  # activeDeadlineSeconds: the kubelet ends a probe pod that outlives this
MARK = "inspector-probe"
PROBE_LABELS = {"app.kubernetes.io/name": "svc-inspect", "app.kubernetes.io/component": "why-probe"}
SERVICE_LABEL = "svc-inspect.io/service"  # the Service a probe pod was started for
PROBE_CONTAINER = "inspector-why-probe"


class Outcome(StrEnum):
    CONNECTED = "connected"
    REFUSED = "refused"  # nothing listens there
    TIMEOUT = "timeout"  # dropped on the way
    UNREACHABLE = "unreachable"  # no route, or another network error
    RESOLVED = "resolved"
    NOT_FOUND = "not found"
    ERROR = "error"  # the check itself failed (bad output, no result)

    @property
    def ok(self) -> bool:
        return self in (Outcome.CONNECTED, Outcome.RESOLVED)


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    kind: Literal["tcp", "dns"]
    target: str  # host:port, or a name to resolve
    again: bool = False  # a failed connection is tried once more after AGAIN_S (kube-proxy's sync lag)


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    detail: str = ""  # the tool's own words (the error), or the addresses a name resolved to
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProbeLog:
    results: Mapping[str, Result]
    resolv_conf: str = ""  # the client's resolv.conf lines (nameserver, search, options)
    complete: bool = False  # the script got to its end


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


_CHECK_ID = re.compile(r"[a-z0-9-]+")


def probe_script(checks: Iterable[Check]) -> str:
    """One shell script running every check at once, each printing one `inspector-probe ID ...` line;
    plus the nameserver asked over TCP (DNS over TCP) and the client's resolv.conf."""
    connect = f'/agnhost connect --timeout={CONNECT_TIMEOUT_S}s "$2" 2>&1'
    lines = [
        "set -f",
        f"a() {{ if out=$({connect}); then out=CONNECTED; fi; }}",
        f'r() {{ a "$@"; if [ "$out" != CONNECTED ]; then sleep {AGAIN_S}; a "$@"; fi; echo {MARK} "$1" $out; }}',
        f't() {{ a "$@"; echo {MARK} "$1" $out; }}',
        f'd() {{ if out=$(getent hosts "$2" 2>&1); then echo {MARK} "$1" RESOLVED $out;'
        f' else echo {MARK} "$1" NOTFOUND $out; fi; }}',
        f"echo {MARK} resolv $(grep -E '^(nameserver|search|options)' /etc/resolv.conf)",
        "ns=$(awk '/^nameserver/ {print $2; exit}' /etc/resolv.conf)",
        'if [ -n "$ns" ]; then t dns-tcp "$ns:53" & fi',
    ]
    for check in checks:
        if not _CHECK_ID.fullmatch(check.id):
            raise ValueError(f"invalid check id {check.id!r}")
        fn = ("r" if check.again else "t") if check.kind == "tcp" else "d"
        lines.append(f"{fn} {check.id} {shlex.quote(check.target)} &")
    lines += ["wait", f"echo {MARK} done"]
    return "\n".join(lines) + "\n"


def _tcp_result(words: list[str]) -> Result:
    text = " ".join(words)
    head = words[0] if words else ""
    if head == "CONNECTED":
        return Result(Outcome.CONNECTED)
    if head == "REFUSED":
        return Result(Outcome.REFUSED, "connection refused")
    if head == "TIMEOUT":
        return Result(Outcome.TIMEOUT, f"no answer within {CONNECT_TIMEOUT_S}s")
    if head == "OTHER:":
        detail = text.removeprefix("OTHER:").strip()
        return Result(Outcome.UNREACHABLE, detail.rsplit(": ", 1)[-1] if detail else "network error")
    return Result(Outcome.ERROR, text[:200] or "no result")


_ADDRESS = re.compile(r"^[0-9a-fA-F:.]+$")


def _dns_result(words: list[str]) -> Result:
    head, rest = (words[0], words[1:]) if words else ("", [])
    if head == "RESOLVED":
        # getent prints "ADDRESS NAME [ALIASES]" per address; the words run on, one line
        addresses = tuple(dict.fromkeys(w for w in rest if _ADDRESS.match(w) and any(c.isdigit() for c in w)))
        return Result(Outcome.RESOLVED, ", ".join(addresses), addresses)
    if head == "NOTFOUND":
        return Result(Outcome.NOT_FOUND, " ".join(rest)[:200])
    return Result(Outcome.ERROR, " ".join(words)[:200] or "no result")


def parse_probe_log(text: str, checks: Iterable[Check]) -> ProbeLog:
    """The results the probe printed; a check without a line gets an ERROR result."""
    kinds = {c.id: c.kind for c in checks}
    kinds["dns-tcp"] = "tcp"
    results: dict[str, Result] = {}
    resolv = ""
    complete = False
    for line in text.splitlines():
        words = line.split()
        if len(words) < 2 or words[0] != MARK:
            continue
        ident, rest = words[1], words[2:]
        if ident == "done":
            complete = True
        elif ident == "resolv":
            resolv = " ".join(rest)
        elif ident in kinds:
            results[ident] = _tcp_result(rest) if kinds[ident] == "tcp" else _dns_result(rest)
    for ident in kinds:
        if ident != "dns-tcp":
            results.setdefault(ident, Result(Outcome.ERROR, "the probe printed no result"))
    return ProbeLog(results, resolv, complete)


def probe_container(image: str, script: str, name: str = PROBE_CONTAINER) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", script],
        "securityContext": {"allowPrivilegeEscalation": False},
    }


def probe_pod(namespace: str, service: str, image: str, script: str) -> dict[str, Any]:
    """The short-lived probe pod: labelled (to find and delete it), bounded by activeDeadlineSeconds,
    never restarted, with no token and no service links (it needs neither)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": "inspector-why-",
            "namespace": namespace,
            "labels": {**PROBE_LABELS, SERVICE_LABEL: service[:63].rstrip("-.")},
        },
        "spec": {
            "restartPolicy": "Never",
            "activeDeadlineSeconds": PROBE_DEADLINE_S,
            "terminationGracePeriodSeconds": 0,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "containers": [probe_container(image, script)],
        },
    }
