"""The values a TAB offers: contexts from the kubeconfig, namespaces and Service names from the cluster
the command line names (its `--kubeconfig`, `--context`, `-n`).

Why it exists: both completions ask the same questions: kubectl's (`kubectl_complete-svc_inspect`,
`inspector.cli.completing`) and the bare executable's, which typer (click) runs through the options'
`autocompletion` callbacks below. It sits under the options that name those callbacks, so that it
needs nothing of the commands: the completion of kubectl reads the commands, these only the cluster.
Nothing imports the DNS client, and the Kubernetes client only when the API must be asked. A failure
offers no candidate: a TAB never prints an error into the user's line.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspector.settings import Settings

ASK_TIMEOUT_S = 5.0  # a TAB that waits longer than this is worse than no candidate


@dataclass
class Line:
    """What the words before the one being completed say: the command, the flags' values, how many
    arguments the command already has."""

    command: str | None = None
    values: dict[str, str] = field(default_factory=dict)  # long flag name -> value
    flags: set[str] = field(default_factory=set)  # long names of boolean flags given
    arguments: int = 0


class Asker:
    """What completion asks a cluster or a kubeconfig (the real ones; tests give their own)."""

    def __init__(self, line: Line, settings: Settings | None = None) -> None:
        self.kubeconfig = line.values.get("--kubeconfig")
        self.context = line.values.get("--context")
        self.settings = Settings() if settings is None else settings  # KUBECONFIG, in a pod or not

    def contexts(self) -> list[str]:
        """The kubeconfig's context names, read as kubectl merges its files (no client needed)."""
        import yaml

        if self.kubeconfig:
            files = [self.kubeconfig]
        elif self.settings.kubeconfig:
            files = [p for p in self.settings.kubeconfig.split(os.pathsep) if p]
        else:
            files = [str(Path("~/.kube/config").expanduser())]
        names: list[str] = []
        for f in files:
            try:
                data = yaml.safe_load(Path(f).expanduser().read_text())
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue
            for ctx in (data or {}).get("contexts") or [] if isinstance(data, dict) else []:
                if isinstance(ctx, dict) and ctx.get("name") and ctx["name"] not in names:
                    names.append(str(ctx["name"]))
        return names

    def namespaces(self) -> list[str]:
        from inspector.kube.resources import NAMESPACES

        return self._names(NAMESPACES, None)

    def services(self, namespace: str | None, everywhere: bool) -> list[str]:
        from inspector.kube.resources import SERVICES

        return self._names(SERVICES, namespace, everywhere)

    def _names(self, resource: Any, namespace: str | None, everywhere: bool = False) -> list[str]:
        from inspector.kube.connection import connect
        from inspector.kube.listing import list_objects

        with connect(self.kubeconfig, self.context, ASK_TIMEOUT_S, self.settings) as client:
            scope = None if everywhere else (namespace or client.namespace)
            if resource.namespaced is False:
                scope = None
            names = [
                str((o.get("metadata") or {}).get("name") or "")
                for o in list_objects(client, resource, scope)
            ]
        return sorted(set(names) - {""})


# ---------------------------------------------------------------- the bare executable's shell completion
# typer (click) completes `kubectl-svc_inspect` itself in bash, zsh and fish (`--show-completion`); these
# give its options and arguments the same values as kubectl's completion.


def _line_of(ctx: Any) -> Line:
    params = ctx.params or {}
    line = Line(command=ctx.info_name)
    for key, flag in (("kubeconfig", "--kubeconfig"), ("context", "--context"), ("namespace", "--namespace")):
        if params.get(key):
            line.values[flag] = str(params[key])
    if params.get("all_namespaces"):
        line.flags.add("--all-namespaces")
    return line


log = logging.getLogger("inspector.completing")


def swallowed(what: str) -> None:
    """A TAB prints no error into the user's line: the failure is logged instead, with its traceback."""
    log.debug("completing %s failed", what, exc_info=True)


def log_on_stderr(words: Sequence[str], debug: bool) -> None:
    """What completion swallows goes to stderr when the line holds -v or INSPECTOR_DEBUG is set."""
    verbose = any(w in ("-v", "--verbose") or w.startswith(("-v=", "--v=", "--verbose=")) for w in words)
    if not (verbose or debug) or log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)


def _quietly(ctx: Any, names: Callable[[], list[str]], incomplete: str) -> list[str]:
    try:
        return [n for n in names() if n.startswith(incomplete)]
    except Exception:  # a TAB prints no error into the user's line: logged, see swallowed()
        log_on_stderr((), Settings.handed(ctx.find_root().obj).debug)
        swallowed(repr(incomplete))
        return []


def _asker(ctx: Any) -> Asker:
    """The asker for the line typer parsed, with the settings of the run (typer's `obj`)."""
    return Asker(_line_of(ctx), Settings.handed(ctx.find_root().obj))


def namespace_values(ctx: Any, incomplete: str) -> list[str]:
    return _quietly(ctx, lambda: _asker(ctx).namespaces(), incomplete)


def context_values(ctx: Any, incomplete: str) -> list[str]:
    return _quietly(ctx, lambda: _asker(ctx).contexts(), incomplete)


def service_values(ctx: Any, incomplete: str) -> list[str]:
    line = _line_of(ctx)
    everywhere = "--all-namespaces" in line.flags
    return _quietly(ctx, lambda: _asker(ctx).services(line.values.get("--namespace"), everywhere), incomplete)


__all__ = [
    "ASK_TIMEOUT_S",
    "Asker",
    "Line",
    "context_values",
    "log_on_stderr",
    "namespace_values",
    "service_values",
    "swallowed",
]
