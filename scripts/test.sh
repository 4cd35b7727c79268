#!/usr/bin/env bash
# Command 2: test everything.
#
#   bash scripts/test.sh
#
#  1. setup (also installs Debian's chromium and the npm packages if missing)
#  2. data sets (scripts/datasets.sh, when present)
#  3. native tests of the whole workspace: cargo test --workspace --profile native-test
#     (includes tests/shaders.rs: every shaders/*.wgsl validated with naga), compiled first,
#     then run while step 4 compiles beside them
#  4. the wasm build into dist/ (scripts/build-web.sh; profile web-dev unless
#     MEMGEN_TEST_PROFILE=release), then the wasm32 build of memgen-core's RNG probe (checked by
#     tests/e2e/rng_wasm.test.mjs)
#  5. browser end-to-end tests in headless Chromium on WebGPU (SwiftShader):
#     node --test tests/e2e/   (screenshots in test-artifacts/)
#
# Exits non-zero if any step fails. Later steps still run where they can, so one run shows
# every failure; the browser tests need the wasm build and are skipped without it.
#
#   MEMGEN_TEST_PROFILE=release   test the release build (LTO, wasm-opt) instead of web-dev
#   MEMGEN_WASM_OPT=0|1           force wasm-opt off / on
#   MEMGEN_E2E_ONLY=1   only steps 1 and 5, against the dist/ already built
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

declare -a NAMES=() RESULTS=() TIMES=()
failed=0

step() { # step "name" command...
  local name="$1"; shift
  local t0=$SECONDS rc
  echo
  echo "==> $name"
  "$@"
  rc=$?
  NAMES+=("$name"); TIMES+=("$((SECONDS - t0))s")
  if ((rc == 0)); then RESULTS+=("ok"); else RESULTS+=("FAILED (exit $rc)"); failed=1; fi
  return $rc
}
skip() {
  NAMES+=("$1"); RESULTS+=("skipped: $2"); TIMES+=("-")
  echo; echo "==> $1: skipped ($2)"
}

summary() {
  echo
  echo "==================== test summary ===================="
  local i
  for i in "${!NAMES[@]}"; do
    printf '  %-52s %-8s %s\n' "${NAMES[$i]}" "${TIMES[$i]}" "${RESULTS[$i]}"
  done
  if ((failed)); then echo "RESULT: FAILED"; else echo "RESULT: all steps ok"; fi
  echo "======================================================"
}

if ! step "setup (toolchain, wasm-bindgen-cli, npm, chromium)" bash scripts/setup.sh --chromium; then
  summary; exit 1
fi

if [[ "${MEMGEN_E2E_ONLY:-0}" != 1 ]]; then
  if [[ -f scripts/datasets.sh ]]; then
    step "data sets (scripts/datasets.sh)" bash scripts/datasets.sh
  fi
  # Compile the native tests first (every core), then run them while the wasm build compiles
  # beside them: most test binaries leave a core idle, and cargo locks the native-test and the
  # wasm32 build folders separately. The wasm build's output is shown when it ends.
  step "native tests, build: cargo test --workspace --profile native-test --no-run" \
    cargo test --workspace --profile native-test --no-run
  # The browser tests run against the web-dev profile (no LTO, 16 codegen units, no wasm-opt):
  # a cold build of it takes about half the time of the release build that scripts/run.sh
  # serves. MEMGEN_TEST_PROFILE=release tests the release build (what benchmarks measure).
  WASM_LOG="$(mktemp)"
  wasm_t0=$SECONDS
  (
    env MEMGEN_SKIP_SETUP=1 CARGO_INCREMENTAL=0 MEMGEN_PROFILE="${MEMGEN_TEST_PROFILE:-web-dev}" \
      MEMGEN_WASM_OPT="${MEMGEN_WASM_OPT:-$([[ ${MEMGEN_TEST_PROFILE:-web-dev} == release ]] && echo 1 || echo 0)}" \
      bash scripts/build-web.sh
    web=$?
    echo $web >"$WASM_LOG.web"
    # The same-bytes probe of the seeded scheme in wasm32 (checked by tests/e2e/rng_wasm.test.mjs).
    # Last: its host half shares target/native-test with the native tests (cargo's lock).
    cargo build --profile native-test --target wasm32-unknown-unknown -p memgen-core --example wasm_bench || exit $?
    exit $web
  ) >"$WASM_LOG" 2>&1 &
  wasm_pid=$!
  step "native tests, run: cargo test --workspace --profile native-test" cargo test --workspace --profile native-test
  wasm_wait() {
    local rc=0
    wait "$wasm_pid" || rc=$?
    cat "$WASM_LOG"
    echo "(wasm build and wasm32 probe: $((SECONDS - wasm_t0)) s from their start, beside the native tests)"
    return $rc
  }
  step "wasm build: scripts/build-web.sh (${MEMGEN_TEST_PROFILE:-web-dev}), wasm32 RNG probe" wasm_wait
  # The browser tests need the wasm build (not the probe: its own test fails without it).
  if [[ "$(cat "$WASM_LOG.web" 2>/dev/null)" == 0 ]]; then built=1; else built=0; fi
  rm -f "$WASM_LOG" "$WASM_LOG.web"
else
  built=1
fi

E2E_DIST="${MEMGEN_E2E_DIST:-dist}"
if ((built)) && [[ -f "$E2E_DIST/index.html" ]]; then
  rm -rf test-artifacts
  mkdir -p test-artifacts
  step "browser e2e: node --test tests/e2e/" \
    node --test --test-concurrency=1 --test-force-exit --test-reporter=spec tests/e2e/
else
  skip "browser e2e: node --test tests/e2e/" "no build in $E2E_DIST/"
  failed=1
fi

summary
exit $failed
