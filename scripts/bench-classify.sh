#!/usr/bin/env bash
# Benchmark `memgen classify` against numpy on MNIST-sized random data (issue 3).
# Usage: scripts/bench-classify.sh [--scale F]   (needs python3 with numpy)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CARGO_TARGET_DIR:=target}"
export CARGO_TARGET_DIR
cargo build --release -p memgen-cli >&2
python3 tests/reference/bench_classify.py "$CARGO_TARGET_DIR/release/memgen" "$@"
