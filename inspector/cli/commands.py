"""The commands: typer's options and arguments, each command's few steps, and `run`, the one place
failures become exit statuses.

Options follow kubectl (`--kubeconfig`, `--context`, `-n`, `-A`, `-l`, `-o`, `--request-timeout`)
and are accepted after the command, as `kubectl svc-inspect diff -A -o json`; so are kubectl's `-v=N`,
`--no-headers` and `-o name`. Nothing here imports the
Kubernetes or DNS client at import time: each command imports the tiers it uses when it runs.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import inspect
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from inspector import __version__
from inspector.cli import completing
from inspector.cli.durations import parse_duration, parse_seconds
from inspector.errors import BadInput, InspectorError
from inspector.status import ExitStatus

if TYPE_CHECKING:
    from inspector.diagnosis.report import Report, ServiceReport
    from inspector.kube.connection import Client
    from inspector.live.asking import DNSOptions


class Output(StrEnum):
    table = "table"
    wide = "wide"
    json = "json"
    yaml = "yaml"
    name = "name"  # as kubectl: `service/<name>`, one a line
    dot = "dot"  # the Graphviz picture (services, diff)
    svg = "svg"  # the picture rendered by Graphviz's `dot`


DOCUMENTS = frozenset({Output.table, Output.wide, Output.json, Output.yaml})
NAMED = DOCUMENTS | {Output.name}
PICTURED = NAMED | {Output.dot, Output.svg}


class QType(StrEnum):  # resolve -t
    A = "A"
    AAAA = "AAAA"
    SRV = "SRV"
    CNAME = "CNAME"
    PTR = "PTR"
    TXT = "TXT"


class WaitFor(StrEnum):  # wait --for
    endpoints = "endpoints"
    dns = "dns"
    all = "all"


PROG = "kubectl svc-inspect"  # how kubectl runs the executable kubectl-svc_inspect

app = typer.Typer(
    name=PROG,
    help="Service-discovery inspector: Services, EndpointSlices, pods and cluster DNS, expected vs actual.",
    add_completion=True,  # --show-completion / --install-completion for the bare executable
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

Kubeconfig = Annotated[
    str | None, typer.Option("--kubeconfig", help="Path to the kubeconfig file.", show_default=False)
]
Context = Annotated[
    str | None,
    typer.Option(
        "--context", help="The kubeconfig context to use.", autocompletion=completing.context_values
    ),
]
Namespace = Annotated[
    str | None,
    typer.Option(
        "-n",
        "--namespace",
        help="Namespace (default: the context's namespace).",
        autocompletion=completing.namespace_values,
    ),
]
AllNamespaces = Annotated[bool, typer.Option("-A", "--all-namespaces", help="Inspect every namespace.")]
Selector = Annotated[str | None, typer.Option("-l", "--selector", help="Label selector (kubectl syntax).")]
OutputOpt = Annotated[
    Output,
    typer.Option(
        "-o",
        "--output",
        help="table, wide, json or yaml; name (services, endpoints, pods, diff); dot or svg (services, diff).",
    ),
]
ServiceArg = Annotated[
    str | None, typer.Argument(help="Only this Service.", autocompletion=completing.service_values)
]
NoHeaders = Annotated[bool, typer.Option("--no-headers", help="Leave out the tables' header line.")]
WatchOpt = Annotated[
    bool,
    typer.Option(
        "-w", "--watch", help="After the table, print one line per change until Ctrl-C (table or wide only)."
    ),
]
RequestTimeout = Annotated[
    str | None,
    typer.Option("--request-timeout", help="Per-request timeout, e.g. 5s, 1m30s, 500ms (0: none)."),
]
ExitZero = Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when there are error findings.")]
Verbose = Annotated[
    int,
    typer.Option(
        "-v", "--verbose", count=True, help="More logging on stderr (-vv or -v=2 and up: every request)."
    ),
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
DNSTimeout = Annotated[
    str, typer.Option("--timeout", help="How long to wait for each DNS answer, e.g. 2s, 500ms.")
]
DNSRetries = Annotated[int, typer.Option("--retries", help="How often to ask again after a DNS timeout.")]


# --------------------------------------------------------------------------- options every command shares


@dataclass(frozen=True, slots=True)
class Common:
    """The options of every command that reads the cluster."""

    kubeconfig: str | None
    context: str | None
    namespace: str | None
    output: Output
    request_timeout: str | None
    verbose: int

    def connect(self) -> Client:
        from inspector.kube.connection import connect

        timeout = parse_duration(self.request_timeout)
        _setup_logging(self.verbose)
        return connect(self.kubeconfig, self.context, timeout)

    @property
    def as_document(self) -> bool:
        return self.output in (Output.json, Output.yaml)

    def allow(self, outputs: frozenset[Output], command: str) -> None:
        """Bad input, before any request, when this command has no such output."""
        if self.output not in outputs:
            known = ", ".join(o.value for o in Output if o in outputs)
            raise BadInput(f"{command} has no output {self.output.value!r} (it has {known})")
        if self.output is Output.svg:
            from inspector.output.pictures import check_renderer

            check_renderer()


@dataclass(frozen=True, slots=True)
class Scoped(Common):
    """... and of every command that reads Services: which ones, and the exit status's strictness."""

    all_namespaces: bool
    selector: str | None
    exit_zero: bool

    def report(self, name: str | None) -> tuple[Client, Report]:
        """The connection (to close) and the report of the Services in scope."""
        from inspector.live.inspecting import inspect_cluster, make_scope

        scope = make_scope(self.namespace, self.all_namespaces, name, self.selector)
        client = self.connect()
        try:
            return client, inspect_cluster(client, scope)
        except BaseException:
            client.close()
            raise

    def status(self, failed: bool) -> int:
        return ExitStatus.ERROR if failed and not self.exit_zero else ExitStatus.OK


