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

Seed policy: one seed (--seed, default 42) for both tools: Flowbench gets `--seed S`
(each node draws from its own stream derived from S and the node id), SimPy draws from
Python's `random` after `random.seed(S)` at the start of each model. The two tools use
different generators, so their sample paths differ; each is compared with theory, not with
the other. The same seed gives the same Flowbench numbers on every run.

Set-up: Python 3 and the Rust toolchain of the README. Without SimPy importable, the script
makes a venv in bench/.venv, installs `simpy` from PyPI there and restarts itself in it.
Without target/release/flowbench it runs `cargo build --release --bin flowbench` first.

    python3 bench/compare_simpy.py                  # 1,000,000 customers per model
    python3 bench/compare_simpy.py --customers 100000 --models mm1
    python3 bench/compare_simpy.py --repeat 3       # median wall time of 3 runs each

Runs are deterministic, so repeats change only the wall times; with --repeat the table shows
the median of each tool's runs.
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
    for key in ("wall_s", "command_s"):
        if out[key] is not None:
            out[key] = statistics.median(r[key] for r in runs)
    return out


def batch_means_ci95(xs: list[float], batches: int = 20) -> float:
    """Half-width of a 95 % confidence interval for the mean, from batch means (the values
    are strongly autocorrelated, so the naive standard error would be far too small)."""
    size = len(xs) // batches
    if size < 10:
        return float("nan")
    means = [sum(xs[i * size:(i + 1) * size]) / size for i in range(batches)]
    m = sum(means) / batches
    var = sum((b - m) ** 2 for b in means) / (batches - 1)
    t = 2.093  # Student t, 19 degrees of freedom, 97.5 %
    return t * math.sqrt(var / batches)


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000, help="customers per model (default 1,000,000)")
    ap.add_argument("--seed", type=int, default=42, help="seed for both tools (default 42)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per tool and model; the median wall time is shown")
    ap.add_argument("--models", default="mm1,tandem", help="comma-separated: mm1, tandem")
    ap.add_argument("--flowbench", type=Path, default=ROOT / "target" / "release" / "flowbench",
                    help="the flowbench binary (built with cargo build --release when missing)")
    ap.add_argument("--keep-graphs", type=Path, help="write the generated graph files into this folder")
    args = ap.parse_args()
    if args.customers < 1:
        ap.error("--customers must be at least 1")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in names:
        if m not in MODELS:
            ap.error(f"unknown model {m!r}: choose from {', '.join(MODELS)}")

    ensure_simpy()
    binary = ensure_flowbench(args.flowbench.resolve())

    runs = f", median of {args.repeat} runs each" if args.repeat > 1 else ""
    print(f"Flowbench vs SimPy — {args.customers:,} customers per model, seed {args.seed}{runs}")
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
            fbs, sps = [], []
            for i in range(args.repeat):
                print(f"running {name} ({i + 1}/{args.repeat}): flowbench ...", file=sys.stderr, flush=True)
                fbs.append(run_flowbench(binary, path, args.seed, args.customers))
                print(f"running {name} ({i + 1}/{args.repeat}): simpy ...", file=sys.stderr, flush=True)
                sps.append(run_simpy(m["lam"], m["mus"], args.customers, args.seed))
            fb, sp = median_run(fbs), median_run(sps)
            rows.append((name, m, w, fb, sp))

    header = ["model", "tool", "customers", "wall time", "whole command", "events",
              "events/s", "mean W (s)", "theory W (s)", "rel. error"]
    table = []
    for name, m, w, fb, sp in rows:
        for tool, r in (("Flowbench", fb), ("SimPy", sp)):
            mean = f"{r['mean_w']:.3f}"
            if r["ci95"] is not None:
                mean += f" ± {r['ci95']:.3f}"
            table.append([
                m["title"], tool, f"{args.customers:,}", fmt_s(r["wall_s"]), fmt_s(r["command_s"]),
                f"{r['events']:,}", f"{r['events'] / r['wall_s'] / 1e6:.2f} M",
                mean, f"{w:.3f}", f"{(r['mean_w'] - w) / w * 100:+.2f} %",
            ])
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(header)]
    right = {2, 3, 4, 5, 6, 7, 8, 9}

    def line(cells):
        return "  ".join(c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells))

    print(line(header))
    print("  ".join("-" * wd for wd in widths))
    for row in table:
        print(line(row))
    print()

    all_met = True
    for name, m, w, fb, sp in rows:
        engine_ratio = fb["wall_s"] / sp["wall_s"]
        command_ratio = fb["command_s"] / sp["wall_s"]
        errs = [abs(r["mean_w"] - w) / w for r in (fb, sp)]
        fast = 1 / command_ratio >= 100
        close = max(errs) <= 0.03
        all_met &= fast and close
        print(f"{m['title']}: Flowbench/SimPy wall time = {engine_ratio:.4f} engine "
              f"({1 / engine_ratio:.0f}× faster), {command_ratio:.4f} whole command "
              f"({1 / command_ratio:.0f}× faster): ≥ 100× {'yes' if fast else 'NO'}; "
              f"|mean W − theory| Flowbench {errs[0] * 100:.2f} %, SimPy {errs[1] * 100:.2f} %: "
              f"both ≤ 3 % {'yes' if close else 'NO'}")
    print(f"target (every model: ≥ 100× faster than SimPy by whole-command wall time, both means "
          f"within 3 % of theory): {'met' if all_met else 'NOT met'}")
    print()
    print("How events are counted:")
    print("  Flowbench: `events` of the run report, every time a node reacts (arrival timer, "
          "arrival at the queue, at the worker")
    print("             and at the sink, service-done timer, wake of a queue waiting for its "
          "worker).")
    print("  SimPy:     events processed by env.run() = ids drawn from env._eid (one per scheduled "
          "event: timeouts, resource")
    print("             requests and releases, process start (Initialize) and process end); "
          "the queue is empty at the end.")
    print("Wall time: Flowbench 'wall time' is the engine's wall_time_ms (build + run), 'whole "
          "command' is the flowbench process")
    print("  from start to exit (reading the graph, writing the JSON report). SimPy: building "
          "the model plus env.run(), in this process.")
    print("Mean W: Flowbench = the sink's latency_ms.mean; SimPy = mean of (departure − arrival), "
          "± half-width of a 95 % CI")
    print("  from 20 batch means. Theory: W = Σ 1/(μi − λ).")


if __name__ == "__main__":
    main()
