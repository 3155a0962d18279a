"""Completion for kubectl: the `kubectl_complete-svc_inspect` executable, speaking cobra's `__complete`
protocol as kubectl (1.26+) asks it.

Why it exists: `kubectl svc-inspect <TAB>` runs this executable with the words typed after the plugin's
name, the last one the word being completed (empty when a new word starts). It prints one candidate a
line (`candidate<TAB>description`), then `:<directive>` (cobra's ShellCompDirective bits: 4, no file
completion, unless a file is what is wanted). Commands and flags come from the typer app itself, so
they cannot drift from it; namespaces and Service names come from the cluster the line names (its
`--kubeconfig`, `--context`, `-n`), contexts from the kubeconfig, both asked through
`inspector.cli.candidates` (which the bare executable's completion uses too). Nothing imports the DNS client,
and the Kubernetes client only when the API must be asked. A failure prints no candidate: a TAB never
prints an error into the user's line; what failed is logged (`inspector.completing`), on stderr when
the line holds `-v` or INSPECTOR_DEBUG is set (kubectl's completion scripts discard stderr: run
`kubectl __complete svc-inspect ...` by hand to read it).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from inspector.cli.candidates import Asker, Line, log_on_stderr, swallowed
from inspector.cli.commands import app
from inspector.cli.options import DOCUMENTS, NAMED, PICTURED, Output
from inspector.settings import Settings

DEFAULT = 0  # cobra.ShellCompDirectiveDefault: the shell may complete file names
NO_FILE = 4  # cobra.ShellCompDirectiveNoFileComp

Candidate = tuple[str, str]  # (word, description)


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


SERVICE_ARGUMENT = frozenset({"services", "svc", "endpoints", "ep", "diff", "dns", "wait", "resolve"})


def _output_values(command: str | None) -> list[Candidate]:
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
        values = _listed(wanting.long, _values(wanting.long, command, line, asker), current)
        return [(v, d) for v, d in values if v.startswith(current)], _directive(wanting.long)
    if current.startswith("--") and "=" in current:
        name, _, typed = current.partition("=")
        flag = next((f for f in flags if name in f.names and f.takes_value), None)
        if flag is None:
            return [], NO_FILE
        values = _listed(flag.long, _values(flag.long, command, line, asker), typed)
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
        except Exception:  # a TAB prints no error into the user's line: logged, see swallowed()
            swallowed("Service names")
            return [], NO_FILE
        return [(n, "") for n in names if n.startswith(current)], NO_FILE
    return [], NO_FILE


def _directive(long: str) -> int:
    return DEFAULT if long == "--kubeconfig" else NO_FILE


def _listed(long: str, values: list[Candidate], typed: str) -> list[Candidate]:
    """`--contexts a,b,...`: each candidate completes the last name of the list typed so far, and
    names already listed are not offered again."""
    if long != "--contexts":
        return values
    head, comma, _ = typed.rpartition(",")
    listed = set(head.split(",")) if comma else set()
    return [(f"{head}{comma}{v}", d) for v, d in values if v not in listed]


def _values(long: str, command: Any, line: Line, asker: Callable[[Line], Asker]) -> list[Candidate]:
    if long == "--output":
        return _output_values(line.command)
    try:
        if long in ("--namespace", "--from-namespace"):
            return [(n, "") for n in asker(line).namespaces()]
        if long in ("--context", "--contexts"):
            return [(n, "") for n in asker(line).contexts()]
    except Exception:  # a TAB prints no error into the user's line: logged, see swallowed()
        swallowed(f"the values of {long}")
        return []
    return _choices(command, long) if command is not None else []


def main() -> None:
    """The executable: `kubectl_complete-svc_inspect WORD... CURRENT` (or `__complete WORD...` and
    `__completeNoDesc WORD...`, as cobra programs are called)."""
    args = sys.argv[1:]
    with_descriptions = args[:1] != ["__completeNoDesc"]
    if args[:1] in (["__complete"], ["__completeNoDesc"]):
        args = args[1:]
    settings = Settings.from_environment()  # KUBECONFIG, and whether this runs in a pod
    log_on_stderr(args[:-1], settings.debug)
    candidates, directive = complete(args, functools.partial(Asker, settings=settings))
    lines = [f"{w}\t{d}" if d and with_descriptions else w for w, d in candidates]
    sys.stdout.write("".join(f"{line}\n" for line in lines) + f":{directive}\n")


__all__ = ["complete", "main"]
