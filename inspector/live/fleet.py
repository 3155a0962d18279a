"""A fleet: several kubeconfig contexts asked in one run (`--contexts a,b`, `--all-contexts`), in
parallel, each through a connection of its own.

Why it exists: a command's run against one cluster takes a `Client`; a fleet runs that same function
once per context and keeps each context's answer, or its failure, apart. Nothing is shared between the
contexts but the kubeconfig file they are named in: each gets its own connection (its own client
configuration, credentials, connection pool and default namespace, `inspector.kube.connection.connect`)
and its own settings (its DNS server, when one is named per context), and a context that cannot be
reached fails alone, as its own `ContextResult`, while the others are still reported.

`Fleet.each(run)` is the reusable piece: any run of one context (`inspect_cluster`, a DNS check, a
watcher) becomes a run of every context. Which contexts, checked against the kubeconfig before any
request, is `choose_contexts`; a DNS server per context is `dns_servers`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from inspector.diagnosis.report import Report
from inspector.errors import BadInput, InspectorError
from inspector.kube.connection import Client, connect, kubeconfig_contexts
from inspector.live.inspecting import Scope, inspect_cluster
from inspector.settings import Settings

T = TypeVar("T")
MAX_PARALLEL = 8  # contexts asked at once; each read is mostly waiting on its API server


@dataclass(frozen=True, slots=True)
class ContextResult(Generic[T]):
    """One context's answer (`value`), or the failure that stopped it (`error`), never both."""

    context: str
    value: T | None = None
    error: InspectorError | None = None

    @property
    def answered(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Fleet:
    """The contexts of one run and what each connection is made from."""

    contexts: tuple[str, ...]
    kubeconfig: str | None = None
    request_timeout: float | None = None
    settings: Settings = Settings()  # noqa: RUF009 (frozen: one shared value is safe)

    def connect(self, context: str) -> Client:
        """A connection of its own to one context: its own client configuration and pool."""
        return connect(self.kubeconfig, context, self.request_timeout, self.settings)

    def run_one(self, context: str, run: Callable[[str, Client], T]) -> ContextResult[T]:
        """`run(context, client)` on a connection made for it and closed after; our errors become the
        context's failure (a bug of ours is not one: it is raised)."""
        try:
            with self.connect(context) as client:
                return ContextResult(context, value=run(context, client))
        except InspectorError as exc:
            return ContextResult(context, error=exc)

    def each(self, run: Callable[[str, Client], T]) -> list[ContextResult[T]]:
        """`run(context, client)` for every context, in parallel, in the order the contexts were
        named."""
        if len(self.contexts) == 1:
            return [self.run_one(self.contexts[0], run)]
        workers = min(len(self.contexts), MAX_PARALLEL)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="context") as pool:
            return list(pool.map(lambda ctx: self.run_one(ctx, run), self.contexts))


def choose_contexts(
    names: str | None,
    all_contexts: bool,
    kubeconfig: str | None = None,
    settings: Settings = Settings(),  # noqa: B008 (frozen: one shared value is safe)
) -> tuple[str, ...]:
    """`--contexts a,b` (each named in the kubeconfig, in the order given, once) or `--all-contexts`
    (every context of the kubeconfig); bad input before any request."""
    if names is not None and all_contexts:
        raise BadInput("give --contexts or --all-contexts, not both")
    known, _ = kubeconfig_contexts(kubeconfig, settings)
    if all_contexts:
        if not known:
            raise BadInput("--all-contexts: the kubeconfig names no context")
        return tuple(known)
    if names is None:
        raise BadInput("name the contexts: --contexts a,b,... or --all-contexts")
    chosen = [n.strip() for n in names.split(",")]
    if not any(chosen) or not all(chosen):
        raise BadInput(f"invalid --contexts {names!r}: context names, comma-separated")
    unknown = [n for n in chosen if n not in known]
    if unknown:
        quoted = ", ".join(f'"{n}"' for n in dict.fromkeys(unknown))
        raise BadInput(f"context {quoted} not found in the kubeconfig")
    return tuple(dict.fromkeys(chosen))


def dns_servers(text: str | None, source: str, contexts: Sequence[str]) -> dict[str, str]:
    """The DNS server of each context, from `--dns-server` or INSPECTOR_DNS_SERVER (`source` says
    which): `CONTEXT=HOST[:PORT],...` (contexts not named find their cluster DNS themselves), or one
    HOST[:PORT] when the run has one context. One server cannot answer for several clusters."""
    if not text:
        return {}
    if "=" not in text:
        if len(contexts) > 1:
            raise BadInput(
                f"{source} {text!r} names one DNS server, and {len(contexts)} contexts are asked: "
                f"name one per context, CONTEXT=HOST[:PORT],..."
            )
        return {contexts[0]: text}
    servers: dict[str, str] = {}
    for item in text.split(","):
        context, eq, server = item.strip().partition("=")
        if not eq or not context or not server:
            raise BadInput(f"invalid {source} {text!r}: CONTEXT=HOST[:PORT], comma-separated")
        if context not in contexts:
            raise BadInput(f"{source} names context {context!r}, which this run does not ask")
        servers[context] = server
    return servers


def inspect_fleet(fleet: Fleet, scope: Scope) -> list[ContextResult[Report]]:
    """Every context's report of the Services in scope (`-n` read in each context; the default is each
    context's own namespace)."""
    return fleet.each(lambda _, client: inspect_cluster(client, scope))


__all__ = ["ContextResult", "Fleet", "choose_contexts", "dns_servers", "inspect_fleet"]
