#!/usr/bin/env python3
"""Every performance target of docs/PERFORMANCE.md, measured one after another on this machine.

Runs the command the table "Every target at a glance" names for each figure, one at a time
(never two at once: they would slow each other down), reads the figure from its output and
prints a table: the figure, the target, whether it is met, and the command. Then the
machine it ran on (CPU, caches, clock), the commit and the time, so that a row of the
documentation can be written from it.

    python3 bench/targets.py                 # every target (5 to 10 minutes on 2 cores)
    python3 bench/targets.py --skip-simpy    # without the SimPy comparison (about 4 minutes)
    python3 bench/targets.py --log DIR       # also keeps each command's whole output in DIR

The benchmarks build first when they are not built (several minutes the first time). The
figures are the benchmarks' own, parsed from what they print; a figure that cannot be found
in an output is shown as missing and makes the script exit 1, as does a command that fails.
Exit 0 means every figure was measured, whether or not it meets its target: this is a
measurement, not a test.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Figure:
    target: str
    command: str
    measured: str
    met: bool | None  # None: the figure could not be read


def run(command: str, env: dict[str, str] | None, log: Path | None, name: str) -> str:
    """Runs `command` in the repository with the extra `env`, shows its progress on stderr
    and returns stdout and stderr together."""
    print(f"targets: {command}", file=sys.stderr, flush=True)
    proc = subprocess.run(
        command,
        shell=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
    )
    out = proc.stdout + proc.stderr
    if log is not None:
        (log / f"{name}.txt").write_text(f"$ {command}\n{out}")
    if proc.returncode != 0:
        tail = "\n".join(out.splitlines()[-15:])
        raise SystemExit(f"targets: `{command}` failed with exit code {proc.returncode}:\n{tail}")
    return out


def criterion_median(out: str, name: str, line: str) -> tuple[float, str] | None:
    """The median of criterion's `time:` or `thrpt:` line for benchmark `name`, with its unit."""
    m = re.search(
        re.escape(name) + r"\s+(?:.*\n)*?\s*" + line + r":\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", out
    )
    if not m:
        return None
    return float(m.group(1)), m.group(2)


def to_ms(value: float, unit: str) -> float:
    return value * {"s": 1000.0, "ms": 1.0, "µs": 1e-3, "us": 1e-3, "ns": 1e-6}[unit]


def events_per_s(out: str, bench: str, target_m: float, command: str) -> Figure:
    found = criterion_median(out, f"events_cpu/{bench}", "thrpt")
    label = f"≥ {target_m:g} M scheduler events/s, {'mm1.json' if bench.startswith('mm1') else '10,000 nodes'}"
    if found is None:
        return Figure(label, command, "not found in the output", None)
    value, unit = found
    scale = {"elem/s": 1e-6, "Kelem/s": 1e-3, "Melem/s": 1.0, "Gelem/s": 1e3}[unit]
    m = value * scale
    return Figure(label, command, f"{m:.2f} M events/s (criterion median, CPU clock)", m >= target_m)


def engine(log: Path | None) -> list[Figure]:
    figures = []
    for bench, target in (("mm1_json_100h", 20.0), ("gen10000", 5.0)):
        command = f"cargo bench -p flowbench-engine --bench engine -- {bench}"
        out = run(command, {"FLOWBENCH_BENCH_CLOCK": "cpu"}, log, bench)
        figures.append(events_per_s(out, bench, target, f"FLOWBENCH_BENCH_CLOCK=cpu {command}"))
    return figures


def one_figure(
    log: Path | None, bench: str, label: str, pattern: str, shown: str, met
) -> list[Figure]:
    """The figure `pattern` finds (its first group, a number) in what `cargo bench` of the
    engine's bench `bench` prints, `shown` with it and judged by `met`."""
    command = f"cargo bench -p flowbench-engine --bench {bench}"
    m = re.search(pattern, run(command, None, log, bench))
    if not m:
        return [Figure(label, command, "not found in the output", None)]
    value = float(m.group(1))
    return [Figure(label, command, shown.format(value), met(value))]


