"""The options: the output types each command may have, typer's options and arguments (each declared
once), and the values every command gets them as (`Common`, `Scoped`).

Options follow kubectl (`--kubeconfig`, `--context`, `-n`, `-A`, `-l`, `-o`, `--request-timeout`)
and are accepted after the command, as `kubectl svc-inspect diff -A -o json`; so are kubectl's `-v=N`,
`--no-headers` and `-o name`. Nothing here imports the Kubernetes or DNS client at import time.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from inspector.cli import candidates
from inspector.cli.durations import parse_duration, parse_seconds
from inspector.errors import BadInput
from inspector.settings import Settings
from inspector.status import ExitStatus

if TYPE_CHECKING:
    from inspector.diagnosis.report import Report
    from inspector.kube.connection import Client
    from inspector.live.asking import DNSOptions
    from inspector.live.fleet import Fleet
    from inspector.live.planning import Files, PlannedDNS


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

Kubeconfig = Annotated[
    str | None, typer.Option("--kubeconfig", help="Path to the kubeconfig file.", show_default=False)
]
Context = Annotated[
    str | None,
    typer.Option(
        "--context", help="The kubeconfig context to use.", autocompletion=candidates.context_values
    ),
]
Namespace = Annotated[
    str | None,
    typer.Option(
        "-n",
        "--namespace",
        help="Namespace (default: the context's namespace).",
        autocompletion=candidates.namespace_values,
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
Contexts = Annotated[
    str | None,
    typer.Option(
        "--contexts",
        help="Ask these kubeconfig contexts, comma-separated, in parallel (a CONTEXT column first).",
        autocompletion=candidates.context_values,
        show_default=False,
    ),
]
AllContexts = Annotated[
    bool, typer.Option("--all-contexts", help="Ask every context of the kubeconfig, in parallel.")
]
ServiceArg = Annotated[
    str | None, typer.Argument(help="Only this Service.", autocompletion=candidates.service_values)
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
Filenames = Annotated[
    list[str] | None,
    typer.Option(
        "-f",
        "--filename",
        help="What if these manifests were applied: a file, a directory (-R: with its subdirectories) or "
        "- for stdin; YAML documents, JSON, List objects. Repeatable.",
        show_default=False,
    ),
]
Recursive = Annotated[
    bool, typer.Option("-R", "--recursive", help="With -f DIRECTORY: its subdirectories' files too.")
]
OfflineOpt = Annotated[
    bool,
    typer.Option(
        "--offline", help="With -f: judge the files alone; no cluster is contacted, no kubeconfig read."
    ),
]

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
    settings: Settings  # what the environment says, read once when the command line started to run

    def connect(self) -> Client:
        from inspector.kube.connection import connect

        timeout = parse_duration(self.request_timeout)
        setup_logging(self.verbose)
        return connect(self.kubeconfig, self.context, timeout, self.settings)

    def dns_options(self, server: str | None, domain: str | None, timeout: str, retries: int) -> DNSOptions:
        """--dns-server (else INSPECTOR_DNS_SERVER), --cluster-domain, --timeout and --retries."""
        from inspector.live.asking import DNSOptions

        return DNSOptions.from_cli(server, domain, parse_seconds(timeout), retries, self.settings)

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

    def report(self, name: str | None, files: Files | None = None) -> tuple[Client, Report]:
        """The connection (to close) and the report of the Services in scope; with `files`, as it
        will be once they are applied (laid over the cluster)."""
        from inspector.live.inspecting import inspect_cluster, make_scope

        scope = make_scope(self.namespace, self.all_namespaces, name, self.selector)
        client = self.connect()
        try:
            if files is not None:
                from inspector.live.planning import overlay_report

                return client, overlay_report(client, files, scope)
            return client, inspect_cluster(client, scope)
        except BaseException:
            client.close()
            raise

    def planned_report(self, name: str | None, files: Files) -> Report:
        """--offline: the report of the files alone; no cluster contacted."""
        from inspector.live.inspecting import make_scope
        from inspector.live.planning import offline_report

        scope = make_scope(self.namespace, self.all_namespaces, name, self.selector)
        setup_logging(self.verbose)
        return offline_report(files, scope)

    def planned_dns(self, name: str | None, files: Files, domain: str | None) -> PlannedDNS:
        """dns --offline -f: the records the files' Services will have; nothing contacted."""
        from inspector.live.inspecting import make_scope
        from inspector.live.planning import offline_dns

        scope = make_scope(self.namespace, self.all_namespaces, name, self.selector)
        setup_logging(self.verbose)
        return offline_dns(files, scope, domain)

    def status(self, failed: bool) -> int:
        return ExitStatus.ERROR if failed and not self.exit_zero else ExitStatus.OK


FLEET_OUTPUTS = DOCUMENTS  # -o name, dot and svg show one cluster's objects


