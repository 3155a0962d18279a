"""The commands: each command's few steps, from its options to a live run and the answer shown.

Nothing here imports the Kubernetes or DNS client at import time: each command imports the tiers it
uses when it runs. Failures are not handled here: `inspector.cli.running` is the one place they
become exit statuses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from inspector import __version__
from inspector.cli import candidates, showing
from inspector.cli.durations import parse_duration
from inspector.cli.options import (
    DOCUMENTS,
    NAMED,
    PICTURED,
    PROG,
    AllNamespaces,
    ClusterDomain,
    Common,
    DNSRetries,
    DNSServer,
    DNSTimeout,
    Filenames,
    Fleeted,
    NoHeaders,
    OfflineOpt,
    Output,
    QType,
    Recursive,
    Scoped,
    ServiceArg,
    WaitFor,
    WatchOpt,
    files_given,
    with_options,
)
from inspector.errors import BadInput
from inspector.status import ExitStatus

if TYPE_CHECKING:
    import threading

    from inspector.cli import exposing
    from inspector.diagnosis.reach import Reachability
    from inspector.diagnosis.report import Report
    from inspector.kube.connection import Client
    from inspector.live.fleet import Fleet
    from inspector.live.planning import Files
    from inspector.model.snapshot import Snapshot

app = typer.Typer(
    name=PROG,
    help="Service-discovery inspector: Services, EndpointSlices, pods and cluster DNS, expected vs actual.",
    add_completion=True,  # --show-completion / --install-completion for the bare executable
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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
@with_options(Fleeted)
def services(
    opts: Fleeted,
    name: Annotated[
        str | None,
        typer.Argument(help="A Service: show its detail view.", autocompletion=candidates.service_values),
    ] = None,
    no_headers: NoHeaders = False,
    watch: WatchOpt = False,
    filename: Filenames = None,
    recursive: Recursive = False,
    offline: OfflineOpt = False,
) -> int:
    """One row per Service; with NAME, its detail view (pods, near misses, ports, endpoints, findings).
    With -f, as it will be once those manifests are applied (--offline: the files alone)."""
    from inspector.live.viewing import service_details
    from inspector.output import documents, reachviews, tables

    opts.allow(PICTURED, "services")
    files = files_given(filename, recursive, offline)

    def table(report: Report) -> str:
        if name is not None:
            return "\n\n---\n\n".join(
                tables.service_detail(d.service, reachviews.detail_sections(d.service.routes, d.policies))
                for d in service_details(report)
            )
        return tables.services_table(report, wide=opts.output is Output.wide, no_headers=no_headers)

    fleet = opts.fleet(watch)
    if fleet is not None:
        if files is not None:
            raise BadInput(
                "--contexts and --all-contexts judge live clusters; they cannot be combined with -f"
            )
        from inspector.live.fleet import inspect_fleet
        from inspector.live.inspecting import make_scope
        from inspector.output import fleetviews

        results = inspect_fleet(fleet, make_scope(opts.namespace, opts.all_namespaces, name, opts.selector))

        def fleet_text() -> str:
            if name is not None:
                return fleetviews.per_context_text(results, table)
            wide = opts.output is Output.wide
            return fleetviews.services_fleet_table(results, wide, no_headers) or "No Services found."

        return showing.fleet_shown(
            opts,
            results,
            documents.report_json,
            documents.summary_json,
            fleet_text,
            failed=lambda r: not r.ok,
            report=lambda r: r,
        )

    return showing.listed(
        opts,
        name,
        watch,
        lambda r: tables.service_names(r.services),
        table,
        lambda r: documents.report_json(r, lazy=True),
        files,
    )


app.command("svc", help="Alias of services.", hidden=True)(services)


@app.command("endpoints")
@with_options(Scoped)
def endpoints(
    opts: Scoped,
    service: ServiceArg = None,
    no_headers: NoHeaders = False,
    watch: WatchOpt = False,
) -> int:
    """Actual endpoints from EndpointSlices beside the expected ones."""
    from inspector.output import documents, tables

    opts.allow(NAMED, "endpoints")
    return showing.listed(
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
@with_options(Fleeted)
def diff(
    opts: Fleeted,
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
    filename: Filenames = None,
    recursive: Recursive = False,
    offline: OfflineOpt = False,
) -> int:
    """Expected vs actual endpoints for every Service in scope, and all findings (CI-friendly). With -f,
    what applying those manifests would do: laid over the cluster (nothing is written), or with
    --offline the files alone."""
    from inspector.output import documents, tables, text

    opts.allow(PICTURED, "diff")
    files = files_given(filename, recursive, offline)
    if watch:
        if dns:
            raise BadInput("-w follows the API's objects; --dns cannot be combined with it")
        if files is not None:
            raise BadInput("-w follows the cluster as it changes; it cannot be combined with -f")
        return showing.followed(opts, service, text.explain)
    if dns and files is not None:
        raise BadInput(
            "--dns asks the cluster DNS, which cannot answer for files not applied yet: "
            "`dns --offline -f` lists the records they will have"
        )
    if from_namespace is not None:
        from inspector.model.names import validate_name

        validate_name(from_namespace, "namespace")
    fleet = opts.fleet()
    if fleet is not None:
        if files is not None:
            raise BadInput(
                "--contexts and --all-contexts judge live clusters; they cannot be combined with -f"
            )
        return _diff_fleet(
            opts, fleet, service, from_namespace, dns, dns_server, cluster_domain, timeout, retries
        )
    dns_options = opts.dns_options(dns_server, cluster_domain, timeout, retries) if dns else None

    def words() -> str:
        if opts.output is Output.name:  # the Services that are not ok, for xargs
            return tables.service_names(sr for sr in report.services if sr.status.value != "ok")
        return text.explain(report)

    if files is not None and files.offline:
        from inspector.live.planning import offline_client_findings

        report = opts.planned_report(service, files)
        if from_namespace is not None:
            report = offline_client_findings(report, from_namespace)
        return showing.shown(opts, report, lambda: documents.report_json(report, lazy=True), words)
    client, report = opts.report(service, files)
    with client:
        if from_namespace is not None:
            from inspector.live.inspecting import with_client_findings

            report = with_client_findings(client, report, from_namespace)
        if dns_options is not None:
            from inspector.live.asking import with_dns

            report = with_dns(client, report, dns_options)

    return showing.shown(opts, report, lambda: documents.report_json(report, lazy=True), words)


def _diff_fleet(
    opts: Fleeted,
    fleet: Fleet,
    service: str | None,
    from_namespace: str | None,
    dns: bool,
    dns_server: str | None,
    cluster_domain: str | None,
    timeout: str,
    retries: int,
) -> int:
    """diff across contexts: in each, the same steps as in one (the report, then the NetworkPolicy
    findings for --from-namespace, then the DNS findings with that context's DNS options)."""
    from inspector.live.inspecting import inspect_cluster, make_scope, with_client_findings
    from inspector.output import documents, fleetviews, text

    scope = make_scope(opts.namespace, opts.all_namespaces, service, opts.selector)
    dns_options = opts.fleet_dns_options(fleet, dns_server, cluster_domain, timeout, retries) if dns else {}

    def one(context: str, client: Client) -> Report:
        report = inspect_cluster(client, scope)
        if from_namespace is not None:
            report = with_client_findings(client, report, from_namespace)
        if context in dns_options:
            from inspector.live.asking import with_dns

            report = with_dns(client, report, dns_options[context])
        return report

    results = fleet.each(one)
    return showing.fleet_shown(
        opts,
        results,
        documents.report_json,
        documents.summary_json,
        lambda: fleetviews.diff_fleet_text(results, text.explain),
        failed=lambda r: not r.ok,
        report=lambda r: r,
    )


@app.command("resolve")
@with_options(Common)
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
    options = opts.dns_options(dns_server, cluster_domain, timeout, retries)
    with opts.connect() as client:
        res = resolve_name(client, name, qtype.value, options, from_namespace or opts.namespace, from_pod)
    return showing.answered(
        opts, lambda: dnsviews.resolution_json(res), lambda: dnsviews.resolution_text(res), res.ok
    )


@app.command("dns")
@with_options(Fleeted)
def dns(
    opts: Fleeted,
    service: ServiceArg = None,
    dns_server: DNSServer = None,
    cluster_domain: ClusterDomain = None,
    timeout: DNSTimeout = "2s",
    retries: DNSRetries = 1,
    tcp: Annotated[
        bool, typer.Option("--dns-tcp", help="Ask over TCP only (default: UDP, TCP on truncation).")
    ] = False,
    filename: Filenames = None,
    recursive: Recursive = False,
    offline: OfflineOpt = False,
) -> int:
    """The DNS oracle: every Service's records (A/AAAA, SRV per named port, headless per-pod records,
    PTR, pod records, CNAME, the dns-version TXT) as the API says they should be, against what every
    ready CoreDNS replica answers (or the one --dns-server). With -f and --offline, the records those
    manifests' Services will have once applied; nothing is asked."""
    from inspector.model.findings import Severity
    from inspector.output import dnsviews

    opts.allow(DOCUMENTS, "dns")
    files = files_given(filename, recursive, offline)
    if files is not None:
        return _dns_planned(opts, files, service, dns_server, cluster_domain, tcp)
    from inspector.live.asking import inspect_dns

    fleet = opts.fleet()
    if fleet is not None:
        return _dns_fleet(opts, fleet, service, dns_server, cluster_domain, timeout, retries, tcp)
    options = dataclasses.replace(opts.dns_options(dns_server, cluster_domain, timeout, retries), tcp=tcp)
    client, report = opts.report(service)
    with client:
        found = inspect_dns(client, report, options)
    checks, server, replicas, others = found.checks, found.server, found.replicas, found.findings
    showing.told(
        opts,
        lambda: dnsviews.dns_json(report, checks, server, replicas, others),
        lambda: dnsviews.dns_text(report, checks, server, replicas, others),
    )
    showing.notes(report)
    errors = [*(f for c in checks for f in c.findings), *others]
    return opts.status(any(f.severity is Severity.ERROR for f in errors))


def _dns_planned(
    opts: Fleeted,
    files: Files,
    service: str | None,
    dns_server: str | None,
    cluster_domain: str | None,
    tcp: bool,
) -> int:
    """dns -f --offline: the records the files' Services will have, from the files alone. Laid over
    a cluster there would be two kinds of answer in one table (the live DNS for what runs, nothing
    for what does not run yet), so -f on dns needs --offline."""
    from inspector.output import dnsviews

    if not files.offline:
        raise BadInput(
            "dns -f needs --offline: it lists the records the files' Services will have, and the "
            "cluster DNS cannot answer for objects not applied yet (diff -f judges them on the cluster)"
        )
    if opts.contexts is not None or opts.all_contexts:
        raise BadInput("--contexts and --all-contexts judge live clusters; they cannot be combined with -f")
    if dns_server is not None or tcp:
        flag = "--dns-server" if dns_server is not None else "--dns-tcp"
        raise BadInput(f"{flag} says how to ask the cluster DNS; dns --offline asks nothing")
    planned = opts.planned_dns(service, files, cluster_domain)
    report, records = planned.report, planned.records
    showing.told(
        opts,
        lambda: dnsviews.planned_dns_json(report, records, planned.domain),
        lambda: dnsviews.planned_dns_text(report, records, wide=opts.output is Output.wide),
    )
    showing.notes(report)
    return ExitStatus.OK


def _dns_fleet(
    opts: Fleeted,
    fleet: Fleet,
    service: str | None,
    dns_server: str | None,
    cluster_domain: str | None,
    timeout: str,
    retries: int,
    tcp: bool,
) -> int:
    """dns across contexts: in each, its report and its own DNS asked (its server or its replicas)."""
    from inspector.live.asking import inspect_dns
    from inspector.live.inspecting import inspect_cluster, make_scope
    from inspector.model.findings import Severity
    from inspector.output import dnsviews, fleetviews

    scope = make_scope(opts.namespace, opts.all_namespaces, service, opts.selector)
    options = {
        ctx: dataclasses.replace(o, tcp=tcp)
        for ctx, o in opts.fleet_dns_options(fleet, dns_server, cluster_domain, timeout, retries).items()
    }

    def one(context: str, client: Client) -> fleetviews.DNSFound:
        report = inspect_cluster(client, scope)
        found = inspect_dns(client, report, options[context])
        return report, found.checks, found.server, found.replicas, found.findings

    def failed(found: fleetviews.DNSFound) -> bool:
        _, checks, _, _, others = found
        return any(f.severity is Severity.ERROR for f in [*(f for c in checks for f in c.findings), *others])

    results = fleet.each(one)
    return showing.fleet_shown(
        opts,
        results,
        lambda found: dnsviews.dns_json(*found),
        lambda found: dnsviews.dns_summary(found[0], found[1], found[4]),
        lambda: fleetviews.dns_fleet_text(results),
        failed=failed,
        report=lambda found: found[0],
    )


@app.command("reach")
@with_options(Common)
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
    filename: Filenames = None,
    recursive: Recursive = False,
    offline: OfflineOpt = False,
) -> int:
    """May this client reach every ready endpoint of SERVICE, and kube-dns? The NetworkPolicy verdict
    per endpoint (the endpoint pod's ingress, the client's egress), naming every policy that selects
    either side and the rule that decides. Exit 0 when all are reachable, 1 when any is denied. With -f,
    the policies (and objects) of those manifests judged with the live ones (--offline: alone)."""
    from inspector.live.inspecting import check_reach_options, make_client, pod_location, reach_service
    from inspector.model.names import validate_name
    from inspector.output import reachviews

    chosen = check_reach_options(service, from_namespace, from_pod, from_labels)
    if opts.namespace is not None:
        validate_name(opts.namespace, "namespace")
    files = files_given(filename, recursive, offline)
    if files is not None:
        from inspector.live.planning import DEFAULT_NAMESPACE, reach_planned

        def judged(namespace: str, client: Client | None = None) -> tuple[Reachability, Snapshot]:
            client_namespace = from_namespace or pod_location(from_pod or "", namespace)[0]
            return reach_planned(
                files,
                namespace,
                service,
                lambda snap: make_client(snap, from_namespace, from_pod, namespace, chosen),
                client,
                client_namespace,
            )

        if files.offline:
            result, snapshot = judged(opts.namespace or DEFAULT_NAMESPACE)
        else:
            with opts.connect() as client:
                result, snapshot = judged(opts.namespace or client.namespace, client)
    else:
        with opts.connect() as client:
            result, snapshot = reach_service(
                client, opts.namespace or client.namespace, service, from_namespace, from_pod, from_labels
            )
    showing.told(opts, lambda: reachviews.reach_json(result), lambda: reachviews.reach_text(result))
    if snapshot.notes:
        typer.echo("\n".join(f"note: {n}" for n in snapshot.notes), err=True)
    return ExitStatus.OK if result.reachable else ExitStatus.ERROR