_OPTIONS: dict[str, tuple[Any, Any]] = {
    "kubeconfig": (Kubeconfig, None),
    "context": (Context, None),
    "namespace": (Namespace, None),
    "all_namespaces": (AllNamespaces, False),
    "selector": (Selector, None),
    "output": (OutputOpt, Output.table),
    "request_timeout": (RequestTimeout, None),
    "exit_zero": (ExitZero, False),
    "verbose": (Verbose, 0),
}


def _with_options(kind: type[Common]) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Gives a command the options of `kind` (typer sees them in its signature) and hands them to it
    as one `opts` value, so that each is declared once for all commands."""
    names = [f.name for f in fields(kind)]

    def decorate(command: Callable[..., int]) -> Callable[..., int]:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "opts"]
        shared = [
            inspect.Parameter(
                n, inspect.Parameter.KEYWORD_ONLY, default=_OPTIONS[n][1], annotation=_OPTIONS[n][0]
            )
            for n in names
        ]

        @functools.wraps(command)
        def with_opts(**kwargs: Any) -> int:
            opts = kind(**{n: kwargs.pop(n) for n in names})
            return command(opts=opts, **kwargs)

        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + shared
        with_opts.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        with_opts.__annotations__ = {p.name: p.annotation for p in params}
        del with_opts.__wrapped__  # typer reads the signature above, not the command's own
        return with_opts

    return decorate


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


def _dns_options(server: str | None, domain: str | None, timeout: str, retries: int) -> DNSOptions:
    from inspector.live.asking import DNSOptions

    return DNSOptions.from_cli(server, domain, parse_seconds(timeout), retries)


def _emit(text: str) -> None:
    if text:
        typer.echo(text)


def _document(data: Any, output: Output) -> None:
    from inspector.output.documents import dump, write_json

    if output is Output.json and isinstance(data, dict):  # written as it is made (a lazy document)
        write_json(data, sys.stdout.write)
        sys.stdout.write("\n")
        return
    _emit(dump(data, output.value))


def _notes(report: Report) -> None:
    from inspector.output.text import notes_text

    if report.notes:
        typer.echo(notes_text(report), err=True)


def _told(opts: Common, document: Callable[[], Any], text: Callable[[], str]) -> None:
    """The document `-o json|yaml` asks for, else the text."""
    if opts.as_document:
        _document(document(), opts.output)
    else:
        _emit(text())


def _answered(opts: Common, document: Callable[[], Any], text: Callable[[], str], ok: bool) -> int:
    """The answer told, and the exit status it calls for."""
    _told(opts, document, text)
    return ExitStatus.OK if ok else ExitStatus.ERROR


def _shown(opts: Scoped, report: Report, document: Callable[[], Any], text: Callable[[], str]) -> int:
    """Shows the report as the document or the text `-o` asks for, its notes on stderr; the exit
    status its findings call for."""
    if opts.as_document:
        _document(document(), opts.output)
    elif opts.output in (Output.dot, Output.svg):
        from inspector.output import pictures

        graph = pictures.dot_graph(report)
        _emit(graph if opts.output is Output.dot else pictures.render(graph))
    else:
        _emit(text())
    _notes(report)
    return opts.status(not report.ok)


def _listed(
    opts: Scoped,
    name: str | None,
    watch: bool,
    names: Callable[[Report], str],
    table: Callable[[Report], str],
    document: Callable[[Report], Any],
) -> int:
    """A command that lists what the report says of the Services in scope: `-o name` lists their
    names, a table (or detail view) otherwise; `-w` follows it, or it is shown once."""

    def shown(report: Report) -> str:
        if opts.output is Output.name:
            return names(report)
        return table(report) or _none_found(report)

    if watch:
        return _followed(opts, name, shown)
    client, report = opts.report(name)
    client.close()
    return _shown(opts, report, lambda: document(report), lambda: shown(report))


def _followed(opts: Scoped, name: str | None, first: Callable[[Report], str]) -> int:
    """-w: the command's own text, then one line per change (endpoints, findings, Services), as
    `kubectl get -w`; only Ctrl-C ends it (one line, 130)."""
    if opts.output not in (Output.table, Output.wide):
        raise BadInput(
            f"-w prints a table, then one line per change: it cannot be combined with -o {opts.output}"
        )
    from inspector.diagnosis.changes import report_changes
    from inspector.live.following import follow
    from inspector.live.inspecting import make_scope
    from inspector.live.waiting import watch_seconds
    from inspector.output.text import change_line

    scope = make_scope(opts.namespace, opts.all_namespaces, name, opts.selector)
    seconds = watch_seconds()
    with opts.connect() as client:
        reports = follow(client, scope, watch_seconds=seconds, notify=_told_on_stderr)
        try:
            before = next(reports)
            typer.echo(first(before))
            _notes(before)
            for report in reports:
                for change in report_changes(before, report):
                    typer.echo(change_line(change))
                before = report
        finally:
            reports.close()  # stops the watches, joins their threads
    return ExitStatus.OK


def _told_on_stderr(line: str) -> None:
    """What a watcher tells while it runs (the API server away, and back): one line on stderr."""
    typer.echo(line, err=True)


def _none_found(report: Report) -> str:
    ns = report.snapshot.namespaces
    where = "any namespace" if ns is None else f"namespace {', '.join(ns)}"
    return f"No Services found in {where}."


def _version(value: bool) -> None:
    if value:
        typer.echo(f"{PROG} {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Service-discovery inspector for Kubernetes."""