@dataclass(frozen=True, slots=True)
class Fleeted(Scoped):
    """... and of every command that can ask several contexts at once (services, diff, dns)."""

    contexts: str | None
    all_contexts: bool

    def fleet(self, watch: bool = False) -> Fleet | None:
        """The contexts `--contexts`/`--all-contexts` ask, checked against the kubeconfig before any
        request; None when neither is given (the one context of `--context`)."""
        if self.contexts is None and not self.all_contexts:
            return None
        flag = "--contexts" if self.contexts is not None else "--all-contexts"
        _not_with_context(self, flag)
        if watch:
            raise BadInput(f"-w follows one context: it cannot be combined with {flag}")
        if self.output not in FLEET_OUTPUTS:
            raise BadInput(f"-o {self.output.value} shows one context: it cannot be combined with {flag}")
        return fleet_of(self, self.contexts, self.all_contexts)

    def fleet_dns_options(
        self, fleet: Fleet, server: str | None, domain: str | None, timeout: str, retries: int
    ) -> dict[str, DNSOptions]:
        return dns_per_context(self, fleet, server, domain, timeout, retries)


def fleet_of(opts: Common, contexts: str | None, all_contexts: bool) -> Fleet | None:
    """The contexts `--contexts`/`--all-contexts` name, checked against the kubeconfig before any
    request (with `--context` too: bad input); None when neither is given (the one context of
    `--context`)."""
    if contexts is None and not all_contexts:
        return None
    _not_with_context(opts, "--contexts" if contexts is not None else "--all-contexts")
    from inspector.live.fleet import Fleet, choose_contexts

    timeout = parse_duration(opts.request_timeout)
    names = choose_contexts(contexts, all_contexts, opts.kubeconfig, opts.settings)
    setup_logging(opts.verbose)
    return Fleet(names, opts.kubeconfig, timeout, opts.settings)


def _not_with_context(opts: Common, flag: str) -> None:
    if opts.context is not None:
        raise BadInput(f"{flag} asks several contexts and --context names one: give one of them")


def dns_per_context(
    opts: Common, fleet: Fleet, server: str | None, domain: str | None, timeout: str, retries: int
) -> dict[str, DNSOptions]:
    """Each context's DNS options: --dns-server (else INSPECTOR_DNS_SERVER) names one server per
    context, CONTEXT=HOST[:PORT],... (or one HOST[:PORT] for a fleet of one)."""
    import dataclasses

    from inspector.live.fleet import dns_servers
    from inspector.settings import ENV_DNS_SERVER

    source = "--dns-server" if server else ENV_DNS_SERVER
    servers = dns_servers(server or opts.settings.dns_server, source, fleet.contexts)
    base = dataclasses.replace(opts, settings=dataclasses.replace(opts.settings, dns_server=None))
    options = base.dns_options(None, domain, timeout, retries)
    return {
        ctx: dataclasses.replace(options, server=servers[ctx], server_via=source)
        if ctx in servers
        else options
        for ctx in fleet.contexts
    }


_OPTIONS: dict[str, tuple[Any, Any]] = {
    "contexts": (Contexts, None),
    "all_contexts": (AllContexts, False),
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


def with_options(kind: type[Common]) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Gives a command the options of `kind` (typer sees them in its signature) and hands them to it
    as one `opts` value, so that each is declared once for all commands. The settings come from the
    run (`inspector.cli.running.run` hands them to typer as the context's `obj`)."""
    names = [f.name for f in fields(kind) if f.name != "settings"]

    def decorate(command: Callable[..., int]) -> Callable[..., int]:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "opts"]
        shared = [
            inspect.Parameter(
                n, inspect.Parameter.KEYWORD_ONLY, default=_OPTIONS[n][1], annotation=_OPTIONS[n][0]
            )
            for n in names
        ]
        # typer hands a parameter annotated with its Context the one of the run
        run = inspect.Parameter(INVOCATION, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)

        @functools.wraps(command)
        def with_opts(**kwargs: Any) -> int:
            settings = Settings.handed(kwargs.pop(INVOCATION).find_root().obj)
            opts = kind(**{n: kwargs.pop(n) for n in names}, settings=settings)
            return command(opts=opts, **kwargs)

        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + shared + [run]
        with_opts.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        with_opts.__annotations__ = {p.name: p.annotation for p in params}
        del with_opts.__wrapped__  # typer reads the signature above, not the command's own
        return with_opts

    return decorate


def files_given(paths: list[str] | None, recursive: bool, offline: bool) -> Files | None:
    """-f, -R and --offline, checked before anything is read."""
    from inspector.live.planning import make_files

    return make_files(paths, recursive, offline)


INVOCATION = "invocation"  # the name of typer's Context among a command's parameters


def setup_logging(verbose: int) -> None:
    """-v: our progress; -vv: every request we make (method and URL only). The client library's own
    debug logging is never switched on: it would print request headers, bearer tokens included."""
    if not verbose:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    ours = logging.getLogger("inspector")
    ours.addHandler(handler)
    ours.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
