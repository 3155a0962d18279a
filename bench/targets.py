"""The targets of a whole `make bench` in one table: every script's rows, by the stage that
measured them (bench_all.py gathers them in a JSON-lines file through each script's --targets-out).

A row a stage could not measure for its size (the memory target, set at 100,000 pods, in the
20,000-pod stage) is left out when another stage measured it; a row no stage measured stays, with
why. The verdict is `met`, `MISSED by N.NNx`, or `not measured: why`.

    .venv/bin/python bench/targets.py FILE
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reporting import load_targets, say


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        raise SystemExit("usage: targets.py FILE")
    rows = load_targets(argv[0])
    measured = {t.label for _, t in rows if t.value is not None or t.verdict_only}
    kept = [
        (stage, t) for stage, t in rows if t.value is not None or t.verdict_only or t.label not in measured
    ]
    say("\nTargets of this run (issue 24; issue 15's that still hold)")
    if not kept:
        say("  none: no stage got as far as its targets")
        return 1
    width = max(len(t.label) for _, t in kept)
    swidth = max(len(stage) for stage, _ in kept)
    for stage, t in kept:
        figure = f"{t.value:8.2f}{t.unit:<3}" if t.value is not None else f"{'-':>8}{'':<3}"
        say(f"  {stage:<{swidth}}  {t.label:<{width}} {figure} {t.verdict()}")
    missed = sum(1 for _, t in kept if t.verdict().startswith(("MISSED", "not measured")))
    say(f"  {len(kept) - missed} of {len(kept)} met")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