# --------------------------------------------------------------------------- the commands


@app.command("services")
@_with_options(Scoped)
def services(
    opts: Scoped,
    name: Annotated[
        str | None,
        typer.Argument(help="A Service: show its detail view.", autocompletion=completing.service_values),
    ] = None,
    no_headers: NoHeaders = False,
    watch: WatchOpt = False,
) -> int:
    """One row per Service; with NAME, its detail view (pods, near misses, ports, endpoints, findings)."""
    from inspector.output import documents, tables

    opts.allow(PICTURED, "services")

    def table(report: Report) -> str:
        if name is not None:
            return "\n\n---\n\n".join(
                tables.service_detail(sr, _detail_sections(report, sr)) for sr in report.services
            )
        return tables.services_table(report, wide=opts.output is Output.wide, no_headers=no_headers)

    return _listed(
        opts,
        name,
        watch,
        lambda r: tables.service_names(r.services),
        table,
        lambda r: documents.report_json(r, lazy=True),
    )


app.command("svc", help="Alias of services.", hidden=True)(services)


def _detail_sections(report: Report, sr: ServiceReport) -> list[tuple[str, str]]:
    """The routes leading to the Service and the NetworkPolicies isolating its ready endpoints."""
    from inspector.diagnosis.reach import reachability
    from inspector.model.netpol import Client as PolicyClient
    from inspector.output import reachviews

    sections = []
    if sr.routes:
        sections.append(("Routes leading here", reachviews.routes_rows(sr.routes, with_service=False)))
    svc = sr.service
    if svc.selects_pods and any(p.namespace == svc.namespace for p in report.snapshot.network_policies):
        reach = reachability(report.snapshot, svc, PolicyClient.in_namespace(svc.namespace))
        sections.append(
            (
                "NetworkPolicies on the ready endpoints (reach --from-namespace NS for another client)",
                reachviews.policies_section(reach),
            )
        )
    return sections


