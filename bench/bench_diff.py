"""Benchmark: `kubectl-svc_inspect diff -A` on a large simulated cluster, in figures and ratios.

Why it exists: the README's "Performance" section promises that on a cluster of thousands of
Services and tens of thousands of pods the inspector issues one paginated LIST per kind, does work
linear in objects, and runs `diff -A` no slower than `kubectl get services,endpointslices,pods -A -o
json`. Timed unit tests cannot check that (machines are noisy), so this script measures it on a real API
server and prints the figures and ratios for a human to read. It asserts no timing.

    make bench                                        # 2,000 Services, 20,000 pods, 20 namespaces
    make bench BENCH_ARGS=--keep                      # the same, the cluster left up for a rerun
    .venv/bin/python bench/bench_diff.py --small      # 200 Services, 2,000 pods: a quick run
    .venv/bin/python bench/bench_diff.py --keep       # leave the cluster up; a rerun reuses it

It runs its own local cluster (state in .cluster-bench/, every port moved by 1000, or by
$BENCH_PORT_OFFSET), never the shared one in .cluster/, and stops it at the end unless --keep is
given. Pod and Service IPs are simulated by kwok; nothing here sends traffic anywhere but the API
server on 127.0.0.1.

This file is the entry point: the arguments, the bench cluster's life, and the order of the run.
Each job has its module beside it:
  populating.py  the plan (sizes, names, labels) and filling the cluster with it;
  measuring.py   taking every figure, each command in a process of its own;
  reporting.py   printing every section below.

What it prints:
  population    how long the API server, kwok and the controllers took to reach the wanted state;
  end to end    every command of the table below, interleaved, medians of --repeat runs: wall time,
                CPU time and its own peak RSS, each as a ratio to `diff -A`. Each command is started
                by /usr/bin/time, never forked from this process: a child forked from the bench
                inherits its high-water mark through exec (a /bin/true child of a 500 MB bench
                reported 511.6 MB); a /bin/true started that way is shown first, as the proof.
                The rows: the transfer floor (bench/floors.py: the paginated LISTs of the three
                kinds, bodies dropped), the decoding floor (the same plus json.loads), `diff -A`,
                kubectl's list-only `get -o json`, popeye (built once from its Go module; its full
                scan only with --with-popeye-full: it peaked near 19 GB at 20,000 pods), `dns -A`,
                `diff` of one namespace, and the fixed cost: `diff` of an empty namespace beside
                kubectl's `get` of it, and `--version`; with --compare-with EXE, another checkout's
                `diff -A` and fixed cost in the same interleaved runs (before and after a change);
  phases        the inspector in a fresh process: fetching (connect and read_snapshot),
                inspecting (inspect_snapshot), rendering (report_json and write_json), and the
                requests sent per kind against the pages one paginated LIST needs;
  memory        the peak RSS of diff -A's pipeline on 10%, 50% and 100% of the namespaces;
  linearity     inspect_snapshot on 10%, 50% and 100% of the namespaces (time per object should
                stay flat), then on all of them folded into fewer namespaces: the same objects, more
                pods and Services per namespace, which exposes work that grows as Services x pods;
  wait          `wait` on a new Service of a full namespace: from the EndpointSlice update that
                completes it to `wait` having returned;
  targets       issue 24's, and issue 15's that still hold: met, missed by how much, or not
                measured and why (the memory target needs --preset large; `serve` under
                churn is `make bench-serve`'s, bench_serve.py; `why --nodes` is bench_why.py's);
  DNS oracle    `dns -A`'s work through the Python API (inspect_dns against the bench cluster's
                CoreDNS, pinned by its INSPECTOR_DNS_SERVER): every expected record (A, SRV, PTR,
                headless endpoint names, pod records, dns-version) asked and judged, in names per
                second, beside the floor: a bare dnspython loop asking the same names at the same
                concurrency (UDP, TCP on truncation) and judging nothing. --dns-only runs just this
                section (2,000 Services with --services 2000 --pods 2000 give over 6,000 names).
                A lost query is counted (timed-out tries, names left unanswered), never fatal.

A section that fails prints one line and the run goes on: the sections after it and the targets
still print. The fill uses --clients API clients side by side (processes), --threads connections
each.

    make bench BENCH_ARGS="--preset large --keep"   # 10,000 Services, 100,000 pods, 500 kwok nodes
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from measuring import (
    LINEARITY_REPEAT,
    POPEYE_VERSION,
    Run,
    check_fresh_launcher,
    density_ratio,
    dns_oracle,
    import_profile,
    in_fresh_process,
    linearity,
    measure,
    memory_at_share,
    memory_profile,
    phases,
    popeye_binary,
    wait_reaction,
)
from populating import (
    EMPTY_NAMESPACE,
    PRESETS,
    Fill,
    Plan,
    already_populated,
    api_client,
    ensure_empty_namespace,
    populate,
)
from reporting import (
    LARGE_PODS,
    Contender,
    issue_targets,
    print_dns,
    print_end_to_end,
    print_import_profile,
    print_linearity,
    print_memory,
    print_memory_profile,
    print_phases,
    print_targets,
    print_wait,
    save_targets,
    say,
)

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".cluster-bench"
# kwok-only: the benchmark needs many simulated pods, and the real node is the test cluster's
CLUSTER_ENV = {
    "LOCALCLUSTER_DIR": str(STATE),
    # BENCH_PORT_OFFSET: another work tree's bench cluster may hold offset 1000 on the same machine
    "LOCALCLUSTER_PORT_OFFSET": os.environ.get("BENCH_PORT_OFFSET", "1000"),
    "LOCALCLUSTER_REAL_NODE": "0",
}


# ------------------------------------------------------------------------------------ the cluster


def localcluster(command: str) -> None:
    res = subprocess.run(
        [sys.executable, str(ROOT / "cluster" / "localcluster.py"), command],
        env={**os.environ, **CLUSTER_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode:
        raise SystemExit(f"bench: localcluster.py {command} failed:\n{res.stderr.strip()}")


def cluster_env() -> dict[str, str]:
    """KUBECONFIG, INSPECTOR_DNS_SERVER and LOCALCLUSTER_KUBECTL from the bench cluster's env file."""
    out = {}
    for line in (STATE / "env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        out[key] = value
    return out


# ------------------------------------------------------------------------------------ main


SHARES = (0.1, 0.5, 1.0)  # of the namespaces, for the memory section


def section(name: str, run: Callable[[], T], failures: list[str] | None = None) -> T | None:
    """One section of the report: a failure in it (a lost packet, a bug) is printed in one line and
    counted, never the end of the run: the sections after it and the targets still print."""
    try:
        return run()
    except Exception as exc:
        line = f"{exc.__class__.__name__}: {' '.join(str(exc).split())[:300]}"
        say(f"\n{name}: the section failed: {line}")
        if failures is not None:
            failures.append(line)
        return None


def parse_args(argv: list[str]) -> tuple[Plan, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="a quick run: 200 Services, 2,000 pods")
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="default",
        help="large: 10,000 Services, 100,000 pods (500 kwok nodes)",
    )
    parser.add_argument(
        "--with-popeye-full",
        action="store_true",
        help="also popeye's full scan (it peaked near 19 GB at 20,000 pods)",
    )
    parser.add_argument("--services", type=int, help="Services (default 2,000; --small 200)")
    parser.add_argument("--pods", type=int, help="pods, shared out among the Services (default 20,000)")
    parser.add_argument("--namespaces", type=int, help="namespaces (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (default 3)")
    parser.add_argument("--clients", type=int, default=4, help="API clients filling side by side (default 4)")
    parser.add_argument(
        "--threads", type=int, default=8, help="connections of each filling client (default 8)"
    )
    parser.add_argument("--keep", action="store_true", help="leave the bench cluster up at the end")
    parser.add_argument("--stop", action="store_true", help="only stop a bench cluster left up (--keep)")
    parser.add_argument(
        "--targets-out",
        metavar="FILE",
        help="append the targets as JSON lines (bench/targets.py prints them)",
    )
    parser.add_argument(
        "--dns-repeat", type=int, help="runs of the DNS oracle and its floor (default: --repeat)"
    )
    parser.add_argument("--dns-only", action="store_true", help="measure only the DNS oracle")
    parser.add_argument(
        "--compare-with",
        metavar="EXE",
        help="another checkout's kubectl-svc_inspect: its diff -A and fixed cost join the interleaved runs",
    )
    args = parser.parse_args(argv)
    preset = PRESETS["small" if args.small else args.preset]
    plan = Plan(
        services=args.services or preset["services"],
        pods=args.pods or preset["pods"],
        namespaces=args.namespaces or preset["namespaces"],
    )
    if plan.pods < plan.services or plan.nodes > 1000:
        parser.error("need at least one pod per Service, and at most 200,000 pods (1,000 kwok nodes)")
    return plan, args


