#!/usr/bin/env python3
"""Flowbench against SimPy, side by side, on the same queueing models.

Models (time unit: seconds in both tools):
  mm1     M/M/1: Poisson arrivals λ = 0.9/s, one exponential server μ = 1/s.
          Theory: mean time in system W = 1/(μ − λ) = 10 s.
  tandem  three M/M/1 stations in series: λ = 0.5/s; μ = 1.0, 0.8, 0.9 /s.
          Theory (Jackson): W = Σ 1/(μi − λ) = 2 + 3.33 + 2.5 = 7.83 s.

Both tools simulate the same number of customers (--customers, default 1,000,000) and run
until every customer has left. Flowbench runs as a separate process,
`flowbench run GRAPH.json --seed S --json`; its wall time is shown twice: as the engine
reports it (`wall_time_ms`: building the simulation and running it) and for the whole
command (process start, reading the graph, writing the JSON report). SimPy runs in this
Python process; its wall time covers building the model and `env.run()`.

Replications: at ρ = 0.9 the mean time in system of a single run of 1,000,000 customers is
still noisy (a 95 % interval of about ±5 % of W), so one seed cannot tell whether a tool is
within 3 % of theory. Each model therefore runs as R independent replications
(--replications, default 5), every one with the full --customers count.

Seed policy: replication k (k = 0 … R−1) uses seed S + k for both tools (S = --seed,
default 42). Flowbench gets `--seed S+k` (each node draws from its own stream derived from
the seed and the node id; the graph file itself carries seed S); SimPy draws from Python's
`random` after `random.seed(S + k)` at the start of each model. The two tools use different
generators, so their sample paths differ; each is compared with theory, not with the other.
The same seeds give the same Flowbench numbers on every run.

Accuracy: each replication gives one mean time in system per tool. The grand mean of the R
replication means is compared with theory; its 95 % confidence half-width is
t(R−1) · s / √R, with s the standard deviation of the replication means and t the Student t
quantile (97.5 %) for R−1 degrees of freedom. With --replications 1 there is no spread to
measure: SimPy's half-width then comes from 20 batch means of its one run, and Flowbench
shows none ("—"). The target asks for both grand means within 3 % of theory; whether theory
lies inside each tool's interval is shown as well.

Speed: wall times are totals over the R replications of a model. The speed ratio is the
total Flowbench whole-command time divided by the total SimPy time, over the same customers
and seeds; the target asks for Flowbench ≥ 100× faster by that ratio. Events and events/s
are likewise summed over all replications.

Target: judged on the M/M/1 model, as the performance target states it; each model's own
line says whether it is ≥ 100× faster and within 3 %, the tandem's included.

Set-up: Python 3 and the Rust toolchain of the README. Without SimPy importable, the script
makes a venv in bench/.venv, installs `simpy` from PyPI there and restarts itself in it.
Without target/release/flowbench it runs `cargo build --release --bin flowbench` first.

    python3 bench/compare_simpy.py                  # 5 replications of 1,000,000 customers
    python3 bench/compare_simpy.py --customers 100000 --models mm1
    python3 bench/compare_simpy.py --replications 10 --seed 1   # seeds 1 … 10
    python3 bench/compare_simpy.py --replications 1 # one seed, as a single run
    python3 bench/compare_simpy.py --repeat 3       # median wall time of 3 runs each

Runs are deterministic, so repeats change only the wall times; with --repeat every wall time
shown is the median over the repeats (for the totals: the median of the per-repeat totals).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import random
import shutil
import subprocess
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "bench" / ".venv"

MODELS = {
    "mm1": {"title": "M/M/1", "lam": 0.9, "mus": [1.0]},
    "tandem": {"title": "tandem M/M/1 ×3", "lam": 0.5, "mus": [1.0, 0.8, 0.9]},
}


def theory_w(lam: float, mus: list[float]) -> float:
    """Mean time in system of a series of M/M/1 stations (Jackson network)."""
    return sum(1.0 / (mu - lam) for mu in mus)


# ---------------------------------------------------------------------------------------
# Set-up: SimPy and the Flowbench binary


def ensure_simpy() -> None:
    """Imports SimPy, or installs it into bench/.venv and restarts the script there."""
    try:
        import simpy  # noqa: F401

        return
    except ImportError:
        pass
    venv_python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        sys.exit("simpy is missing from bench/.venv; delete bench/.venv and try again")
    if not venv_python.exists():
        print(f"creating {VENV.relative_to(ROOT)} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    has_simpy = subprocess.run(
        [str(venv_python), "-c", "import simpy"], capture_output=True
    ).returncode == 0
    if not has_simpy:
        print("installing simpy from PyPI into bench/.venv ...", file=sys.stderr)
        subprocess.run(
            [str(venv_python), "-m", "pip", "install", "--quiet", "simpy"], check=True
        )
    os.execv(str(venv_python), [str(venv_python), str(Path(__file__).resolve()), *sys.argv[1:]])


def ensure_flowbench(path: Path) -> Path:
    if path.exists():
        return path
    if shutil.which("cargo") is None:
        sys.exit(f"{path} is missing and cargo is not on PATH: install Rust (see README.md)")
    print("building the release binary: cargo build --release --bin flowbench ...", file=sys.stderr)
    subprocess.run(["cargo", "build", "--release", "--bin", "flowbench"], cwd=ROOT, check=True)
    if not path.exists():
        sys.exit(f"cargo build finished but {path} does not exist")
    return path


# ---------------------------------------------------------------------------------------
# Flowbench side


def flowbench_graph(name: str, lam: float, mus: list[float], customers: int, seed: int) -> dict:
    """producer (limit = customers, Poisson λ/s) → [unbounded queue → 1 exp server] × k → sink"""
    nodes = [
        {
            "id": "arrivals",
            "kind": "producer",
            "pos": [80, 120],
            "config": {"rate_per_sec": lam, "arrival": "poisson", "limit": customers},
        }
    ]
    edges = []
    prev = "arrivals"
    x = 280
    for i, mu in enumerate(mus, start=1):
        q, s = f"q{i}", f"server{i}"
        nodes.append(
            {"id": q, "kind": "queue", "pos": [x, 120],
             "config": {"capacity": None, "when_full": "block"}}
        )
        nodes.append(
            {"id": s, "kind": "service", "pos": [x + 200, 120],
             "config": {"concurrency": 1,
                        "service_time": {"dist": "exp", "mean_ms": 1000.0 / mu}}}
        )
        edges += [{"from": prev, "to": q}, {"from": q, "to": s}]
        prev = s
        x += 400
    nodes.append({"id": "done", "kind": "sink", "pos": [x, 120]})
    edges.append({"from": prev, "to": "done"})
    return {
        "format": "flowbench.graph",
        "version": 1,
        "name": name,
        "description": f"{len(mus)} M/M/1 station(s), λ = {lam}/s, μ = {mus}/s",
        "seed": seed,
        "nodes": nodes,
        "edges": edges,
        "faults": [],
    }


def run_flowbench(binary: Path, graph_path: Path, seed: int, customers: int) -> dict:
    cmd = [str(binary), "run", str(graph_path), "--seed", str(seed), "--json"]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    command_s = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr}")
    report = json.loads(done.stdout)
    sink = report["nodes"]["done"]
    if sink["in"] != customers or not report["conservation"]["ok"]:
        sys.exit(f"flowbench delivered {sink['in']} of {customers} customers "
                 f"(conservation ok: {report['conservation']['ok']})")
    return {
        "wall_s": report["wall_time_ms"] / 1000.0,
        "command_s": command_s,
        "events": report["events"],
        "mean_w": sink["latency_ms"]["mean"] / 1000.0,
        "ci95": None,
    }


# ---------------------------------------------------------------------------------------
# SimPy side: the textbook model, one process per customer, Resource(capacity=1) per server


def run_simpy(lam: float, mus: list[float], customers: int, seed: int) -> dict:
    import simpy

    random.seed(seed)
    expo = random.expovariate
    sojourn: list[float] = []
    record = sojourn.append

    def customer(env, servers):
        arrive = env.now
        for server, mu in servers:
            with server.request() as req:
                yield req
                yield env.timeout(expo(mu))
        record(env.now - arrive)

    def source(env, servers):
        for _ in range(customers):
            yield env.timeout(expo(lam))
            env.process(customer(env, servers))

    start = time.perf_counter()
    env = simpy.Environment()
    servers = [(simpy.Resource(env, capacity=1), mu) for mu in mus]
    env.process(source(env, servers))
    env.run()
    wall_s = time.perf_counter() - start

    assert len(sojourn) == customers, (len(sojourn), customers)
    assert not env._queue, "env.run() returns only once no event is left"
    # Every event SimPy processes was scheduled once, and each scheduling takes one id from
    # the counter env._eid (itertools.count): with the queue empty, the next id is the
    # number of events processed.
    events = next(env._eid)
    return {
        "wall_s": wall_s,
        "command_s": None,
        "events": events,
        "mean_w": sum(sojourn) / customers,
        "ci95": batch_means_ci95(sojourn),
    }


def median_run(runs: list[dict]) -> dict:
    """The first run's results with the median of every run's wall times (runs are
    deterministic: only the times differ)."""
    out = dict(runs[0])
    for r in runs[1:]:
        if (r["mean_w"], r["events"]) != (out["mean_w"], out["events"]):
            print(f"warning: repeats of one seed differ (mean W {r['mean_w']} vs {out['mean_w']}, "
                  f"events {r['events']} vs {out['events']}); showing the first",
                  file=sys.stderr)
    for key in ("wall_s", "command_s"):
        if out[key] is not None:
            out[key] = statistics.median(r[key] for r in runs)
    return out


# Student t, 97.5 % quantile (two-sided 95 %), by degrees of freedom 1 … 30.
T_975 = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
]


def t_975(df: int) -> float:
    """Student t quantile for a two-sided 95 % interval; the normal 1.96 beyond 30 df."""
    return T_975[df - 1] if df <= len(T_975) else 1.96


def batch_means_ci95(xs: list[float], batches: int = 20) -> float:
    """Half-width of a 95 % confidence interval for the mean, from batch means (the values
    are strongly autocorrelated, so the naive standard error would be far too small)."""
    size = len(xs) // batches
    if size < 10:
        return float("nan")
    means = [sum(xs[i * size:(i + 1) * size]) / size for i in range(batches)]
    m = sum(means) / batches
    var = sum((b - m) ** 2 for b in means) / (batches - 1)
    return t_975(batches - 1) * math.sqrt(var / batches)


def summarize(reps: list[dict], totals: list[dict], w: float) -> dict:
    """One tool on one model over all replications.

    reps: per replication (wall times already the median over repeats); totals: per repeat,
    the wall times summed over the replications. The grand mean's half-width comes from the
    spread of the replication means; with one replication, from that run's own estimate
    (SimPy's batch means, none for Flowbench)."""
    means = [r["mean_w"] for r in reps]
    n = len(means)
    grand = statistics.fmean(means)
    if n > 1:
        ci95 = t_975(n - 1) * statistics.stdev(means) / math.sqrt(n)
    else:
        ci95 = reps[0]["ci95"]
    if ci95 is None or math.isnan(ci95):
        covers = None
    else:
        covers = abs(grand - w) <= ci95
    out = {
        "mean_w": grand,
        "ci95": ci95,
        "rel_err": (grand - w) / w,
        "covers": covers,
        "events": sum(r["events"] for r in reps),
    }
    for key in ("wall_s", "command_s"):
        vals = [t[key] for t in totals]
        out[key] = None if None in vals else statistics.median(vals)
    return out


# ---------------------------------------------------------------------------------------
# Output


def fmt_s(s: float | None) -> str:
    if s is None:
        return "—"
    return f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s"


def machine() -> list[str]:
    import simpy

    cpu = "?"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"date      {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"machine   nproc {os.cpu_count()}, CPU {cpu}, load average {load}",
        f"python    {platform.python_version()} ({platform.python_implementation()}), simpy {simpy.__version__}",
    ]