@app.command("endpoints")
@_with_options(Scoped)
def endpoints(
    opts: Scoped,
    service: ServiceArg = None,
    no_headers: NoHeaders = False,
    watch: WatchOpt = False,
) -> int:
    """Actual endpoints from EndpointSlices beside the expected ones."""
    from inspector.output import documents, tables

    opts.allow(NAMED, "endpoints")
    return _listed(
        opts,
        service,
        watch,
        lambda r: tables.slice_names(r.services),
        lambda r: tables.endpoints_rows_text(
            r.services, with_namespace=tables.across_namespaces(r), no_headers=no_headers
        ),
        documents.endpoints_json,
    )


app.command("ep", help="Alias of endpoints.", hidden=True)(endpoints)


@app.command("diff")
@_with_options(Scoped)
def diff(
    opts: Scoped,
    service: ServiceArg = None,
    dns: Annotated[bool, typer.Option("--dns", help="Also check every Service's DNS records.")] = False,
    from_namespace: Annotated[
        str | None,
        typer.Option(
            "--from-namespace",
            help="Also judge the NetworkPolicies for a pod of this namespace: may it reach each Service "
            "and kube-dns?",
        ),
    ] = None,
    dns_server: DNSServer = None,
    cluster_domain: ClusterDomain = None,
    timeout: DNSTimeout = "2s",
    retries: DNSRetries = 1,
    watch: WatchOpt = False,
) -> int:
    """Expected vs actual endpoints for every Service in scope, and all findings (CI-friendly)."""
    from inspector.output import documents, tables, text

    opts.allow(PICTURED, "diff")
    if watch:
        if dns:
            raise BadInput("-w follows the API's objects; --dns cannot be combined with it")
        return _followed(opts, service, text.explain)
    dns_options = _dns_options(dns_server, cluster_domain, timeout, retries) if dns else None
    if from_namespace is not None:
        from inspector.model.names import validate_name

        validate_name(from_namespace, "namespace")
    client, report = opts.report(service)
    with client:
        if from_namespace is not None:
            from inspector.live.inspecting import with_client_findings

            report = with_client_findings(client, report, from_namespace)
        if dns_options is not None:
            from inspector.live.asking import with_dns

            report = with_dns(client, report, dns_options)

    def words() -> str:
        if opts.output is Output.name:  # the Services that are not ok, for xargs
            return tables.service_names(sr for sr in report.services if sr.status.value != "ok")
        return text.explain(report)

    return _shown(opts, report, lambda: documents.report_json(report, lazy=True), words)


