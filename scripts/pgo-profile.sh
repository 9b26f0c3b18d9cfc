#!/usr/bin/env bash
# Records the engine's optimisation profile, engine/pgo/engine.profdata, that optimised
# builds of the engine are compiled with (scripts/rustc-pgo). Run it after changing the
# engine and commit the profile with the change: functions whose code changed since the
# profile was recorded are compiled without it (they lose its gain, nothing breaks).
#
# It builds the `flowbench` binary and the engine's benchmarks with an instrumented engine
# (in target/pgo), runs them on the benchmark models and every sample graph, and merges
# what they counted. Needs llvm-profdata of the LLVM of rustc (`rustc -vV`), e.g. from
# Debian's llvm-22 package for LLVM 22. Takes about 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

llvm=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
profdata=""
for candidate in "llvm-profdata-$llvm" "/usr/lib/llvm-$llvm/bin/llvm-profdata" llvm-profdata; do
    if command -v "$candidate" >/dev/null &&
        "$candidate" merge --version 2>/dev/null | grep -q "LLVM version $llvm\."; then
        profdata=$candidate
        break
    fi
done
if [ -z "$profdata" ]; then
    echo "scripts/pgo-profile.sh: no llvm-profdata of LLVM $llvm (rustc's); install it, e.g." \
        "apt-get install llvm-$llvm" >&2
    exit 1
fi

target=$PWD/target/pgo
raw=$target/raw
graphs=$target/graphs
rm -rf "$raw" "$graphs"
mkdir -p "$raw" "$graphs"
export CARGO_TARGET_DIR=$target
export FLOWBENCH_PGO=generate:$raw

# FLOWBENCH_PGO rebuilds the engine (engine/build.rs), and with it what links it.
cargo build --release --bin flowbench
flowbench=$target/release/flowbench

# The models of bench/compare_simpy.py: M/M/1 and three M/M/1 stations in series.
station() { # index, x, mean service time (ms)
    printf '{"id": "q%s", "kind": "queue", "pos": [%s, 0], "config": {"capacity": null}},' "$1" "$2"
    printf '{"id": "s%s", "kind": "service", "pos": [%s, 0], "config": {"concurrency": 1,' "$1" "$(($2 + 200))"
    printf ' "service_time": {"dist": "exp", "mean_ms": %s}}},' "$3"
}
model() { # file, arrival rate, customers, service means (ms)...
    local file=$1 rate=$2 customers=$3 i=1 x=200 edges='{"from": "in", "to": "q1"}'
    shift 3
    {
        printf '{"format": "flowbench.graph", "version": 1, "name": "training", "seed": 1, "nodes": ['
        printf '{"id": "in", "kind": "producer", "pos": [0, 0], "config": {"rate_per_sec": %s,' "$rate"
        printf ' "arrival": "poisson", "limit": %s}},' "$customers"
        for mean in "$@"; do
            station "$i" "$x" "$mean"
            edges+=",{\"from\": \"q$i\", \"to\": \"s$i\"},{\"from\": \"s$i\", \"to\": \"$([ "$i" = $# ] && echo done || echo "q$((i + 1))")\"}"
            i=$((i + 1))
            x=$((x + 400))
        done
        printf '{"id": "done", "kind": "sink", "pos": [%s, 0]}], "edges": [%s]}\n' "$x" "$edges"
    } >"$graphs/$file"
}
model mm1.json 0.9 2000000 1000
model tandem.json 0.5 500000 1000 1250 1111.111
"$flowbench" validate "$graphs"/*.json
for seed in 1 2; do
    "$flowbench" run "$graphs/mm1.json" --seed "$seed" --json >/dev/null
    "$flowbench" run "$graphs/tandem.json" --seed "$seed" >/dev/null
done
for graph in sample-graphs/*.json; do
    "$flowbench" run "$graph" --duration 1h --replications 10 >/dev/null
    "$flowbench" run "$graph" --duration 1h --json >/dev/null
done

# Every benchmark of the engine once, in the build the benchmarks use.
cargo bench -p flowbench-engine --bench engine -- --test

"$profdata" merge -o engine/pgo/engine.profdata "$raw"/*.profraw
echo "$llvm" >engine/pgo/llvm-version
echo "engine/pgo/engine.profdata: $(du -h engine/pgo/engine.profdata | cut -f1), LLVM $llvm"
