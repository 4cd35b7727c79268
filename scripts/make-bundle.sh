#!/usr/bin/env bash
# Makes the MNIST sweep bundle the Phase transition panel opens (www/bundles/mnist/) and lists
# it in www/bundles/index.json. The page shows it as precomputed, with the command line that
# the bundle's manifest records.
#
#   bash scripts/make-bundle.sh                # CPU (burn flex)
#   DEVICE=wgpu bash scripts/make-bundle.sh    # a GPU through wgpu
#   SHARDS=4 bash scripts/make-bundle.sh       # 4 shard processes here, then memgen merge
#
# Calibration on a 2-core CPU (burn flex, MNIST K = 2, |S_eval| = 64, DDIM 20 steps, x̂_0 clamped):
#   steps × batch, lr       memorized at K = 2   wall (one core)
#   2,000 × 8, 2e-3          0.17                 3.3 min
#   5,000 × 8, 1e-3          0.63                 8 min
#   10,000 × 8, 1e-3         0.86                 17 min
# (without the x̂_0 clamp, 2,000 × 8 gave 0.05: speckled samples). The bundle must reach ≥ 0.9 at
# the smallest K, so the defaults train 20,000 steps at batch 8 per K: about 35 min per K on one
# core, ~3.5 hours for the 12 K values with SHARDS=2 on 2 cores, minutes per K on a GPU
# (DEVICE=wgpu). At K = 1024 (5,000 steps) every sample was labelled generalized.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
KS="${KS:-2,4,8,12,16,24,32,64,128,256,512,1024}"
STEPS="${STEPS:-20000}"
BATCH="${BATCH:-8}"
LR="${LR:-1e-3}"
EVAL="${EVAL:-256}"
SAMPLER_STEPS="${SAMPLER_STEPS:-20}"
DEVICE="${DEVICE:-cpu}"
SHARDS="${SHARDS:-1}"
SEED="${SEED:-0}"
PROFILE="${MEMGEN_PROFILE:-native-test}"
[[ -f www/data/datasets.json ]] || bash scripts/datasets.sh
cargo build --profile "$PROFILE" -p memgen-cli
BIN="${CARGO_TARGET_DIR:-target}/$PROFILE/memgen"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
args=(sweep --data-dir www/data --dataset mnist --ks "$KS" --model unet --steps "$STEPS" --batch "$BATCH" --lr "$LR" --eval "$EVAL"
  --sampler ddim --sampler-steps "$SAMPLER_STEPS" --device "$DEVICE" --seed "$SEED")
if ((SHARDS > 1)); then
  for ((i = 0; i < SHARDS; i++)); do
    "$BIN" "${args[@]}" --shard "$i/$SHARDS" --out "$WORK/shard-$i" &
  done
  wait
  "$BIN" merge "$WORK"/shard-* --out "$WORK/mnist"
else
  "$BIN" "${args[@]}" --out "$WORK/mnist"
fi
rm -rf www/bundles/mnist
mkdir -p www/bundles
cp -r "$WORK/mnist" www/bundles/mnist
python3 - <<'PY'
import json
p = "www/bundles/index.json"
d = json.load(open(p))
d["bundles"] = sorted(set(d.get("bundles", [])) | {"mnist"})
json.dump(d, open(p, "w"), indent=2)
open(p, "a").write("\n")
PY
cat www/bundles/mnist/fractions.csv
