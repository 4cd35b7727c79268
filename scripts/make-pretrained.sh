#!/usr/bin/env bash
# Makes the toy's pretrained checkpoints that the lab ships in www/pretrained/ (the
# three-regimes view loads them; the page says they are pretrained and shows this command).
#
#   bash scripts/make-pretrained.sh
#
# Browser preset (Adam lr 1e-3, batch 512, 4,000 steps, EMA 0.999), seed 0, 2,000 samples,
# CPU (burn ndarray). Deterministic for a given build; about a minute per K on 2 cores.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
PROFILE="${MEMGEN_PROFILE:-native-test}"
cargo build --profile "$PROFILE" -p memgen-cli
BIN="${CARGO_TARGET_DIR:-target}/$PROFILE/memgen"
OUT=www/pretrained
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$OUT"
for K in 2 9 1000; do
  echo "make-pretrained: K = $K"
  "$BIN" toy --k "$K" --seed 0 --samples 2000 --preset browser \
    --out-samples "$TMP/s.npy" --out-train "$TMP/t.npy" --out-checkpoint "$OUT/toy-k$K.safetensors"
done
ls -l "$OUT"
