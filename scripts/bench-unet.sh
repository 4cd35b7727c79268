#!/usr/bin/env bash
# Benchmark (not a test): the image UNet (crates/memgen-models/src/unet, base 16, 94k parameters,
# 28×28 grey) natively with burn against the same architecture in PyTorch
# (tests/reference/unet_torch.py), same machine, same batch, interleaved in one run:
#  * training steps/s: batch draw + forward + backward + global clipping + Adam + EMA;
#  * sampling: network evaluations (one DDIM step each) in images/s at a sampling batch.
#
#   scripts/bench-unet.sh [train_steps=20] [batch=64] [sample_batch=256] [sample_evals=10] [rounds=2]
#
# PyTorch: $TORCH_PY (default /tmp/torchvenv/bin/python; create it with
#   python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch; the PyPI wheel, run
#   on the CPU here).
# fused: the hand-written CPU trainer (crates/memgen-models/src/unet/fused.rs) on every core and
# on one thread (fused1), sampling with its own forward pass.
# burn backends: flex (CPU; the CLI's default), ndarray (single thread, slow
# convolution backward: SKIP_NDARRAY=1 to leave it out), wgpu (set WGPU=1; lavapipe without a GPU).
# On a GPU machine, TORCH_DEVICE=cuda adds PyTorch on CUDA and WGPU=1 burn on wgpu.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-20}
BATCH=${2:-64}
SBATCH=${3:-256}
SEVALS=${4:-10}
ROUNDS=${5:-2}
BASE=${BASE:-16}
TORCH_PY=${TORCH_PY:-/tmp/torchvenv/bin/python}
# The native tests' profile and build folder: with SKIP_NDARRAY=1 and no WGPU the benchmark
# shares the test build's compiled dependencies (the same burn features).
FEATURES=()
[ "${SKIP_NDARRAY:-0}" = 1 ] || FEATURES+=(ndarray)
[ "${WGPU:-0}" = 1 ] && FEATURES+=(gpu)
FEATURE_LIST=$(IFS=,; echo "${FEATURES[*]:-}")
cargo build --profile native-test -q -p memgen-models --example bench_unet ${FEATURE_LIST:+--features "$FEATURE_LIST"}
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
BIN=$CARGO_TARGET_DIR/native-test/examples/bench_unet
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load: $(cut -d' ' -f1-3 /proc/loadavg)"
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
ratio() { python3 -c "print(f'{float(\"$1\")/float(\"$2\"):.2f}')"; }
for r in $(seq 1 "$ROUNDS"); do
  B=$("$BIN" flex "$BATCH" "$STEPS" "$SBATCH" "$SEVALS" "$BASE"); echo "$B"
  F=$("$BIN" fused "$BATCH" "$STEPS" "$SBATCH" "$SEVALS" "$BASE"); echo "$F"
  F1=$(RAYON_NUM_THREADS=1 "$BIN" fused1 "$BATCH" "$STEPS" "$SBATCH" "$SEVALS" "$BASE"); echo "$F1"
  if [ "${SKIP_NDARRAY:-0}" != 1 ]; then
    N=$("$BIN" ndarray "$BATCH" $(( STEPS / 10 > 1 ? STEPS / 10 : 2 )) "$SBATCH" "$SEVALS" "$BASE"); echo "$N"
  fi
  if [ ! -x "$TORCH_PY" ]; then echo "($TORCH_PY not found: PyTorch skipped)"; continue; fi
  args=(--batch "$BATCH" --steps "$STEPS" --sample-batch "$SBATCH" --sample-evals "$SEVALS" --base "$BASE")
  # 1 thread and PyTorch's default (all cores): on a loaded machine its OpenMP threads can
  # oversubscribe the cores, so report both.
  T1=$("$TORCH_PY" tests/reference/unet_torch.py "${args[@]}" --threads 1 2>/dev/null); echo "$T1"
  T=$("$TORCH_PY" tests/reference/unet_torch.py "${args[@]}" 2>/dev/null); echo "$T"
  printf 'round %s  burn-flex / pytorch-cpu   train steps/s: %s (1 thread) %s (default threads)   sampling images/s: %s (1 thread) %s (default threads)\n' "$r" \
    "$(ratio "$(field "$B" train_steps_per_s)" "$(field "$T1" train_steps_per_s)")" \
    "$(ratio "$(field "$B" train_steps_per_s)" "$(field "$T" train_steps_per_s)")" \
    "$(ratio "$(field "$B" network_evals_images_per_s)" "$(field "$T1" network_evals_images_per_s)")" \
    "$(ratio "$(field "$B" network_evals_images_per_s)" "$(field "$T" network_evals_images_per_s)")"
  printf 'round %s  fused / pytorch-cpu          train steps/s: %s (1 thread each) %s (both all cores)   sampling images/s: %s (1 thread each) %s (both all cores)\n' "$r" \
    "$(ratio "$(field "$F1" train_steps_per_s)" "$(field "$T1" train_steps_per_s)")" \
    "$(ratio "$(field "$F" train_steps_per_s)" "$(field "$T" train_steps_per_s)")" \
    "$(ratio "$(field "$F1" network_evals_images_per_s)" "$(field "$T1" network_evals_images_per_s)")" \
    "$(ratio "$(field "$F" network_evals_images_per_s)" "$(field "$T" network_evals_images_per_s)")"
  if [ "${SKIP_NDARRAY:-0}" != 1 ]; then
    printf 'round %s  burn-ndarray / pytorch-cpu(1 thread)   train: %s   sampling: %s\n' "$r" \
      "$(ratio "$(field "$N" train_steps_per_s)" "$(field "$T1" train_steps_per_s)")" \
      "$(ratio "$(field "$N" network_evals_images_per_s)" "$(field "$T1" network_evals_images_per_s)")"
  fi
done
if [ "${WGPU:-0}" = 1 ]; then
  W=$("$BIN" wgpu "$BATCH" "$STEPS" "$SBATCH" "$SEVALS" "$BASE" 2>/dev/null || true); echo "$W"
fi
if [ -n "${TORCH_DEVICE:-}" ] && [ -x "$TORCH_PY" ]; then
  "$TORCH_PY" tests/reference/unet_torch.py --batch "$BATCH" --steps "$STEPS" --sample-batch "$SBATCH" --sample-evals "$SEVALS" --base "$BASE" --device "$TORCH_DEVICE" 2>/dev/null
fi