@app.command("pods")
@with_options(Common)
def pods(
    opts: Common,
    all_namespaces: AllNamespaces = False,
    selector: Annotated[str | None, typer.Option("-l", "--selector", help="Filter pods by label.")] = None,
    no_headers: NoHeaders = False,
) -> int:
    """Labelled pods: labels, IP, readiness, node, and which Services select each pod."""
    from inspector.live.inspecting import make_scope
    from inspector.live.viewing import view_pods
    from inspector.model.selectors import parse_selector
    from inspector.output import documents, tables

    opts.allow(NAMED, "pods")
    scope = make_scope(opts.namespace, all_namespaces)
    pod_selector = parse_selector(selector) if selector else None
    with opts.connect() as client:
        view = view_pods(client, scope, pod_selector)
    report, rows = view.report, view.rows
    if opts.as_document:
        showing.write_document(documents.pods_json(rows), opts.output)
    elif opts.output is Output.name:
        showing.emit("\n".join(f"pod/{p.name}" for p, _ in rows))
    else:
        table = tables.pods_table(
            rows,
            wide=opts.output is Output.wide,
            with_namespace=tables.across_namespaces(report),
            no_headers=no_headers,
        )
        showing.emit(table or "No pods found.")
    showing.notes(report)
    return ExitStatus.OK