@app.command("resolve")
@_with_options(Common)
def resolve(
    opts: Common,
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
    dns_server: DNSServer = None,
    cluster_domain: ClusterDomain = None,
    timeout: DNSTimeout = "2s",
    retries: DNSRetries = 1,
) -> int:
    """Resolve NAME through the cluster DNS as a pod would (search list, ndots), showing every query,
    and compare the answer with what the API says. Exit 1 when it does not resolve or does not match."""
    from inspector.live.asking import resolve_name
    from inspector.output import dnsviews

    opts.allow(DOCUMENTS, "resolve")
    options = _dns_options(dns_server, cluster_domain, timeout, retries)
    with opts.connect() as client:
        res = resolve_name(client, name, qtype.value, options, from_namespace or opts.namespace, from_pod)
    return _answered(
        opts, lambda: dnsviews.resolution_json(res), lambda: dnsviews.resolution_text(res), res.ok
    )


@app.command("dns")
@_with_options(Scoped)
def dns(
    opts: Scoped,
    service: ServiceArg = None,
    dns_server: DNSServer = None,
    cluster_domain: ClusterDomain = None,
    timeout: DNSTimeout = "2s",
    retries: DNSRetries = 1,
    tcp: Annotated[
        bool, typer.Option("--dns-tcp", help="Ask over TCP only (default: UDP, TCP on truncation).")
    ] = False,
) -> int:
    """The DNS oracle: every Service's records (A/AAAA, SRV per named port, headless per-pod records,
    PTR, pod records, CNAME, the dns-version TXT) as the API says they should be, against what every
    ready CoreDNS replica answers (or the one --dns-server)."""
    from inspector.live.asking import inspect_dns
    from inspector.model.findings import Severity
    from inspector.output import dnsviews

    opts.allow(DOCUMENTS, "dns")
    options = dataclasses.replace(_dns_options(dns_server, cluster_domain, timeout, retries), tcp=tcp)
    client, report = opts.report(service)
    with client:
        found = inspect_dns(client, report, options)
    checks, server, replicas, others = found.checks, found.server, found.replicas, found.findings
    _told(
        opts,
        lambda: dnsviews.dns_json(report, checks, server, replicas, others),
        lambda: dnsviews.dns_text(report, checks, server, replicas, others),
    )
    _notes(report)
    errors = [*(f for c in checks for f in c.findings), *others]
    return opts.status(any(f.severity is Severity.ERROR for f in errors))


@app.command("reach")
@_with_options(Common)
def reach(
    opts: Common,
    service: Annotated[str, typer.Argument(help="The Service (in -n, or the context's namespace).")],
    from_namespace: Annotated[
        str | None, typer.Option("--from-namespace", help="The client: a pod of this namespace.")
    ] = None,
    from_pod: Annotated[
        str | None,
        typer.Option(
            "--from-pod", help="The client: this pod, POD (in -n) or NS/POD, with its labels and IP."
        ),
    ] = None,
    from_labels: Annotated[
        str | None,
        typer.Option("--from-labels", help="With --from-namespace: the client pod's labels, KEY=VALUE,..."),
    ] = None,
) -> int:
    """May this client reach every ready endpoint of SERVICE, and kube-dns? The NetworkPolicy verdict
    per endpoint (the endpoint pod's ingress, the client's egress), naming every policy that selects
    either side and the rule that decides. Exit 0 when all are reachable, 1 when any is denied."""
    from inspector.live.inspecting import check_reach_options, reach_service
    from inspector.model.names import validate_name
    from inspector.output import reachviews

    check_reach_options(service, from_namespace, from_pod, from_labels)
    if opts.namespace is not None:
        validate_name(opts.namespace, "namespace")
    with opts.connect() as client:
        result, snapshot = reach_service(
            client, opts.namespace or client.namespace, service, from_namespace, from_pod, from_labels
        )
    _told(opts, result.as_json, lambda: reachviews.reach_text(result))
    if snapshot.notes:
        typer.echo("\n".join(f"note: {n}" for n in snapshot.notes), err=True)
    return ExitStatus.OK if result.reachable else ExitStatus.ERROR


