#!/usr/bin/env bash
# The long fuzzing run: every parser of outside input, coverage-guided (cargo-fuzz, libFuzzer,
# AddressSanitizer) on the nightly toolchain, which this script installs if missing.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]     (default 600 s, every target)
#   FUZZ_JOBS=2 bash scripts/fuzz.sh                            (two targets at a time)
#
# Targets: crates/memgen-fuzz (the parsers' entry points and seed writers) wrapped by fuzz/.
# Each target starts from the seeds the lab's own writers make plus the committed regressions
# (crates/memgen-fuzz/regressions/<target>/), and runs with bounds on each input:
#   -timeout=10 (a hang), -malloc_limit_mb=512 (one allocation), -rss_limit_mb=2048.
# A crash is copied into the regressions folder, so the test command's short run
# (crates/memgen-fuzz/tests/short_run.rs) replays it from then on. The table of targets,
# executions, coverage and crashes is printed and written to fuzz/report.txt.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
SECS="${1:-600}"
shift || true

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: installing the nightly toolchain (minimal profile)…"
  rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null; then
  echo "fuzz: installing cargo-fuzz…"
  cargo +nightly install cargo-fuzz --locked
fi

# Seeds (stable build, shared with the tests' build folder).
cargo build --profile native-test -p memgen-fuzz --bin memgen-fuzz-seeds
rm -rf fuzz/corpus.seeds && target/native-test/memgen-fuzz-seeds fuzz/corpus.seeds
mkdir -p fuzz/corpus
TARGETS=("$@")
if ((${#TARGETS[@]} == 0)); then
  mapfile -t TARGETS < <(cd fuzz/fuzz_targets && ls *.rs | sed 's/\.rs$//')
fi

report="fuzz/report.txt"
# The stable build's wrappers (clippy-driver in the test command) must not reach nightly.
unset RUSTC_WORKSPACE_WRAPPER RUSTC_WRAPPER CLIPPY_ARGS
# Build every target first (one build, shared by the lanes below).
cargo +nightly fuzz build --fuzz-dir fuzz >fuzz/build.log 2>&1 || { tail -30 fuzz/build.log; echo "fuzz: the build failed (fuzz/build.log)"; exit 1; }

# fuzz_target NAME: one target for $SECS s; its row of the report goes to fuzz/artifacts/NAME/row.
fuzz_target() {
  local t="$1"
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  cp -n fuzz/corpus.seeds/"$t"/* "fuzz/corpus/$t/" 2>/dev/null || true
  local log="fuzz/artifacts/$t/log.txt"
  echo "fuzz: $t for $SECS s…"
  cargo +nightly fuzz run --fuzz-dir fuzz "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$SECS" -timeout=10 -malloc_limit_mb=512 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1 || true
  local execs last cov ft crashes=0 f
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  for f in fuzz/artifacts/"$t"/crash-* fuzz/artifacts/"$t"/timeout-* fuzz/artifacts/"$t"/oom-*; do
    [[ -e "$f" ]] || continue
    crashes=$((crashes + 1))
    mkdir -p "crates/memgen-fuzz/regressions/$t"
    cp "$f" "crates/memgen-fuzz/regressions/$t/$(basename "$f")"
  done
  printf '%-16s %10s %10s %8s %8s %s\n' "$t" "$SECS" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$crashes" > "fuzz/artifacts/$t/row"
  cat "fuzz/artifacts/$t/row"
  if ((crashes)); then echo "  see $log; the input is now in crates/memgen-fuzz/regressions/$t/"; fi
}

# FUZZ_JOBS lanes (default 1) take the targets in turn.
JOBS="${FUZZ_JOBS:-1}"
for ((lane = 0; lane < JOBS; lane++)); do
  (
    for ((i = lane; i < ${#TARGETS[@]}; i += JOBS)); do fuzz_target "${TARGETS[i]}"; done
  ) &
done
wait
printf '%-16s %10s %10s %8s %8s %s\n' target seconds execs cov ft crashes > "$report"
for t in "${TARGETS[@]}"; do cat "fuzz/artifacts/$t/row" >> "$report" 2>/dev/null || echo "$t: no result" >> "$report"; done
cat "$report"