def main(argv: list[str]) -> int:
    plan, args = parse_args(argv)
    if args.stop:
        localcluster("down")
        return 0
    started = time.monotonic()
    say(
        f"kubectl svc-inspect benchmark: {plan.services:,} Services, {plan.pods:,} pods in "
        f"{plan.namespaces} namespaces on {plan.nodes} kwok nodes (cluster state in {STATE.name}/)"
    )
    try:
        localcluster("up")
        env = {**os.environ, **cluster_env()}
        kubeconfig = env["KUBECONFIG"]
        api = api_client(kubeconfig, args.threads)
        say(f"  bench cluster up in {time.monotonic() - started:.1f} s; API {api.configuration.host}")

        say("\nPopulation")
        if already_populated(plan, api):
            say("  reusing the objects of a kept bench cluster (--keep)")
        else:
            populate(plan, api, kubeconfig, Fill(args.clients, args.threads))

        if args.dns_only:
            section(
                "DNS oracle",
                lambda: print_dns(
                    in_fresh_process(dns_oracle, kubeconfig, env["INSPECTOR_DNS_SERVER"], args.repeat)
                ),
            )
            return 0
        check_fresh_launcher()
        exe = str(Path(sys.executable).parent / "kubectl-svc_inspect")
        kubectl = [env["LOCALCLUSTER_KUBECTL"], f"--kubeconfig={kubeconfig}"]
        floors = [sys.executable, str(ROOT / "bench" / "floors.py")]
        inspector = [exe, "-o", "json", "--exit-zero", f"--kubeconfig={kubeconfig}"]
        ensure_empty_namespace(kubeconfig)
        contenders = [
            Contender(
                "raw paginated LIST of the 3 kinds, bodies dropped (transfer floor)",
                [*floors, "transfer", kubeconfig],
                "transfer",
            ),
            Contender(
                "the same plus json.loads of every page (decoding floor)",
                [*floors, "json", kubeconfig],
                "json",
            ),
            Contender(
                "kubectl svc-inspect diff -A -o json", [exe, "diff", *inspector[1:], "-A"], "reference"
            ),
            Contender(
                "kubectl get services,endpointslices,pods -A -o json",
                [*kubectl, "get", "services,endpointslices,pods", "-A", "-o", "json"],
                "kubectl",
            ),
        ]
        popeye = popeye_binary()
        if popeye:
            popeye_cmd = [str(popeye), f"--kubeconfig={kubeconfig}", "-A", "-o", "json", "--force-exit-zero"]
            contenders.append(
                Contender(
                    f"popeye -A -s svc -o json ({POPEYE_VERSION})", [*popeye_cmd, "-s", "svc"], "popeye"
                )
            )
            if args.with_popeye_full:
                contenders.append(Contender("popeye -A -o json (full scan)", popeye_cmd, "popeye-full"))
        else:
            say("  popeye left out: it could not be built (see above)")
        contenders += [
            Contender("kubectl svc-inspect dns -A -o json", [exe, "dns", *inspector[1:], "-A"], "dns"),
            Contender(
                f"kubectl svc-inspect diff -n {plan.namespace(0)} -o json (1/{plan.namespaces} of the objects)",
                [exe, "diff", *inspector[1:], "-n", plan.namespace(0)],
                "one-namespace",
            ),
            Contender(
                f"kubectl svc-inspect diff -n {EMPTY_NAMESPACE} -o json (fixed cost: an empty namespace)",
                [exe, "diff", *inspector[1:], "-n", EMPTY_NAMESPACE],
                "fixed",
            ),
            Contender(
                f"kubectl get services,endpointslices,pods -n {EMPTY_NAMESPACE} -o json (kubectl's fixed cost)",
                [*kubectl, "get", "services,endpointslices,pods", "-n", EMPTY_NAMESPACE, "-o", "json"],
                "kubectl-fixed",
            ),
            Contender(
                "kubectl svc-inspect --version (interpreter and CLI start-up)", [exe, "--version"], "startup"
            ),
        ]
        if args.compare_with:  # before and after a change, in the same interleaved runs
            other = [args.compare_with, "-o", "json", "--exit-zero", f"--kubeconfig={kubeconfig}"]
            contenders += [
                Contender(
                    f"diff -A -o json of {args.compare_with}", [other[0], "diff", *other[1:], "-A"], "compare"
                ),
                Contender(
                    f"diff -n {EMPTY_NAMESPACE} -o json of {args.compare_with}",
                    [other[0], "diff", *other[1:], "-n", EMPTY_NAMESPACE],
                    "compare-fixed",
                ),
            ]
        # warm-up: the API server's watch cache, the page cache, kubectl's discovery cache. At
        # 100,000 pods the slow peers (minutes each) are not warmed up on their own: the floors'
        # and diff's warm-up runs list the same objects from the same cache just before
        slow = {"kubectl", "popeye", "popeye-full", "dns"} if plan.pods >= LARGE_PODS else set()
        for c in contenders:
            if c.role not in slow:
                measure(c.cmd, env)
        if slow:
            say(
                f"  warm-up: every command but {', '.join(sorted(slow))} "
                "(at this size they list what the floors' warm-up listed)"
            )
        runs: dict[Contender, list[Run]] = {c: [] for c in contenders}
        phase_runs = []
        for _ in range(args.repeat):
            for c in contenders:
                runs[c].append(measure(c.cmd, env))
            phase_runs.append(in_fresh_process(phases, kubeconfig))
        walls = print_end_to_end(runs, args.repeat)
        section(
            "phases",
            lambda: print_phases(
                phase_runs, walls["reference"], broken=sum(plan.broken(i) for i in range(plan.services))
            ),
        )
        section(
            "memory", lambda: print_memory([in_fresh_process(memory_at_share, kubeconfig, f) for f in SHARES])
        )
        folds = tuple(dict.fromkeys((plan.namespaces, max(1, plan.namespaces // 4), 1)))

        def linearity_section() -> float:
            by_share, by_density = in_fresh_process(
                linearity, kubeconfig, (0.1, 0.5, 1.0), folds, LINEARITY_REPEAT
            )
            print_linearity(by_share, by_density, LINEARITY_REPEAT)
            return density_ratio(by_density)

        density = section("linearity", linearity_section)
        dns_failure: list[str] = []
        section(
            "DNS oracle",
            lambda: print_dns(
                in_fresh_process(
                    dns_oracle, kubeconfig, env["INSPECTOR_DNS_SERVER"], args.dns_repeat or args.repeat
                )
            ),
            dns_failure,
        )

        def wait_section() -> list[float]:
            reaction = wait_reaction(api, env, exe, kubeconfig, plan.namespace(0), args.repeat)
            print_wait(reaction, plan)
            return reaction

        reaction = section("wait", wait_section)
        section("memory profile", lambda: print_memory_profile(in_fresh_process(memory_profile, kubeconfig)))
        fixed = next(c for c in contenders if c.role == "fixed")
        section(
            "import profile",
            lambda: print_import_profile(import_profile(fixed.cmd, env), f"`diff -n {EMPTY_NAMESPACE}`"),
        )
        targets = issue_targets(
            plan.pods, walls, density, reaction, "; ".join(dns_failure) or None, apart=not args.targets_out
        )
        print_targets(targets)
        save_targets(args.targets_out, f"{plan.pods:,} pods", targets)
    finally:
        if args.keep:
            say(f"\nbench cluster left up (--keep): source {STATE / 'env'}")
        else:
            localcluster("down")
    say(f"\nbench finished in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