@app.command("pods")
@_with_options(Common)
def pods(
    opts: Common,
    all_namespaces: AllNamespaces = False,
    selector: Annotated[str | None, typer.Option("-l", "--selector", help="Filter pods by label.")] = None,
    no_headers: NoHeaders = False,
) -> int:
    """Labelled pods: labels, IP, readiness, node, and which Services select each pod."""
    from inspector.diagnosis.report import inspect_snapshot
    from inspector.live.inspecting import make_scope
    from inspector.live.reading import read_snapshot
    from inspector.model.selectors import parse_selector
    from inspector.output import documents, tables

    opts.allow(NAMED, "pods")
    scope = make_scope(opts.namespace, all_namespaces)
    pod_selector = parse_selector(selector) if selector else None
    with opts.connect() as client:
        snapshot = read_snapshot(client, scope.namespace_in(client))
    report = inspect_snapshot(snapshot)
    chosen = [
        p
        for p in sorted(snapshot.pods, key=lambda p: (p.namespace, p.name))
        if pod_selector is None or pod_selector.matches(p.labels)
    ]
    rows = tables.pods_with_services(report, chosen)
    if opts.as_document:
        _document(documents.pods_json(rows), opts.output)
    elif opts.output is Output.name:
        _emit("\n".join(f"pod/{p.name}" for p, _ in rows))
    else:
        table = tables.pods_table(
            rows,
            wide=opts.output is Output.wide,
            with_namespace=tables.across_namespaces(report),
            no_headers=no_headers,
        )
        _emit(table or "No pods found.")
    _notes(report)
    return ExitStatus.OK


@app.command("wait")
@_with_options(Common)
def wait(
    opts: Common,
    services: Annotated[
        list[str],
        typer.Argument(
            help="Services to wait for: NAME (in -n) or NAMESPACE/NAME.",
            autocompletion=completing.service_values,
        ),
    ],
    for_: Annotated[WaitFor, typer.Option("--for", help="endpoints, dns or all.")] = WaitFor.endpoints,
    timeout: Annotated[
        str, typer.Option("--timeout", help="Give up after this long, e.g. 60s, 2m, 1m30s.")
    ] = "60s",
    dns_server: DNSServer = None,
    cluster_domain: ClusterDomain = None,
) -> int:
    """Wait until every named Service is discoverable: with --for endpoints (the default) all expected
    endpoints present and nothing stale; with --for dns every record of it answering as the API says;
    with --for all both. Exit 0, or 1 at the timeout with what is still missing explained. Follows
    changes with watches."""
    from inspector.diagnosis.readiness import parse_targets
    from inspector.live.waiting import wait_for, watch_seconds
    from inspector.model.names import validate_name
    from inspector.output import documents, text

    opts.allow(DOCUMENTS, "wait")
    limit = parse_duration(timeout) or 0.0
    if opts.namespace is not None:
        validate_name(opts.namespace, "namespace")
    seconds = watch_seconds()  # a bad INSPECTOR_WATCH_SECONDS is bad input before any request
    dns_options = _dns_options(dns_server, cluster_domain, "2s", 1) if for_ is not WaitFor.endpoints else None
    with opts.connect() as client:
        targets = parse_targets(services, opts.namespace or client.namespace)
        dns_check = None
        if dns_options is not None:
            from inspector.live.asking import dns_drift

            dns_check = dns_drift(client, dns_options)
        result = wait_for(
            client,
            targets,
            limit,
            dns_check=dns_check,
            endpoints=for_ is not WaitFor.dns,
            watch_seconds=seconds,
            notify=_told_on_stderr,
        )
    return _answered(opts, lambda: documents.wait_json(result), lambda: text.wait_text(result), result.ok)