def fmt_pct(x: float) -> str:
    return f"{x * 100:+.2f} %"


def yes_no(x: bool | None) -> str:
    return "—" if x is None else ("yes" if x else "NO")


def print_table(header: list[str], table: list[list[str]], left: set[int]) -> None:
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(header)]

    def line(cells):
        return "  ".join(c.ljust(widths[i]) if i in left else c.rjust(widths[i])
                         for i, c in enumerate(cells)).rstrip()

    print(line(header))
    print("  ".join("-" * wd for wd in widths))
    for row in table:
        print(line(row))
    print()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Replication k (k = 0 … R−1) runs both tools with seed S + k and the full "
               "customer count. Accuracy is judged on the grand mean of the replication means "
               "(95 % interval from their spread, Student t); speed on the total wall time over "
               "all replications (Flowbench whole command / SimPy).",
    )
    ap.add_argument("--customers", type=int, default=1_000_000,
                    help="customers per model and replication (default 1,000,000)")
    ap.add_argument("--replications", type=int, default=5, metavar="R",
                    help="independent replications per model, seeds S … S+R−1 (default 5); "
                         "1 gives a single run with SimPy's batch-means interval")
    ap.add_argument("--seed", type=int, default=42, metavar="S",
                    help="seed of the first replication, for both tools (default 42)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per tool, model and seed; wall times are the median over the "
                         "repeats (default 1)")
    ap.add_argument("--models", default="mm1,tandem", help="comma-separated: mm1, tandem")
    ap.add_argument("--flowbench", type=Path, default=ROOT / "target" / "release" / "flowbench",
                    help="the flowbench binary (built with cargo build --release when missing)")
    ap.add_argument("--keep-graphs", type=Path,
                    help="write the generated graph files into this folder (they carry seed S; "
                         "replication k runs them with --seed S+k)")
    args = ap.parse_args()
    if args.customers < 1:
        ap.error("--customers must be at least 1")
    if args.replications < 1:
        ap.error("--replications must be at least 1")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in names:
        if m not in MODELS:
            ap.error(f"unknown model {m!r}: choose from {', '.join(MODELS)}")

    ensure_simpy()
    binary = ensure_flowbench(args.flowbench.resolve())
    # One untimed start first, so that no timed run pays for loading the binary from disk
    # (SimPy's interpreter is already loaded when its runs are timed).
    subprocess.run([str(binary), "--version"], capture_output=True, check=True)

    n_rep = args.replications
    seeds = [args.seed + k for k in range(n_rep)]
    runs = f", median of {args.repeat} runs each" if args.repeat > 1 else ""
    if n_rep == 1:
        print(f"Flowbench vs SimPy — {args.customers:,} customers per model, seed {args.seed}{runs}")
    else:
        print(f"Flowbench vs SimPy — {args.customers:,} customers per model and replication, "
              f"{n_rep} replications (seeds {seeds[0]}–{seeds[-1]}){runs}")
    for line in machine():
        print(line)
    print(f"flowbench {binary}")
    print()

    rows = []
    with tempfile.TemporaryDirectory(prefix="flowbench-vs-simpy-") as tmp:
        graph_dir = args.keep_graphs or Path(tmp)
        graph_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            m = MODELS[name]
            w = theory_w(m["lam"], m["mus"])
            graph = flowbench_graph(m["title"], m["lam"], m["mus"], args.customers, args.seed)
            path = graph_dir / f"{name}.json"
            path.write_text(json.dumps(graph, indent=2) + "\n")
            # fbs[k][i], sps[k][i]: replication k (seed S + k), repeat i
            fbs: list[list[dict]] = [[] for _ in seeds]
            sps: list[list[dict]] = [[] for _ in seeds]
            for i in range(args.repeat):
                for k, seed in enumerate(seeds):
                    step = f"running {name}, seed {seed} ({k + 1}/{n_rep})"
                    if args.repeat > 1:
                        step += f", run {i + 1}/{args.repeat}"
                    print(f"{step}: flowbench ...", file=sys.stderr, flush=True)
                    fbs[k].append(run_flowbench(binary, path, seed, args.customers))
                    print(f"{step}: simpy ...", file=sys.stderr, flush=True)
                    sps[k].append(run_simpy(m["lam"], m["mus"], args.customers, seed))
            fb_reps = [median_run(r) for r in fbs]
            sp_reps = [median_run(r) for r in sps]

            def totals(per_rep: list[list[dict]]) -> list[dict]:
                out = []
                for i in range(args.repeat):
                    t = {}
                    for key in ("wall_s", "command_s"):
                        vals = [rep[i][key] for rep in per_rep]
                        t[key] = None if None in vals else sum(vals)
                    out.append(t)
                return out

            fb = summarize(fb_reps, totals(fbs), w)
            sp = summarize(sp_reps, totals(sps), w)
            rows.append((name, m, w, fb, sp, fb_reps, sp_reps))

    if n_rep > 1:
        print("Replications" + (" (wall times: median of the repeats)" if args.repeat > 1 else ""))
        header = ["model", "seed", "Flowbench W (s)", "rel. error", "wall time", "whole command",
                  "SimPy W (s)", "± 95 % (batch means)", "rel. error", "wall time"]
        table = []
        for name, m, w, fb, sp, fb_reps, sp_reps in rows:
            for seed, f, p in zip(seeds, fb_reps, sp_reps):
                table.append([
                    m["title"], str(seed),
                    f"{f['mean_w']:.3f}", fmt_pct((f["mean_w"] - w) / w),
                    fmt_s(f["wall_s"]), fmt_s(f["command_s"]),
                    f"{p['mean_w']:.3f}", f"{p['ci95']:.3f}", fmt_pct((p["mean_w"] - w) / w),
                    fmt_s(p["wall_s"]),
                ])
        print_table(header, table, left={0})
        print("Over all replications (wall times and events: totals; mean W: grand mean of the "
              "replication means)")

    customers = f"{n_rep} × {args.customers:,}" if n_rep > 1 else f"{args.customers:,}"
    header = ["model", "tool", "customers", "wall time", "whole command", "events",
              "events/s", "mean W (s)", "± 95 %", "theory W (s)", "rel. error", "theory in CI"]
    table = []
    for name, m, w, fb, sp, _, _ in rows:
        for tool, r in (("Flowbench", fb), ("SimPy", sp)):
            ci = "—" if r["ci95"] is None else f"{r['ci95']:.3f}"
            table.append([
                m["title"], tool, customers, fmt_s(r["wall_s"]), fmt_s(r["command_s"]),
                f"{r['events']:,}", f"{r['events'] / r['wall_s'] / 1e6:.2f} M",
                f"{r['mean_w']:.3f}", ci, f"{w:.3f}", fmt_pct(r["rel_err"]), yes_no(r["covers"]),
            ])
    print_table(header, table, left={0, 1})

    target_met = None  # the target is judged on M/M/1; other models are shown beside it
    over = f" over {n_rep} replications" if n_rep > 1 else ""
    grand = "grand mean W" if n_rep > 1 else "mean W"
    for name, m, w, fb, sp, _, _ in rows:
        engine_ratio = fb["wall_s"] / sp["wall_s"]
        command_ratio = fb["command_s"] / sp["wall_s"]
        fast = 1 / command_ratio >= 100
        close = max(abs(fb["rel_err"]), abs(sp["rel_err"])) <= 0.03
        if name == "mm1":
            target_met = fast and close
        print(f"{m['title']}: Flowbench/SimPy {'total ' if n_rep > 1 else ''}wall time{over} = {engine_ratio:.4f} engine "
              f"({1 / engine_ratio:.0f}× faster), {command_ratio:.4f} whole command "
              f"({1 / command_ratio:.0f}× faster): ≥ 100× {'yes' if fast else 'NO'}")
        print(f"  {grand} − theory: Flowbench {fmt_pct(fb['rel_err'])}, SimPy {fmt_pct(sp['rel_err'])}: "
              f"both within 3 % {'yes' if close else 'NO'}; theory inside the 95 % CI: "
              f"Flowbench {yes_no(fb['covers'])}, SimPy {yes_no(sp['covers'])}")
    verdict = ("not measured (run with --models mm1)" if target_met is None
               else "met" if target_met else "NOT met")
    print(f"target (M/M/1: ≥ 100× faster than SimPy by whole-command wall time, both "
          f"{'grand means' if n_rep > 1 else 'means'} within 3 % of theory): {verdict}"
          + ("; the other models are shown for comparison, with no target"
             if any(r[0] != "mm1" for r in rows) else ""))
    print()
    print("How events are counted:")
    print("  Flowbench: `events` of the run report, every time a node reacts (arrival timer, "
          "arrival at the queue, at the worker")
    print("             and at the sink, service-done timer, a queue giving its next customer "
          "to the freed worker).")
    print("  SimPy:     events processed by env.run() = ids drawn from env._eid (one per scheduled "
          "event: timeouts, resource")
    print("             requests and releases, process start (Initialize) and process end); "
          "the queue is empty at the end.")
    print("Wall time: Flowbench 'wall time' is the engine's wall_time_ms (build + run), 'whole "
          "command' is the flowbench process")
    print("  from start to exit (reading the graph, writing the JSON report). SimPy: building "
          "the model plus env.run(), in this process.")
    if n_rep > 1:
        print(f"  Totals add up the {n_rep} replications; the speed ratio is total Flowbench "
              f"whole command / total SimPy, same customers and seeds.")
    print("Mean W per run: Flowbench = the sink's latency_ms.mean; SimPy = mean of (departure − "
          "arrival). Theory: W = Σ 1/(μi − λ).")
    if n_rep > 1:
        print(f"  Grand mean = mean of the {n_rep} replication means (seeds {seeds[0]}–{seeds[-1]}); "
              f"± = half-width of a 95 % CI, t({n_rep - 1}) = {t_975(n_rep - 1):.3f} × their "
              f"standard deviation / √{n_rep}.")
        print("  Per replication, SimPy's ± is the half-width of a 95 % CI from 20 batch means "
              "of that run.")
    else:
        print("  SimPy ± = half-width of a 95 % CI from 20 batch means of its one run; Flowbench "
              "reports no interval for one run (use --replications).")


if __name__ == "__main__":
    main()
