#!/usr/bin/env bash
# Runs every benchmark and writes target/bench/results.json and target/bench/results.md.
#
#   bench/run.sh                 # everything (a few minutes on 2 cores, after the build)
#   bench/run.sh --quick         # smaller sizes and fewer crash rounds (a smoke run)
#   bench/run.sh machinery --sizes 1000,10000 --caps 8   # one part, with its own options
#
# Builds in release mode first (`cargo bench --no-run`); the build is not timed.
# BENCH_PROFILE=dev bench/run.sh … builds and runs the debug profile instead (for a
# machine where a release build of the tree does not fit; results.json says which).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${BENCH_PROFILE:-bench}
cargo bench --profile "$profile" --bench wizard_bench --no-run
if [[ $# -eq 0 || $1 == --* ]]; then
    set -- all "$@"
fi
cargo bench --profile "$profile" --bench wizard_bench -- "$@"
cat "${CARGO_TARGET_DIR:-target}/bench/results.md"
