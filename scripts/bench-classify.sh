#!/usr/bin/env bash
# Benchmark `memgen classify` against numpy on MNIST-sized random data (issue 3).
# Usage: scripts/bench-classify.sh [--scale F] [--rounds R]   (needs python3 with numpy and
# threadpoolctl, which prints the OpenBLAS kernel numpy uses). numpy runs with its own choice of
# kernel for this CPU: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for it alone.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:=target}"
export CARGO_TARGET_DIR
# The native tests' profile (opt-level 3, no LTO): the test build's dependencies serve here too.
cargo build --profile native-test -p memgen-cli >&2
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 tests/reference/bench_classify.py "$CARGO_TARGET_DIR/native-test/memgen" "$@"
