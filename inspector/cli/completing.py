"""Completion for kubectl: the `kubectl_complete-svc_inspect` executable, speaking cobra's `__complete`
protocol as kubectl (1.26+) asks it.

Why it exists: `kubectl svc-inspect <TAB>` runs this executable with the words typed after the plugin's
name, the last one the word being completed (empty when a new word starts). It prints one candidate a
line (`candidate<TAB>description`), then `:<directive>` (cobra's ShellCompDirective bits: 4, no file
completion, unless a file is what is wanted). Commands and flags come from the typer app itself, so
they cannot drift from it; namespaces and Service names come from the cluster the line names (its
`--kubeconfig`, `--context`, `-n`), contexts from the kubeconfig. Nothing imports the DNS client,
and the Kubernetes client only when the API must be asked. A failure prints no candidate: a TAB never
prints an error into the user's line; what failed is logged (`inspector.completing`), on stderr when
the line holds `-v` or INSPECTOR_DEBUG is set (kubectl's completion scripts discard stderr: run
`kubectl __complete svc-inspect ...` by hand to read it).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

DEFAULT = 0  # cobra.ShellCompDirectiveDefault: the shell may complete file names
NO_FILE = 4  # cobra.ShellCompDirectiveNoFileComp
ASK_TIMEOUT_S = 5.0  # a TAB that waits longer than this is worse than no candidate

Candidate = tuple[str, str]  # (word, description)

log = logging.getLogger("inspector.completing")


def _swallowed(what: str) -> None:
    """A TAB prints no error into the user's line: the failure is logged instead, with its traceback."""
    log.debug("completing %s failed", what, exc_info=True)


def _logged_on_stderr(words: Sequence[str]) -> None:
    """What completion swallows goes to stderr when the line holds -v or INSPECTOR_DEBUG is set."""
    verbose = any(w in ("-v", "--verbose") or w.startswith(("-v=", "--v=", "--verbose=")) for w in words)
    if not (verbose or os.environ.get("INSPECTOR_DEBUG")) or log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)


@dataclass
class Line:
    """What the words before the one being completed say: the command, the flags' values, how many
    arguments the command already has."""

    command: str | None = None
    values: dict[str, str] = field(default_factory=dict)  # long flag name -> value
    flags: set[str] = field(default_factory=set)  # long names of boolean flags given
    arguments: int = 0


@dataclass(frozen=True, slots=True)
class Flag:
    names: tuple[str, ...]  # every spelling, e.g. ("-n", "--namespace")
    takes_value: bool
    help: str

    @property
    def long(self) -> str:
        return next((n for n in self.names if n.startswith("--")), self.names[0])


def _first_sentence(text: str | None) -> str:
    """A description short enough for a completion menu: up to the first period, colon or parenthesis."""
    text = " ".join((text or "").split())
    for stop in (". ", ": ", " ("):
        text = text.split(stop)[0]
    return text.rstrip(".")


@functools.cache
def root() -> Any:
    """The typer app as click sees it: its options and its commands."""
    import typer.main

    from inspector.cli.commands import app

    return typer.main.get_command(app)


def commands() -> dict[str, Any]:
    """The typer app's commands as click commands, by name (hidden aliases included)."""
    return dict(root().commands)


def flags_of(command: Any) -> list[Flag]:
    out = []
    for param in command.params:
        if getattr(param, "param_type_name", "") != "option":
            continue
        takes_value = not (param.is_flag or param.count)
        out.append(
            Flag(tuple(param.opts) + tuple(param.secondary_opts), takes_value, _first_sentence(param.help))
        )
    out.append(Flag(("-h", "--help"), False, "Show the help and exit"))
    return out


def parse(words: Sequence[str], known: dict[str, Any]) -> Line:
    line = Line()
    flags: list[Flag] = []
    i = 0
    while i < len(words):
        word = words[i]
        if line.command is None and not word.startswith("-"):
            if word in known:
                line.command = word
                flags = flags_of(known[word])
            i += 1
            continue
        if word.startswith("-") and word != "-":
            name, eq, value = word.partition("=")
            flag = next((f for f in flags if name in f.names), None)
            if flag is not None and flag.takes_value:
                if eq:
                    line.values[flag.long] = value
                elif i + 1 < len(words):
                    line.values[flag.long] = words[i + 1]
                    i += 1
            elif flag is not None:
                line.flags.add(flag.long)
        else:
            line.arguments += 1
        i += 1
    return line


class Asker:
    """What completion asks a cluster or a kubeconfig (the real ones; tests give their own)."""

    def __init__(self, line: Line) -> None:
        self.kubeconfig = line.values.get("--kubeconfig")
        self.context = line.values.get("--context")

    def contexts(self) -> list[str]:
        """The kubeconfig's context names, read as kubectl merges its files (no client needed)."""
        import yaml

        if self.kubeconfig:
            files = [self.kubeconfig]
        elif os.environ.get("KUBECONFIG"):
            files = [p for p in os.environ["KUBECONFIG"].split(os.pathsep) if p]
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

        with connect(self.kubeconfig, self.context, ASK_TIMEOUT_S) as client:
            scope = None if everywhere else (namespace or client.namespace)
            if resource.namespaced is False:
                scope = None
            names = [
                str((o.get("metadata") or {}).get("name") or "")
                for o in list_objects(client, resource, scope)
            ]
        return sorted(set(names) - {""})


SERVICE_ARGUMENT = frozenset({"services", "svc", "endpoints", "ep", "diff", "dns", "wait", "resolve"})