@app.command("why")
@_with_options(Common)
def why(
    opts: Common,
    service: Annotated[
        str,
        typer.Argument(
            help="The Service as a client writes its name: NAME, NAME.NAMESPACE, NAME.NAMESPACE.svc"
        ),
    ],
    from_namespace: Annotated[
        str | None,
        typer.Option("--from-namespace", help="Probe from a pod in this namespace (default: the Service's)."),
    ] = None,
    from_pod: Annotated[
        str | None,
        typer.Option(
            "--from-pod",
            help="Probe from this running pod (in --from-namespace or the Service's namespace), in an "
            "ephemeral container: it stays in the pod's spec.",
        ),
    ] = None,
    image: Annotated[
        str, typer.Option("--image", help="The probe's image (it needs agnhost, sh and getent).")
    ] = "registry.k8s.io/e2e-test-images/agnhost:2.66.1",
    keep: Annotated[
        bool, typer.Option("--keep", help="Keep the probe pod (to look at it afterwards).")
    ] = False,
) -> int:
    """Why a Service does not work: the Debug Services checklist, automated, from inside the cluster.
    Follows the chain (Service, selector, readiness, endpoints, DNS from the client, each endpoint, the
    ClusterIP, node ports, hairpin) and stops at the first broken link. Creates and deletes a short-lived
    probe pod (deploy/rbac-why.yaml); without that permission only the API-side steps run. Exit 1 when a
    step fails."""
    from inspector.live.troubleshooting import validate_arguments, why_service
    from inspector.output import whyviews

    validate_arguments(service, opts.namespace, from_namespace, from_pod, image)  # before any request
    with opts.connect() as client, _interruptible():
        verdict = why_service(
            client,
            service,
            opts.namespace,
            from_namespace=from_namespace,
            from_pod=from_pod,
            image=image,
            keep=keep,
            notify=lambda line: typer.echo(line, err=True),
        )
    return _answered(opts, lambda: whyviews.why_json(verdict), lambda: whyviews.why_text(verdict), verdict.ok)


@contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt here instead of ending the process at once (the CLI's usual
    handler), so that `why` deletes its probe pod on the way out; a second Ctrl-C during that
    clean-up is ignored."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# --------------------------------------------------------------------------- failures become exits


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """The command's process is ours: its cycle collector is paused while a command runs. Reading a
    snapshot and inspecting it make hundreds of thousands of objects without reference cycles, and
    each burst of allocations made the collector rescan everything (measured at 20,000 pods: reading
    5.5-6.1 s with the collector, 2.9-3.1 s without; inspecting 0.83-0.88 s against 0.45-0.54 s).
    Library calls (`inspector.inspect`, `assert_discoverable`) leave the user's process alone."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


EXECUTABLE = "kubectl-svc_inspect"
COMPLETE_VAR = "_KUBECTL_SVC_INSPECT_COMPLETE"


def _prog_name(argv: list[str] | None) -> str:
    """`kubectl svc-inspect` in help and errors; the executable's own name where a shell completes it
    (the completion scripts name the program they complete)."""
    args = sys.argv[1:] if argv is None else argv
    completing_itself = os.environ.get(COMPLETE_VAR) or {"--show-completion", "--install-completion"} & {
        a.partition("=")[0] for a in args
    }
    return EXECUTABLE if completing_itself else PROG


def kubectl_verbosity(argv: list[str] | None) -> list[str]:
    """kubectl's `-v=N` (and `--v=N`) as N times `-v`: 1 logs our progress, 2 and more every request.
    A level that is not a number is left for the parser to refuse."""
    args = sys.argv[1:] if argv is None else argv
    out: list[str] = []
    for arg in args:
        if arg == "--":
            return out + args[len(out) :]
        head, eq, level = arg.partition("=")
        if head in ("-v", "--v") and eq and level.isdigit():
            out += ["-v"] * min(int(level), 10)
        else:
            out.append(arg)
    return out


def run(argv: list[str] | None = None) -> int:
    """The main program; failures become exit statuses here and nowhere else."""
    try:
        with _cycle_collector_paused():
            result = app(args=kubectl_verbosity(argv), standalone_mode=False, prog_name=_prog_name(argv))
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
