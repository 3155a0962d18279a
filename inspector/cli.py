"""The command line: a thin typer adapter over the API. `main` is the one place failures become exits.

Options follow kubectl (`--kubeconfig`, `--context`, `-n`, `-A`, `-l`, `-o`, `--request-timeout`)
and are accepted after the command, as `kubectl inspect diff -A -o json`.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from enum import StrEnum
from typing import Annotated

import typer

from inspector import __version__, dnsinspecting, dnsrendering, rendering
from inspector.api import inspect_cluster, make_scope
from inspector.errors import BadInput, InspectorError
from inspector.fetching import Cluster, connect
from inspector.findings import Severity
from inspector.inspecting import Report, inspect_snapshot
from inspector.names import validate_name
from inspector.selectors import parse_selector
from inspector.status import ExitStatus
from inspector.waiting import parse_targets, wait_for


class Output(StrEnum):
    table = "table"
    wide = "wide"
    json = "json"
    yaml = "yaml"


app = typer.Typer(
    name="kubectl-inspect",
    help="Service-discovery inspector: Services, EndpointSlices, pods and cluster DNS, expected vs actual.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

Kubeconfig = Annotated[
    str | None, typer.Option("--kubeconfig", help="Path to the kubeconfig file.", show_default=False)
]
Context = Annotated[str | None, typer.Option("--context", help="The kubeconfig context to use.")]
Namespace = Annotated[
    str | None, typer.Option("-n", "--namespace", help="Namespace (default: the context's namespace).")
]
AllNamespaces = Annotated[bool, typer.Option("-A", "--all-namespaces", help="Inspect every namespace.")]
Selector = Annotated[str | None, typer.Option("-l", "--selector", help="Label selector (kubectl syntax).")]
OutputOpt = Annotated[Output, typer.Option("-o", "--output", help="table, wide, json or yaml.")]
Timeout = Annotated[
    str | None, typer.Option("--request-timeout", help="Per-request timeout, e.g. 5s, 1m, 500ms (0: none).")
]
ExitZero = Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when there are error findings.")]
Verbose = Annotated[
    int, typer.Option("-v", "--verbose", count=True, help="More logging on stderr (-vv: every request).")
]
DNSServer = Annotated[
    str | None,
    typer.Option(
        "--dns-server",
        help="The cluster DNS, HOST[:PORT] (or env INSPECTOR_DNS_SERVER; default: the kube-dns Service, "
        "through the API server's port-forward when outside the cluster).",
        show_default=False,
    ),
]
ClusterDomain = Annotated[
    str | None,
    typer.Option(
        "--cluster-domain",
        help="The cluster's DNS domain (default: what kube-system/coredns says, else cluster.local).",
        show_default=False,
    ),
]
DNSTimeout = Annotated[float, typer.Option("--timeout", help="Seconds to wait for each DNS answer.")]
DNSRetries = Annotated[int, typer.Option("--retries", help="How often to ask again after a DNS timeout.")]


def parse_duration(text: str | None) -> float | None:
    """kubectl's --request-timeout: a number of seconds or a duration such as 500ms, 5s, 1m."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text)
    if not m:
        raise BadInput(f"invalid duration {text!r}: use a non-negative number with ms, s, m or h, e.g. 5s")
    value = float(m[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m[2]]
    return value or None


def _setup_logging(verbose: int) -> None:
    """-v: our progress; -vv: every request we make (method and URL only). The client library's own
    debug logging is never switched on: it would print request headers, bearer tokens included."""
    if not verbose:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    ours = logging.getLogger("inspector")
    ours.addHandler(handler)
    ours.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)


def _connect(
    kubeconfig: str | None, context: str | None, request_timeout: str | None, verbose: int
) -> Cluster:
    timeout = parse_duration(request_timeout)
    _setup_logging(verbose)
    return connect(kubeconfig, context, timeout)


def _emit(text: str) -> None:
    if text:
        typer.echo(text)


def _notes(report: Report) -> None:
    if report.notes:
        typer.echo(rendering.notes_text(report), err=True)


