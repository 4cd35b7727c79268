#!/usr/bin/env bash
# Benchmark (not a test): training steps/s of the 2-D toy's score network, natively with burn
# (ndarray and flex CPU backends; wgpu — on lavapipe when no GPU is present), and the fused CPU trainer
# (memgen_models::toy::fused, `memgen toy --engine fused`) on all cores and on one, against PyTorch on the CPU, same
# network, batch and step (draw + forward + backward + Adam + EMA), same machine, interleaved.
#
#   scripts/bench-toy.sh [steps=300] [batch=512] [rounds=2]
#
# PyTorch: $TORCH_PY (default /tmp/torchvenv/bin/python; create it with
#   python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.15.0).
# Cargo: CARGO_TARGET_DIR defaults to target/h-models; the release profile is overridden to
# opt-level 3 without LTO (the workspace's release profile is tuned for wasm size).
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-300}
BATCH=${2:-512}
ROUNDS=${3:-2}
TORCH_PY=${TORCH_PY:-/tmp/torchvenv/bin/python}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/h-models}
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=3
# BENCH_TOY_BIN: an already-built bench_toy (e.g. target/nt/native-test/examples/bench_toy, the
# same opt-level 3 without LTO) instead of building one here.
if [ -n "${BENCH_TOY_BIN:-}" ]; then
  BIN=$BENCH_TOY_BIN
else
  cargo build --release -q -p memgen-models --example bench_toy --features ndarray,gpu
  BIN=$CARGO_TARGET_DIR/release/examples/bench_toy
fi
WGPU_STEPS=${WGPU_STEPS:-$(( STEPS / 5 > 20 ? STEPS / 5 : 20 ))}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
rate() { sed -n 's/.*"steps_per_s": \([0-9.]*\).*/\1/p' | tail -1; }
for r in $(seq 1 "$ROUNDS"); do
  B=$("$BIN" cpu "$STEPS" "$BATCH"); echo "$B"
  F=$("$BIN" flex "$STEPS" "$BATCH"); echo "$F"
  U=$("$BIN" fused "$STEPS" "$BATCH"); echo "$U"
  U1=$("$BIN" fused1 "$STEPS" "$BATCH"); echo "$U1"
  if [ -x "$TORCH_PY" ]; then
    # PyTorch with 1 thread and with its default (all cores): on a loaded machine its OpenMP
    # threads oversubscribe the cores and the default collapses, so report both.
    T1=$("$TORCH_PY" tests/reference/toy_torch.py --steps "$STEPS" --batch "$BATCH" --threads 1 2>/dev/null); echo "$T1"
    T=$("$TORCH_PY" tests/reference/toy_torch.py --steps "$STEPS" --batch "$BATCH" 2>/dev/null); echo "$T"
    for pair in "ndarray:$B" "flex:$F" "fused:$U" "fused1:$U1"; do
      name=${pair%%:*}; res=${pair#*:}
      echo "round $r: burn-$name / pytorch-cpu(1 thread) = $(python3 -c "print(round($(echo "$res" | rate)/$(echo "$T1" | rate), 3))"), / pytorch-cpu(default threads) = $(python3 -c "print(round($(echo "$res" | rate)/$(echo "$T" | rate), 3))")"
    done
  else
    echo "($TORCH_PY not found: PyTorch skipped)"
  fi
done
if [ "${SKIP_WGPU:-0}" != 1 ]; then
  W=$("$BIN" wgpu "$WGPU_STEPS" "$BATCH" 2>/dev/null || true); echo "$W"
fi
