"""The report: every section the benchmark prints, from the figures measuring.py returns.

Why it exists: the printed layout is what a reader compares from run to run and what the README's
"Performance" section quotes, so it is kept in one place, apart from how the figures are taken.
Everything the bench prints goes through `say`, flushed at once so progress shows under `make`.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inspector.kube.listing import PAGE_SIZE

if TYPE_CHECKING:  # the types of the figures; at run time this module imports neither
    from measuring import Run
    from populating import Plan


def say(text: str = "") -> None:
    print(text, flush=True)


def fmt_runs(runs: list[float], unit: str, digits: int = 2) -> str:
    return f"{min(runs):8.{digits}f} {unit} {statistics.median(runs):8.{digits}f} {unit}"


@dataclass(frozen=True, eq=False)  # each command its own row, keyed by identity
class Contender:
    label: str
    cmd: list[str]
    role: str = ""  # "reference": diff -A, the row every ratio divides by


def print_end_to_end(runs: dict[Contender, list[Run]], repeat: int) -> dict[str, float]:
    """The table of the issue: every command's medians and its ratio to `diff -A`. Returns the
    medians of wall time by role, for the targets."""
    say(
        f"\nEnd to end: {repeat} runs each, interleaved, after the warm-up; stdout to /dev/null; "
        "each command started by /usr/bin/time (its own peak RSS, nothing inherited)"
    )
    width = max(len(c.label) for c in runs)
    say(f"  {'command':<{width}} {'wall':>8} {'CPU':>8} {'peak RSS':>9} {'vs diff -A':>11}")
    reference = next(c for c in runs if c.role == "reference")
    base = statistics.median(r.wall_s for r in runs[reference])
    out = {}
    for contender, got in runs.items():
        wall = statistics.median(r.wall_s for r in got)
        cpu = statistics.median(r.cpu_s for r in got)
        rss = statistics.median(r.peak_rss_mb for r in got)
        out[contender.role or contender.label] = wall
        out[f"{contender.role}-rss"] = rss
        say(f"  {contender.label:<{width}} {wall:6.2f} s {cpu:6.2f} s {rss:6.0f} MB {wall / base:10.2f}x")
    if "compare" in out:
        say(
            f"  this checkout against the other: diff -A {base / out['compare']:.2f}x its wall time "
            f"({out['compare'] / out['transfer']:.2f}x the transfer floor, ours {base / out['transfer']:.2f}x); "
            f"the fixed cost {out['fixed'] / out['compare-fixed']:.2f}x"
        )
    return out


@dataclass(frozen=True)
class Target:
    """One target of the issue: met, missed by how much, or not measured and why."""

    label: str
    bound: float = 0.0
    unit: str = ""
    value: float | None = None  # None: not measured in this run
    why_not: str = ""  # why it was not measured (or what a verdict-only row says)
    verdict_only: bool = False  # a row judged met or not without a figure (a section that completed)

    def verdict(self) -> str:
        if self.verdict_only:
            return "met" if not self.why_not else f"MISSED: {self.why_not}"
        if self.value is None:
            return f"not measured: {self.why_not}"
        return "met" if self.value <= self.bound else f"MISSED by {self.value / self.bound:.2f}x"


LARGE_PODS = 100_000  # issue 24's memory target is set at the large preset


def issue_targets(
    pods: int,
    walls: dict[str, float] | None,
    density: float | None,
    reaction: list[float] | None,
    dns_failure: str | None,
    apart: bool = True,
) -> list[Target]:
    """Issue 24's targets (and issue 15's that still hold) from this run's figures; None: a section
    that failed, its targets not measured."""
    failed = "its section failed (see above)"
    rows: list[Target] = []

    def ratio(label: str, bound: float, top: str, bottom: str) -> Target:
        if walls is None or top not in walls or bottom not in walls:
            return Target(label, bound, "x", why_not=failed if walls is None else f"no {bottom} row")
        return Target(label, bound, "x", walls[top] / walls[bottom])

    rows.append(
        ratio(f"`diff -A` <= 1.25x the transfer floor ({pods:,} pods)", 1.25, "reference", "transfer")
    )
    rows.append(ratio("`diff -A` <= 0.25x kubectl list-only (issue 15)", 0.25, "reference", "kubectl"))
    rss = walls.get("reference-rss") if walls else None
    rows.append(
        Target("peak RSS of `diff -A` <= 300 MB at 100,000 pods", 300, " MB", rss)
        if pods >= LARGE_PODS
        else Target(
            "peak RSS of `diff -A` <= 300 MB at 100,000 pods",
            300,
            " MB",
            why_not=f"this run has {pods:,} pods (--preset large)" + (f"; here {rss:.0f} MB" if rss else ""),
        )
    )
    rows.append(
        ratio(
            "fixed cost: `diff -n` of an empty namespace <= 3x kubectl's `get` of it",
            3.0,
            "fixed",
            "kubectl-fixed",
        )
    )
    rows.append(
        Target("density: µs/object, 1 namespace against all <= 1.3x (issue 15)", 1.3, "x", density, failed)
    )
    rows.append(
        Target(
            "`wait` reacts within 200 ms of the completing update (issue 15)",
            200,
            " ms",
            statistics.median(reaction) * 1000 if reaction else None,
            failed if reaction is None else "no run completed",
        )
    )
    rows.append(
        Target(
            "the DNS section completes; lost queries counted, not fatal",
            why_not=dns_failure or "",
            verdict_only=True,
        )
    )
    if not apart:  # a whole `make bench`: bench_serve.py and bench_why.py add their own rows
        return rows
    rows.append(
        Target(
            "`serve` under churn (item 3)",
            why_not="`make bench-serve` measures it, apart (bench/bench_serve.py: 20,000 pods)",
        )
    )
    rows.append(
        Target(
            "`why --nodes all` against one node's `why` (item 4)",
            why_not="bench/bench_why.py measures it on the real nodes: the last section of `make bench`",
        )
    )
    return rows


def print_targets(targets: list[Target]) -> None:
    say("\nTargets (issue 24; issue 15's that still hold)")
    for t in targets:
        figure = f"{t.value:8.2f}{t.unit:<3}" if t.value is not None else f"{'-':>8}{'':<3}"
        say(f"  {t.label:<72} {figure} {t.verdict()}")


def save_targets(path: str | None, stage: str, targets: list[Target]) -> None:
    """Appends this run's targets to `path` (JSON lines) for bench/targets.py's one table of a
    whole `make bench`."""
    if path:
        with Path(path).open("a") as out:
            for t in targets:
                out.write(json.dumps({"stage": stage, **asdict(t)}) + "\n")


def load_targets(path: str) -> list[tuple[str, Target]]:
    rows = []
    for line in Path(path).read_text().splitlines():
        record = json.loads(line)
        stage = record.pop("stage")
        rows.append((stage, Target(**record)))
    return rows


def print_memory_profile(profile: dict[str, Any]) -> None:
    say(
        f"\nWhere `diff -A`'s memory is (tracemalloc in a fresh process, {profile['objects']:,} objects, "
        f"{profile['services']:,} Service reports): {profile['read_mb']:.0f} MB allocated once the "
        f"snapshot is read, {profile['inspected_mb']:.0f} MB once the report is built"
    )
    say("  live allocations by the line that made them:")
    for site in profile["sites"]:
        say(f"    {site['mb']:8.1f} MB {site['blocks']:>10,} blocks  {site['site']}")
    say("  live objects by type: " + ", ".join(f"{name} {count:,}" for name, count in profile["types"]))


def print_import_profile(profile: dict[str, Any], label: str) -> None:
    say(
        f"\nWhere the fixed cost is: {label} with -X importtime, each module's own time (least of the "
        f"runs): {profile['modules']} modules, {profile['total_ms']:.0f} ms, by top-level package:"
    )
    say("  " + ", ".join(f"{pkg} {ms:.0f} ms" for pkg, ms in profile["packages"]))
    say("  the costliest modules: " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in profile["modules_top"]))


def print_memory(by_share: list[dict[str, Any]]) -> None:
    say("\nPeak RSS of `diff -A -o json`'s pipeline (read, inspect, render) on a share of the namespaces")
    say("  (each share in a fresh process, listed namespace by namespace)")
    say(f"  {'share':>6} {'namespaces':>11} {'pods':>9} {'objects':>9} {'peak RSS':>9} {'KB/object':>10}")
    for r in by_share:
        say(
            f"  {r['fraction']:>6.0%} {r['namespaces']:>11} {r['pods']:>9,} {r['objects']:>9,} "
            f"{r['peak_rss']:>6.0f} MB {r['peak_rss'] * 1024 / max(1, r['objects']):>10.2f}"
        )


def print_phases(results: list[dict[str, Any]], cli_median: float, broken: int) -> None:
    say(f"\nInspector phases in-process ({len(results)} runs, each in a fresh process)")
    say(f"  {'phase':<46} {'min':>10} {'median':>10} {'RSS after (median)':>20}")
    rows = (
        ("connect (kubeconfig, client)", "connect", None),
        ("fetching (read_snapshot(client, None))", "fetch", "rss_fetched"),
        ("inspecting (inspect_snapshot)", "inspect", "rss_inspected"),
        ("rendering (report_json + write_json)", "render", "rss_rendered"),
    )
    for label, key, rss_key in rows:
        times = [r[key] for r in results]
        rss = f"{statistics.median(r[rss_key] for r in results):17.0f} MB" if rss_key else ""
        say(f"  {label:<46} {fmt_runs(times, 's')} {rss:>20}")
    total = statistics.median(r["connect"] + r["fetch"] + r["inspect"] + r["render"] for r in results)
    say(f"  {'sum of the phases (median)':<46} {'':>10} {total:8.2f} s")
    say(
        f"  the CLI's median wall time beyond the phases (interpreter, imports, writing): "
        f"{cli_median - total:.2f} s"
    )
    say(
        f"  peak RSS {statistics.median(r['peak_rss'] for r in results):.0f} MB (median; the interpreter "
        f"and imports alone: {statistics.median(r['rss_start'] for r in results):.0f} MB); "
        f"report JSON {results[0]['json_mb']:.1f} MB"
    )
    first = results[0]
    say(f"\n  Requests of one fetch, per path (PAGE_SIZE = {PAGE_SIZE})")
    say(f"  {'path':<46} {'objects':>9} {'requests':>9} {'pages needed':>13}")
    for path, count in sorted(first["requests"].items()):
        plural = path.rsplit("/", 1)[-1]
        objects = first["objects"].get(plural, 0)
        needed = max(1, math.ceil(objects / PAGE_SIZE))
        say(f"  {path:<46} {objects:>9,} {count:>9} {needed:>13}")
    say(f"  {'total':<46} {'':>9} {sum(first['requests'].values()):>9}")
    if first["requests"].get("/api/v1/services", 0) > math.ceil(first["objects"]["services"] / PAGE_SIZE):
        say("  (the one more for services: with -A, fetching first asks for one Service to learn whether")
        say("  it may list across namespaces; a 403 makes it read namespace by namespace)")
    distinct, with_ip = first["pod_ips"]
    s = first["summary"]
    say(
        f"  report: {s['services']:,} Services, {s['errors']} error(s), {s['warnings']} warning(s), "
        f"{s['infos']} info(s) (the plan has {broken} Services selecting no pod); "
        f"pods with an IP {with_ip:,}, distinct pod IPs {distinct:,}"
    )


def print_linearity(by_share: list[dict[str, Any]], by_density: list[dict[str, Any]], repeat: int) -> None:
    def objects(r: dict[str, Any]) -> int:
        return int(r["services"] + r["slices"] + r["pods"])

    header = (
        f"{'namespaces':>11} {'services':>9} {'slices':>8} {'pods':>8} {'objects':>9} "
        f"{'time':>9} {'us/object':>10} {'ratio':>8}"
    )

    def row(r: dict[str, Any], base: dict[str, Any]) -> str:
        us, base_us = (x["min"] / objects(x) * 1e6 for x in (r, base))
        return (
            f"{r['namespaces']:>11} {r['services']:>9,} {r['slices']:>8,} {r['pods']:>8,} {objects(r):>9,} "
            f"{r['min']:>7.3f} s {us:>10.1f} {us / base_us:>7.2f}x"
        )

    say(
        f"\nLinearity of inspect_snapshot (min of {repeat} runs; ratio: time per object against the 100% row)"
    )
    say(f"  {'share':>6} {header}")
    for r in by_share:
        say(f"  {r['fraction']:>6.0%} {row(r, by_share[-1])}")
    say("  and in density: all of them folded into fewer namespaces (ratio: against the unfolded row)")
    say(f"  {'pods/ns':>7} {header}")
    for r in by_density:
        say(f"  {r['pods'] // r['namespaces']:>7,} {row(r, by_density[0])}")


def print_dns(r: dict[str, Any]) -> None:
    names = r["names"]
    oracle, floor = statistics.median(r["oracle"]), statistics.median(r["floor"])
    types = ", ".join(f"{t} {n:,}" for t, n in sorted(r["by_type"].items()))
    say(f"\nDNS oracle ({names:,} names: {types}; {r['concurrency']} queries in flight)")
    say(
        f"  oracle (inspect_dns)  min {min(r['oracle']):.2f} s  median {oracle:.2f} s  {names / oracle:,.0f} names/s"
    )
    say(
        f"  floor (bare dnspython) min {min(r['floor']):.2f} s  median {floor:.2f} s  {names / floor:,.0f} names/s"
    )
    say(
        f"  oracle / floor: {oracle / floor:.2f}x the time ({r['errors']} error finding(s) among the records)"
    )
    runs = ", ".join(
        f"{t} timed out, {u} unanswered" + (f", {f} failed" if f else "")
        for t, u, f in zip(r["floor_timeouts"], r["floor_unanswered"], r["floor_failed"], strict=True)
    )
    say(
        f"  lost queries (each name tried {r['tries']} times, {r['timeout']:g} s each): floor runs: {runs}; "
        f"oracle runs, names without an answer: {', '.join(str(n) for n in r['oracle_unanswered'])}"
    )


def print_wait(reactions: list[float], plan: Plan) -> None:
    here = plan.pods // plan.namespaces
    say(
        f"\n`wait` on a new Service in {plan.namespace(0)} ({here:,} pods there, {plan.pods:,} in the cluster)"
    )
    if not reactions:
        say("  no run completed")
        return
    say(
        "  from the EndpointSlice update that completes it to `wait` returning: "
        + ", ".join(f"{r * 1000:.0f} ms" for r in reactions)
        + f" (median {statistics.median(reactions) * 1000:.0f} ms)"
    )