def _findings_status(report: Report, exit_zero: bool) -> int:
    return ExitStatus.OK if exit_zero or report.ok else ExitStatus.ERROR


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kubectl-inspect {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Service-discovery inspector for Kubernetes."""


@app.command("services")
def services(
    name: Annotated[str | None, typer.Argument(help="A Service: show its detail view.")] = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
    all_namespaces: AllNamespaces = False,
    selector: Selector = None,
    output: OutputOpt = Output.table,
    request_timeout: Timeout = None,
    exit_zero: ExitZero = False,
    verbose: Verbose = 0,
) -> int:
    """One row per Service; with NAME, its detail view (pods, near misses, ports, endpoints, findings)."""
    scope = make_scope(namespace, all_namespaces, name, selector)
    report = inspect_cluster(_connect(kubeconfig, context, request_timeout, verbose), scope)
    if output in (Output.json, Output.yaml):
        _emit(rendering.dump(rendering.report_json(report), output))
    elif name is not None:
        _emit("\n\n---\n\n".join(rendering.service_detail(sr) for sr in report.services))
    else:
        _emit(rendering.services_table(report, wide=output is Output.wide) or _none_found(report))
    _notes(report)
    return _findings_status(report, exit_zero)


app.command("svc", help="Alias of services.", hidden=True)(services)


@app.command("endpoints")
def endpoints(
    service: Annotated[str | None, typer.Argument(help="Only this Service.")] = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
    all_namespaces: AllNamespaces = False,
    selector: Selector = None,
    output: OutputOpt = Output.table,
    request_timeout: Timeout = None,
    exit_zero: ExitZero = False,
    verbose: Verbose = 0,
) -> int:
    """Actual endpoints from EndpointSlices beside the expected ones."""
    scope = make_scope(namespace, all_namespaces, service, selector)
    report = inspect_cluster(_connect(kubeconfig, context, request_timeout, verbose), scope)
    if output in (Output.json, Output.yaml):
        _emit(rendering.dump(rendering.endpoints_json(report), output))
    else:
        text = rendering.endpoints_rows_text(
            report.services, with_namespace=rendering.across_namespaces(report)
        )
        _emit(text or _none_found(report))
    _notes(report)
    return _findings_status(report, exit_zero)


app.command("ep", help="Alias of endpoints.", hidden=True)(endpoints)


@app.command("diff")
def diff(
    service: Annotated[str | None, typer.Argument(help="Only this Service.")] = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
    all_namespaces: AllNamespaces = False,
    selector: Selector = None,
    output: OutputOpt = Output.table,
    request_timeout: Timeout = None,
    exit_zero: ExitZero = False,
    verbose: Verbose = 0,
    dns: Annotated[bool, typer.Option("--dns", help="Also check every Service's DNS records.")] = False,
    dns_server: DNSServer = None,
    cluster_domain: ClusterDomain = None,
    timeout: DNSTimeout = 2.0,
    retries: DNSRetries = 1,
) -> int:
    """Expected vs actual endpoints for every Service in scope, and all findings (CI-friendly)."""
    scope = make_scope(namespace, all_namespaces, service, selector)
    dns_options = dnsinspecting.DNSOptions.from_cli(dns_server, cluster_domain, timeout, retries)
    cluster = _connect(kubeconfig, context, request_timeout, verbose)
    report = inspect_cluster(cluster, scope)
    if dns:
        report = dnsinspecting.with_dns(cluster, report, dns_options)
    if output in (Output.json, Output.yaml):
        _emit(rendering.dump(rendering.report_json(report), output))
    else:
        _emit(rendering.diff_text(report))
    _notes(report)
    return _findings_status(report, exit_zero)


class QType(StrEnum):
    A = "A"
    AAAA = "AAAA"
    SRV = "SRV"
    CNAME = "CNAME"


@app.command("resolve")
def resolve(
    name: Annotated[
        str, typer.Argument(help="The name, as a pod would write it (redis-master, svc.ns, ...).")
    ],
    from_namespace: Annotated[
        str | None,
        typer.Option("--from-namespace", help="Resolve as a pod in this namespace would (default: -n)."),
    ] = None,
    from_pod: Annotated[
        str | None,
        typer.Option("--from-pod", help="Resolve as this pod would: its dnsPolicy and dnsConfig count."),
    ] = None,
    qtype: Annotated[QType, typer.Option("-t", "--type", help="The query type.")] = QType.A,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
    output: OutputOpt = Output.table,
    request_timeout: Timeout = None,
    dns_server: DNSServer = None,
    cluster_domain: ClusterDomain = None,
    timeout: DNSTimeout = 2.0,
    retries: DNSRetries = 1,
    verbose: Verbose = 0,
) -> int:
    """Resolve NAME through the cluster DNS as a pod would (search list, ndots), showing every query,
    and compare the answer with what the API says. Exit 1 when it does not resolve or does not match."""
    options = dnsinspecting.DNSOptions.from_cli(dns_server, cluster_domain, timeout, retries)
    cluster = _connect(kubeconfig, context, request_timeout, verbose)
    res = dnsinspecting.resolve_name(
        cluster, name, qtype.value, options, from_namespace or namespace, from_pod
    )
    if output in (Output.json, Output.yaml):
        _emit(rendering.dump(dnsrendering.resolution_json(res), output))
    else:
        _emit(dnsrendering.resolution_text(res))
    return ExitStatus.OK if res.ok else ExitStatus.ERROR


@app.command("dns")
def dns(
    service: Annotated[str | None, typer.Argument(help="Only this Service.")] = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
    all_namespaces: AllNamespaces = False,
    selector: Selector = None,
    output: OutputOpt = Output.table,
    request_timeout: Timeout = None,
    exit_zero: ExitZero = False,
    dns_server: DNSServer = None,
    cluster_domain: ClusterDomain = None,
    timeout: DNSTimeout = 2.0,
    retries: DNSRetries = 1,
    verbose: Verbose = 0,
) -> int:
    """The DNS oracle: every Service's records (A/AAAA, SRV per named port, headless per-pod records,
    CNAME) as the API says they should be, against what the cluster DNS answers."""
    scope = make_scope(namespace, all_namespaces, service, selector)
    options = dnsinspecting.DNSOptions.from_cli(dns_server, cluster_domain, timeout, retries)
    cluster = _connect(kubeconfig, context, request_timeout, verbose)
    report = inspect_cluster(cluster, scope)
    checks, server = dnsinspecting.inspect_dns(cluster, report, options)
    if output in (Output.json, Output.yaml):
        _emit(rendering.dump(dnsrendering.dns_json(report, checks, server), output))
    else:
        _emit(dnsrendering.dns_text(report, checks, server))
    _notes(report)
    failed = any(f.severity is Severity.ERROR for c in checks for f in c.findings)
    return ExitStatus.ERROR if failed and not exit_zero else ExitStatus.OK


@app.command("pods")
def pods(
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
    all_namespaces: AllNamespaces = False,
    selector: Annotated[str | None, typer.Option("-l", "--selector", help="Filter pods by label.")] = None,
    output: OutputOpt = Output.table,
    request_timeout: Timeout = None,
    verbose: Verbose = 0,
) -> int:
    """Labelled pods: labels, IP, readiness, node, and which Services select each pod."""
    scope = make_scope(namespace, all_namespaces)
    pod_selector = parse_selector(selector) if selector else None
    cluster = _connect(kubeconfig, context, request_timeout, verbose)
    snapshot = cluster.snapshot(scope.namespace_in(cluster))
    report = inspect_snapshot(snapshot)
    chosen = [
        p
        for p in sorted(snapshot.pods, key=lambda p: (p.namespace, p.name))
        if pod_selector is None or pod_selector.matches(p.labels)
    ]
    rows = rendering.pods_with_services(report, chosen)
    if output in (Output.json, Output.yaml):
        _emit(rendering.dump(rendering.pods_json(rows), output))
    else:
        table = rendering.pods_table(
            rows, wide=output is Output.wide, with_namespace=rendering.across_namespaces(report)
        )
        _emit(table or "No pods found.")
    _notes(report)
    return ExitStatus.OK


class WaitFor(StrEnum):
    endpoints = "endpoints"
    dns = "dns"
    all = "all"


@app.command("wait")
def wait(
    services: Annotated[
        list[str], typer.Argument(help="Services to wait for: NAME (in -n) or NAMESPACE/NAME.")
    ],
    for_: Annotated[WaitFor, typer.Option("--for", help="endpoints, dns or all.")] = WaitFor.endpoints,
    timeout: Annotated[str, typer.Option("--timeout", help="Give up after this long, e.g. 60s, 2m.")] = "60s",
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    namespace: Namespace = None,
    output: OutputOpt = Output.table,
    request_timeout: Timeout = None,
    dns_server: DNSServer = None,
    cluster_domain: ClusterDomain = None,
    verbose: Verbose = 0,
) -> int:
    """Wait until every named Service is discoverable: with --for endpoints (the default) all expected
    endpoints present and nothing stale; with --for dns every record of it answering as the API says;
    with --for all both. Exit 0, or 1 at the timeout with what is still missing explained. Follows
    changes with watches."""
    limit = parse_duration(timeout) or 0.0
    if namespace is not None:
        validate_name(namespace, "namespace")
    dns_options = dnsinspecting.DNSOptions.from_cli(dns_server, cluster_domain, 2.0, 1)
    cluster = _connect(kubeconfig, context, request_timeout, verbose)
    targets = parse_targets(services, namespace or cluster.namespace)
    dns_check = None if for_ is WaitFor.endpoints else dnsinspecting.dns_drift(cluster, dns_options)
    result = wait_for(cluster, targets, limit, dns_check=dns_check, endpoints=for_ is not WaitFor.dns)
    if output in (Output.json, Output.yaml):
        _emit(
            rendering.dump(
                {
                    "ok": result.ok,
                    "elapsed": round(result.elapsed, 3),
                    "events": result.events,
                    "services": result.drift,
                },
                output,
            )
        )
    elif result.ok:
        for sr in result.report.services:
            _emit(f"{sr.service.key}: discoverable, {sum(e.ready for e in sr.actual)} ready endpoint(s)")
        _emit(f"after {result.elapsed:.1f}s")
    else:
        _emit(result.explain())
    return ExitStatus.OK if result.ok else ExitStatus.ERROR


def _none_found(report: Report) -> str:
    ns = report.snapshot.namespaces
    where = "any namespace" if ns is None else f"namespace {', '.join(ns)}"
    return f"No Services found in {where}."


def run(argv: list[str] | None = None) -> int:
    """The main program; failures become exit statuses here and nowhere else."""
    try:
        result = app(args=argv, standalone_mode=False, prog_name="kubectl-inspect")
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        typer.echo("interrupted", err=True)
        return ExitStatus.INTERRUPTED
    except typer.TyperException as exc:  # typer's (vendored click) usage errors
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]
            return ExitStatus.USAGE
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        typer.echo(f"error: {' '.join(message.split())}{hint}", err=True)
        return ExitStatus.USAGE
    except InspectorError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_status
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        return ExitStatus.OK
    except Exception as exc:  # a bug of ours: still one line, unless asked for the traceback
        if os.environ.get("INSPECTOR_DEBUG"):
            raise
        typer.echo(
            f"internal error, please report it (INSPECTOR_DEBUG=1 shows the traceback): "
            f"{exc.__class__.__name__}: {exc}",
            err=True,
        )
        return ExitStatus.ERROR
    if result == ExitStatus.INTERRUPTED:  # typer turns Ctrl-C into a returned 130, silently
        typer.echo("interrupted", err=True)
    return int(result) if isinstance(result, int) else ExitStatus.OK


def main() -> None:
    sys.exit(run())


__all__ = ["main", "run"]