def memory(log: Path | None) -> list[Figure]:
    return one_figure(
        log,
        "memory",
        "≤ 64 B resident per queued message",
        r"= ([\d.]+) bytes per queued message",
        "{:.1f} B (10,000,000 messages in one queue)",
        lambda b: b <= 64.0,
    )


def frame(log: Path | None) -> list[Figure]:
    command = "cargo bench -p flowbench --bench frame"
    out = run(command, None, log, "frame")
    figures = []
    for name, view, limit in (
        ("frame/10000_nodes_fitted", "10,000 nodes fitted", 16.0),
        ("frame/10000_nodes_at_100_percent_with_minimap", "10,000 nodes at 100 %, minimap", 16.0),
        ("frame/1000_nodes_fitted", "1,000 nodes fitted", 8.0),
    ):
        label = f"frame, {view} < {limit:g} ms"
        found = criterion_median(out, name, "time")
        if found is None:
            figures.append(Figure(label, command, "not found in the output", None))
            continue
        ms = to_ms(*found)
        figures.append(Figure(label, command, f"{ms:.2f} ms (criterion median)", ms < limit))
    return figures


def live(log: Path | None) -> list[Figure]:
    return one_figure(
        log,
        "live_cpu",
        "live mode at 1× < 5 % of one core, online shop",
        r"target: live mode at 1× .*?: ([\d.]+) %",
        "{:.2f} % of one core (whole process)",
        lambda pct: pct < 5.0,
    )


def simpy(log: Path | None) -> list[Figure]:
    command = "python3 bench/compare_simpy.py"
    out = run(command, None, log, "compare_simpy")
    label = "M/M/1, 1,000,000 customers: ≥ 100× faster than SimPy (whole command)"
    m = re.search(
        r"^M/M/1: .*?\(([\d.]+)× faster\), [\d.]+ whole command \(([\d.]+)× faster\)", out, re.M
    )
    figures = []
    if not m:
        figures.append(Figure(label, command, "not found in the output", None))
    else:
        engine_x, whole_x = float(m.group(1)), float(m.group(2))
        figures.append(
            Figure(label, command, f"{whole_x:g}× ({engine_x:g}× by the engine)", whole_x >= 100.0)
        )
    label = "… both means within 3 % of theory"
    m = re.search(r"^\s+grand mean W − theory: Flowbench (\S+ %), SimPy (\S+ %)", out, re.M)
    if not m:
        figures.append(Figure(label, command, "not found in the output", None))
    else:
        within = all(abs(float(x.split()[0])) <= 3.0 for x in m.groups())
        figures.append(Figure(label, command, f"Flowbench {m.group(1)}, SimPy {m.group(2)}", within))
    return figures


def machine() -> list[str]:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    fields = dict(
        (k.strip(), v.strip()) for k, v in (line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    )
    mhz = "?"
    try:
        m = re.search(r"^cpu MHz\s*:\s*([\d.]+)", Path("/proc/cpuinfo").read_text(), re.M)
        mhz = f"{float(m.group(1)):.0f} MHz" if m else "?"
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"date     {datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='minutes')}",
        f"commit   {commit or '?'}",
        f"machine  nproc {os.cpu_count()}; {fields.get('Model name', '?')}, {mhz}; "
        f"L2 {fields.get('L2 cache', '?')}, L3 {fields.get('L3 cache', '?')}; load average {load}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-simpy", action="store_true", help="leave out the SimPy comparison")
    parser.add_argument("--log", type=Path, help="directory for each command's whole output")
    args = parser.parse_args()
    if args.log is not None:
        args.log.mkdir(parents=True, exist_ok=True)

    figures: list[Figure] = []
    if not args.skip_simpy:
        figures += simpy(args.log)
    figures += engine(args.log)
    figures += memory(args.log)
    figures += frame(args.log)
    figures += live(args.log)

    print("| target | measured | met? | command |")
    print("|---|---|---|---|")
    for f in figures:
        met = {True: "yes", False: "**no**", None: "—"}[f.met]
        print(f"| {f.target} | {f.measured} | {met} | `{f.command}` |")
    print()
    for line in machine():
        print(line)
    missing = [f.target for f in figures if f.met is None]
    if missing:
        print(f"targets: no figure found for: {'; '.join(missing)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
