"""`make bench`: every benchmark of issue 24 in one run, ending with one table of its targets.

Why it exists: the figures that matter are read at two sizes, on real nodes and offline, by four
scripts; measured apart, on different days and loads, they do not make one picture. This runs them
in an order that fills the bench cluster once:

  1. bench_why.py      `why --nodes all` against one node's `why`, on the test cluster's real nodes
                       (started and stopped by the script when it is not up);
  2. bench_diff.py     at 20,000 pods (2,000 Services, 20 namespaces, 100 kwok nodes): the end-to-end
                       table, phases, memory, linearity, the DNS oracle, `wait`; the cluster kept;
  3. bench_serve.py    `serve -A` under churn on that same cluster;
  4. bench_diff.py     --preset large: the same cluster filled on to 100,000 pods (10,000 Services,
                       100 namespaces, 500 kwok nodes; the first 20,000 pods are the ones already
                       there), measured again;
  5. bench_whatif.py   the offline what-if run (no cluster);

then prints every target of the run in one table (bench/targets.py). The bench cluster is stopped at
the end, whatever happened. A step that fails prints its error and the run goes on; the exit code
is then 1. `--quick` runs the same steps at a tenth of the size (2,000 then 10,000 pods), to check
the run end to end in about ten minutes.

    make bench                                  # about 80 minutes here
    .venv/bin/python bench/bench_all.py --quick
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from populating import PRESETS, Plan
from reporting import say

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def plan_args(plan: Plan) -> list[str]:
    return ["--services", str(plan.services), "--pods", str(plan.pods), "--namespaces", str(plan.namespaces)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the size: 2,000 then 10,000 pods")
    parser.add_argument(
        "--targets", metavar="FILE", help="where the targets are gathered (default: a temporary file)"
    )
    args = parser.parse_args(argv)
    large = Plan(**PRESETS["large"])
    small = Plan(**PRESETS["default"])
    if args.quick:
        large = Plan(services=large.services // 10, pods=large.pods // 10, namespaces=large.namespaces)
        small = Plan(**PRESETS["small"])
    if not small.prefix_of(large):
        raise SystemExit(f"bench: {small} is not a prefix of {large}: the cluster could not be filled on")
    targets = args.targets or tempfile.mkstemp(prefix="bench-targets-", suffix=".jsonl")[1]
    Path(targets).write_text("")
    out = ["--targets-out", targets]
    py = sys.executable
    steps = [
        (
            "why --nodes all on the real nodes",
            [py, BENCH / "bench_why.py", *(["--repeat", "3"] if args.quick else []), *out],
        ),
        (
            f"diff at {small.pods:,} pods",
            [py, BENCH / "bench_diff.py", *plan_args(small), "--keep", *out],
        ),
        (
            f"serve under churn at {small.pods:,} pods",
            [
                py,
                BENCH / "bench_serve.py",
                *(["--small", "--minutes", "2"] if args.quick else []),
                "--keep",
                *out,
            ],
        ),
        (
            f"diff at {large.pods:,} pods (the same cluster, filled on)",
            [
                py,
                BENCH / "bench_diff.py",
                *plan_args(large),
                "--repeat",
                "2",
                "--dns-repeat",
                "1",
                "--keep",
                *out,
            ],
        ),
        (
            "what-if from files",
            [py, BENCH / "bench_whatif.py", *(["--services", "200"] if args.quick else [])],
        ),
    ]
    started = time.monotonic()
    failed = []
    try:
        for name, cmd in steps:
            say(f"\n{'=' * 100}\n== {name} ({time.monotonic() - started:.0f} s into the run)\n{'=' * 100}")
            t0 = time.monotonic()
            code = subprocess.run([str(c) for c in cmd], cwd=ROOT, check=False).returncode
            say(
                f"== {name}: {'done' if code == 0 else f'FAILED (exit {code})'} in {time.monotonic() - t0:.0f} s"
            )
            if code:
                failed.append(name)
    finally:
        subprocess.run([py, str(BENCH / "bench_diff.py"), "--stop"], cwd=ROOT, check=False)
    subprocess.run([py, str(BENCH / "targets.py"), targets], check=False)
    say(
        f"\nmake bench finished in {time.monotonic() - started:.0f} s"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
