#!/usr/bin/env python3
"""Compare two builds of kubectl-svc_inspect command by command on a live cluster: byte for byte.

Why it exists: a restructuring promises that every command's output stays the same. This script
runs every command of the README (`why` excluded: it creates probe pods) with every output it has
(table, wide, json, yaml, name, dot, --no-headers) on the Services of one namespace, with both
executables against the same cluster ($KUBECONFIG, and $INSPECTOR_DNS_SERVER for the DNS commands),
and prints every difference in stdout, stderr or exit status. It is a script, not a test: it
needs a cluster, and says what it compared.

    python3 e2e/compare_outputs.py BASE_EXECUTABLE NEW_EXECUTABLE [-n demo]

Exit 0 when every command answered the same, 1 when any differs, 2 on bad arguments. A command
whose base answers differently when run twice (the cluster changed under it) is reported as
unstable, not as a difference. `wait` reports how long it took: its durations are masked.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TIMEOUT_S = 120
LISTED = ["table", "wide", "json", "yaml", "name"]  # services, endpoints, pods
PICTURED = [*LISTED, "dot"]  # services, diff
DOCUMENTS = ["table", "wide", "json", "yaml"]  # resolve, dns, reach, wait
# `wait` reports how long it took and how many events it saw
MASKS = [
    (re.compile(r"after \d+\.\ds"), "after N.Ns"),
    (re.compile(r'("?elapsed"?: )[0-9.]+'), r"\1N"),
    (re.compile(r'("?events"?: )\d+'), r"\1N"),
]


@dataclass(frozen=True)
class Answer:
    status: int
    stdout: str
    stderr: str


def ask(executable: str, args: list[str], masked: bool) -> Answer:
    try:
        done = subprocess.run(
            [executable, *args], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return Answer(-1, "", f"timed out after {TIMEOUT_S}s")
    out, err = done.stdout, done.stderr
    if masked:
        for pattern, replacement in MASKS:
            out, err = pattern.sub(replacement, out), pattern.sub(replacement, err)
    return Answer(done.returncode, out, err)


def service_names(executable: str, namespace: str) -> list[str]:
    answer = ask(executable, ["services", "-n", namespace, "-o", "name"], masked=False)
    if answer.status not in (0, 1):
        sys.exit(f"compare: cannot list the Services of {namespace}: {answer.stderr.strip()}")
    return [line.split("/", 1)[1] for line in answer.stdout.splitlines() if line.startswith("service/")]


def with_outputs(args: list[str], outputs: list[str], no_headers: bool = False) -> Iterator[list[str]]:
    for output in outputs:
        yield [*args, "-o", output]
    if no_headers:
        yield [*args, "--no-headers"]


def command_lines(namespace: str, services: list[str]) -> Iterator[list[str]]:
    """Every command of the README on the namespace and each of its Services, with each output."""
    ns = ["-n", namespace]
    yield from with_outputs(["services", *ns], PICTURED, no_headers=True)
    yield from with_outputs(["services", "-A"], ["table", "wide", "name"], no_headers=True)
    yield from with_outputs(["endpoints", *ns], LISTED, no_headers=True)
    yield from with_outputs(["endpoints", "-A"], ["table"])
    yield from with_outputs(["diff", *ns], PICTURED)
    yield from with_outputs(["diff", "-A"], ["table", "name"])
    yield from with_outputs(["diff", *ns, "--from-namespace", "default"], ["table", "json"])
    yield from with_outputs(["diff", *ns, "--dns"], ["table", "json"])
    yield from with_outputs(["pods", *ns], LISTED, no_headers=True)
    yield from with_outputs(["pods", "-A"], ["table", "name"])
    yield from with_outputs(["dns", *ns], DOCUMENTS)
    for name in services:
        yield from with_outputs(["services", name, *ns], PICTURED)
        yield from with_outputs(["endpoints", name, *ns], LISTED, no_headers=True)
        yield from with_outputs(["diff", name, *ns], PICTURED)
        yield from with_outputs(["dns", name, *ns], ["table", "json"])
        yield from with_outputs(["resolve", name, "--from-namespace", namespace], ["table", "json"])
        yield from with_outputs(["resolve", f"{name}.{namespace}", "--from-namespace", "default"], ["table"])
        yield from with_outputs(
            ["reach", name, *ns, "--from-namespace", namespace], ["table", "json", "yaml"]
        )
        yield from with_outputs(["reach", name, *ns, "--from-namespace", "default"], ["table"])
        yield from with_outputs(["wait", name, *ns, "--timeout", "1s"], ["table", "json"])


def difference(base: Answer, new: Answer) -> str:
    lines = []
    if base.status != new.status:
        lines.append(f"  exit status: {base.status} -> {new.status}")
    for stream in ("stdout", "stderr"):
        before, after = getattr(base, stream), getattr(new, stream)
        if before != after:
            diff = difflib.unified_diff(
                before.splitlines(), after.splitlines(), f"base {stream}", f"new {stream}", lineterm="", n=1
            )
            lines += [f"  {line}" for line in diff]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("base", help="the base commit's kubectl-svc_inspect")
    parser.add_argument("new", help="the working tree's kubectl-svc_inspect")
    parser.add_argument(
        "-n", "--namespace", default="demo", help="the namespace to compare on (default: demo)"
    )
    parser.add_argument("--only", metavar="COMMAND", action="append", help="only these commands (repeatable)")
    args = parser.parse_args(argv)
    for executable in (args.base, args.new):
        if not os.access(executable, os.X_OK) or not Path(executable).is_file():
            parser.error(f"{executable} is not an executable file")
    if not os.environ.get("KUBECONFIG"):
        parser.error("KUBECONFIG names no cluster")

    services = service_names(args.base, args.namespace)
    new_services = service_names(args.new, args.namespace)
    if services != new_services:
        print(f"the Services differ: {services} -> {new_services}")
        return 1
    compared = same = 0
    differing: list[str] = []
    unstable: list[str] = []
    statuses: Counter[int] = Counter()
    for line in command_lines(args.namespace, services):
        if args.only and line[0] not in args.only:
            continue
        masked = line[0] == "wait"
        base, new = ask(args.base, line, masked), ask(args.new, line, masked)
        compared += 1
        statuses[base.status] += 1
        shown = " ".join(line)
        if base == new:
            same += 1
            continue
        if ask(args.base, line, masked) != base:
            unstable.append(shown)
            print(f"unstable (the base answers differently twice): {shown}", flush=True)
            continue
        differing.append(shown)
        print(f"DIFFERS: {shown}\n{difference(base, new)}", flush=True)
    print(
        f"{compared} command lines on namespace {args.namespace} ({len(services)} Services): "
        f"{same} identical, {len(differing)} different, {len(unstable)} unstable; the base's exit "
        f"statuses: {', '.join(f'{n} x {status}' for status, n in sorted(statuses.items()))}"
    )
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
