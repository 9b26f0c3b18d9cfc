#!/usr/bin/env bash
# Fuzzes the graph loader and validator for a fixed time budget (docs/RELIABILITY.md).
#
#   scripts/fuzz.sh [SECONDS]        default 600 (FUZZ_SECONDS works too)
#
# Runs the cargo-fuzz target `load_and_validate` (fuzz/) under libFuzzer with debug
# assertions and overflow checks, seeded with the sample graphs and the hostile corpus,
# and prints the executions it ran and what it found. The corpus it grows is kept in
# fuzz/corpus/load_and_validate (not checked in) and reused by the next run; a finding is
# written to fuzz/artifacts/load_and_validate/ and makes the script exit 1.
#
# Toolchain: libFuzzer needs compiler flags that only a nightly rustc accepts. The script
# uses the nightly toolchain when rustup has one; otherwise it runs the stable toolchain with
# RUSTC_BOOTSTRAP=1 (which lets stable accept those flags) and without AddressSanitizer (a
# stable toolchain may not ship its runtime). cargo-fuzz is installed from crates.io when
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."

budget="${1:-${FUZZ_SECONDS:-600}}"
if ! [[ "$budget" =~ ^[0-9]+$ ]] || [ "$budget" -lt 1 ]; then
    echo "usage: scripts/fuzz.sh [SECONDS]" >&2
    exit 2
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

toolchain=()
sanitizer=(--sanitizer address)
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=(+nightly)
else
    echo "fuzz.sh: no nightly toolchain; using stable with RUSTC_BOOTSTRAP=1, no sanitizer" >&2
    export RUSTC_BOOTSTRAP=1
    sanitizer=(--sanitizer none)
fi

target=load_and_validate
corpus="fuzz/corpus/$target"
mkdir -p "$corpus"
log="fuzz/artifacts/last-run.log"
mkdir -p "$(dirname "$log")"

# -a: debug assertions and overflow checks, as in the tests. Seeds: sample graphs and the
# hostile corpus (read, never written: new inputs go to the first directory only).
# libFuzzer: a finding is a panic, a crash, an input that runs over 10 s, or one that needs
# more than 2 GB; inputs up to 64 KiB.
set +e
cargo "${toolchain[@]}" fuzz run -a "${sanitizer[@]}" "$target" \
    "$corpus" sample-graphs tests/hostile tests/hostile/accepted -- \
    -dict=fuzz/graph.dict \
    -max_total_time="$budget" \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -max_len=65536 \
    -print_final_stats=1 \
    2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
findings=$(find "fuzz/artifacts/$target" -type f 2>/dev/null | wc -l)
echo
echo "fuzz.sh: $target ran ${executions:-?} executions in ${budget} s;" \
    "exit status $status; $findings finding(s) in fuzz/artifacts/$target/"
exit "$status"