@app.command("wait")
@with_options(Common)
def wait(
    opts: Common,
    services: Annotated[
        list[str],
        typer.Argument(
            help="Services to wait for: NAME (in -n) or NAMESPACE/NAME.",
            autocompletion=candidates.service_values,
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
    from inspector.live.waiting import wait_for
    from inspector.model.names import validate_name
    from inspector.output import documents, text

    opts.allow(DOCUMENTS, "wait")
    limit = parse_duration(timeout) or 0.0
    if opts.namespace is not None:
        validate_name(opts.namespace, "namespace")
    seconds = opts.settings.watch_seconds()  # a bad INSPECTOR_WATCH_SECONDS is bad input before any request
    dns_options = (
        opts.dns_options(dns_server, cluster_domain, "2s", 1) if for_ is not WaitFor.endpoints else None
    )
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
            notify=showing.told_on_stderr,
        )
    return showing.answered(
        opts, lambda: documents.wait_json(result), lambda: text.wait_text(result), result.ok
    )


@app.command("why")
@with_options(Common)
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
    nodes: Annotated[
        str | None,
        typer.Option(
            "--nodes",
            help="Probe from every node (all) or from these (NAME,NAME,...): one probe pod per node, in "
            "parallel; a row per node and the nodes that fail.",
        ),
    ] = None,
    node_health: Annotated[
        bool,
        typer.Option(
            "--node-health",
            help="With --nodes: read each node's kube-proxy /healthz (and, for externalTrafficPolicy "
            "Local, the healthCheckNodePort) through the API server (nodes/proxy: "
            "deploy/rbac-node-health.yaml).",
        ),
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
    if node_health and nodes is None:
        raise BadInput("--node-health goes with --nodes (it asks the kube-proxy of each node probed)")
    if nodes is not None:
        if from_pod is not None:
            raise BadInput(
                "--nodes and --from-pod do not go together (--nodes starts its own pod on each node)"
            )
        from inspector.live.acrossnodes import why_across_nodes

        with opts.connect() as client, _interruptible():
            across = why_across_nodes(
                client,
                service,
                opts.namespace,
                nodes=nodes,
                from_namespace=from_namespace,
                image=image,
                keep=keep,
                node_health=node_health,
                notify=lambda line: typer.echo(line, err=True),
            )
        return showing.answered(
            opts, lambda: whyviews.nodes_json(across), lambda: whyviews.nodes_text(across), across.ok
        )
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
    return showing.answered(
        opts, lambda: whyviews.why_json(verdict), lambda: whyviews.why_text(verdict), verdict.ok
    )


@app.command("serve")
@with_options(Common)
def serve(
    opts: Common,
    all_namespaces: AllNamespaces = False,
    listen: Annotated[
        str,
        typer.Option("--listen", help="Where to serve /metrics, /healthz, /readyz and /report: HOST:PORT."),
    ] = "0.0.0.0:9847",
    dns: Annotated[
        bool, typer.Option("--dns", help="Also check every Service's DNS records (again each minute).")
    ] = False,
    events: Annotated[
        bool,
        typer.Option(
            "--events",
            help="Write a Kubernetes Event on a Service when one of its findings appears or is resolved "
            "(needs deploy/rbac-events.yaml).",
        ),
    ] = False,
    dns_server: DNSServer = None,
    cluster_domain: ClusterDomain = None,
    timeout: DNSTimeout = "2s",
    retries: DNSRetries = 1,
    contexts: Annotated[
        str | None,
        typer.Option(
            "--contexts",
            help="Watch these kubeconfig contexts, comma-separated, in one process (a context label on "
            "every series).",
            autocompletion=candidates.context_values,
            show_default=False,
        ),
    ] = None,
    all_contexts: Annotated[
        bool, typer.Option("--all-contexts", help="Watch every context of the kubeconfig.")
    ] = False,
) -> int:
    """Keep watching: the report of the Services in scope, kept current as the cluster changes, served
    over HTTP (Prometheus metrics at /metrics, /healthz, /readyz, and the diff -o json document at
    /report) until SIGTERM (exit 0 once every watch and connection is closed) or Ctrl-C (130). With
    --contexts or --all-contexts, several clusters in one process."""
    import threading

    from inspector.cli import exposing
    from inspector.cli.options import dns_per_context, fleet_of
    from inspector.live.inspecting import make_scope

    opts.allow(frozenset({Output.table}), "serve")
    address = exposing.parse_listen(listen)
    scope = make_scope(opts.namespace, all_namespaces)
    seconds = opts.settings.watch_seconds()
    fleet = fleet_of(opts, contexts, all_contexts)
    stop = threading.Event()
    board = exposing.Board()
    if fleet is not None:
        from inspector.live.fleetserving import serve_fleet

        per_context = (
            dns_per_context(opts, fleet, dns_server, cluster_domain, timeout, retries) if dns else None
        )
        return _served(
            address,
            board,
            stop,
            lambda: serve_fleet(
                fleet,
                scope,
                board.publish,
                stop,
                watch_seconds=seconds,
                notify=showing.told_on_stderr,
                dns=per_context,
                events=events,
            ),
        )
    from inspector.live.serving import serve as keep_serving

    dns_options = opts.dns_options(dns_server, cluster_domain, timeout, retries) if dns else None
    with opts.connect() as client:
        return _served(
            address,
            board,
            stop,
            lambda: keep_serving(
                client,
                scope,
                board.publish,
                stop,
                watch_seconds=seconds,
                notify=showing.told_on_stderr,
                dns=dns_options,
                events=events,
            ),
        )


def _served(
    address: tuple[str, int], board: exposing.Board, stop: threading.Event, watch: Callable[[], None]
) -> int:
    """serve's HTTP side around `watch` (the watcher, one cluster's or a fleet's): listening before it
    starts, SIGTERM setting `stop`, shut down and joined after it returns; exit 0 only when no
    thread of ours is left."""
    from inspector.cli import exposing

    restore = exposing.stopped_by_signals(stop)
    try:
        server, thread = exposing.listening(address, board)
        host, port = server.server_address[:2]
        typer.echo(f"serve: listening on {host!s}:{port}", err=True)
        try:
            watch()
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
    finally:
        restore()
    left = exposing.threads_left()
    if left:
        typer.echo(f"error: serve stopped, but threads are still running: {', '.join(left)}", err=True)
        return ExitStatus.ERROR
    typer.echo("serve: stopped", err=True)
    return ExitStatus.OK


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