def _output_values(command: str | None) -> list[Candidate]:
    from inspector.cli.commands import DOCUMENTS, NAMED, PICTURED, Output

    allowed = {
        "services": PICTURED,
        "svc": PICTURED,
        "diff": PICTURED,
        "endpoints": NAMED,
        "ep": NAMED,
        "pods": NAMED,
    }.get(command or "", DOCUMENTS)
    return [(o.value, "") for o in Output if o in allowed]


def _choices(command: Any, long: str) -> list[Candidate]:
    """The values of a flag with a fixed set (typer's enums), e.g. `-t A|AAAA|SRV|CNAME`."""
    for param in command.params:
        annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
        if long in param.opts and isinstance(annotation, type) and issubclass(annotation, Enum):
            return [(str(member.value), "") for member in annotation]
    return []


def complete(args: Sequence[str], asker: Callable[[Line], Asker] = Asker) -> tuple[list[Candidate], int]:
    """The candidates for the last of `args` (the words after the plugin's name) and the directive."""
    known = commands()
    words, current = list(args[:-1]), (args[-1] if args else "")
    line = parse(words, known)
    command = known.get(line.command) if line.command else None
    flags = flags_of(command) if command is not None else []
    previous = words[-1] if words else ""
    wanting = next((f for f in flags if previous in f.names and f.takes_value), None)
    if previous.startswith("-") and "=" not in previous and wanting is not None:
        values = _values(wanting.long, command, line, asker)
        return [(v, d) for v, d in values if v.startswith(current)], _directive(wanting.long)
    if current.startswith("--") and "=" in current:
        name, _, typed = current.partition("=")
        flag = next((f for f in flags if name in f.names and f.takes_value), None)
        if flag is None:
            return [], NO_FILE
        values = _values(flag.long, command, line, asker)
        return [(f"{name}={v}", d) for v, d in values if v.startswith(typed)], _directive(flag.long)
    if current.startswith("-"):
        offered = flags if command is not None else flags_of(root())
        return [(n, f.help) for f in offered for n in f.names if n.startswith(current)], NO_FILE
    if command is None:
        visible = [(n, _first_sentence(c.help)) for n, c in known.items() if not c.hidden]
        return [(n, d) for n, d in visible if n.startswith(current)], NO_FILE
    if line.command in SERVICE_ARGUMENT and (line.command == "wait" or line.arguments == 0):
        try:
            ask = asker(line)
            names = ask.services(line.values.get("--namespace"), "--all-namespaces" in line.flags)
        except Exception:  # a TAB prints no error into the user's line: logged, see _swallowed
            _swallowed("Service names")
            return [], NO_FILE
        return [(n, "") for n in names if n.startswith(current)], NO_FILE
    return [], NO_FILE


def _directive(long: str) -> int:
    return DEFAULT if long == "--kubeconfig" else NO_FILE


def _values(long: str, command: Any, line: Line, asker: Callable[[Line], Asker]) -> list[Candidate]:
    if long == "--output":
        return _output_values(line.command)
    try:
        if long in ("--namespace", "--from-namespace"):
            return [(n, "") for n in asker(line).namespaces()]
        if long == "--context":
            return [(n, "") for n in asker(line).contexts()]
    except Exception:  # a TAB prints no error into the user's line: logged, see _swallowed
        _swallowed(f"the values of {long}")
        return []
    return _choices(command, long) if command is not None else []


# ---------------------------------------------------------------- the bare executable's shell completion
# typer (click) completes `kubectl-svc_inspect` itself in bash, zsh and fish (`--show-completion`); these
# give its options and arguments the same values as kubectl's completion above.


def _line_of(ctx: Any) -> Line:
    params = ctx.params or {}
    line = Line(command=ctx.info_name)
    for key, flag in (("kubeconfig", "--kubeconfig"), ("context", "--context"), ("namespace", "--namespace")):
        if params.get(key):
            line.values[flag] = str(params[key])
    if params.get("all_namespaces"):
        line.flags.add("--all-namespaces")
    return line


def _quietly(names: Callable[[], list[str]], incomplete: str) -> list[str]:
    try:
        return [n for n in names() if n.startswith(incomplete)]
    except Exception:  # a TAB prints no error into the user's line: logged, see _swallowed
        _logged_on_stderr(())
        _swallowed(f"{incomplete!r}")
        return []


def namespace_values(ctx: Any, incomplete: str) -> list[str]:
    return _quietly(lambda: Asker(_line_of(ctx)).namespaces(), incomplete)


def context_values(ctx: Any, incomplete: str) -> list[str]:
    return _quietly(lambda: Asker(_line_of(ctx)).contexts(), incomplete)


def service_values(ctx: Any, incomplete: str) -> list[str]:
    line = _line_of(ctx)
    everywhere = "--all-namespaces" in line.flags
    return _quietly(lambda: Asker(line).services(line.values.get("--namespace"), everywhere), incomplete)


def main() -> None:
    """The executable: `kubectl_complete-svc_inspect WORD... CURRENT` (or `__complete WORD...` and
    `__completeNoDesc WORD...`, as cobra programs are called)."""
    args = sys.argv[1:]
    with_descriptions = args[:1] != ["__completeNoDesc"]
    if args[:1] in (["__complete"], ["__completeNoDesc"]):
        args = args[1:]
    _logged_on_stderr(args[:-1])
    candidates, directive = complete(args)
    lines = [f"{w}\t{d}" if d and with_descriptions else w for w, d in candidates]
    sys.stdout.write("".join(f"{line}\n" for line in lines) + f":{directive}\n")


__all__ = ["complete", "main"]
