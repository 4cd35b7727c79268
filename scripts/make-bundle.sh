#!/usr/bin/env bash
# Makes the MNIST sweep bundle the Phase transition panel opens (www/bundles/mnist/) and lists
# it in www/bundles/index.json. The page shows it as precomputed, with the command line that
# the bundle's manifest records.
#
#   bash scripts/make-bundle.sh                # CPU (burn flex)
#   DEVICE=wgpu bash scripts/make-bundle.sh    # a GPU through wgpu
#   SHARDS=4 bash scripts/make-bundle.sh       # 4 shard processes here, then memgen merge
#
# Cost on a 2-core CPU (measured with scripts/bench-unet.sh: ~0.8 training steps/s at batch 64,
# ~190 network evaluations/s when sampling): STEPS=500 trains each K in about 10 minutes. Sampling
# |S_eval| + 4K images with DDIM (SAMPLER_STEPS=25) costs about 0.13 s per image, so the default
# schedule (12 K values up to 1024) takes about 3 hours there; a GPU takes minutes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
KS="${KS:-2,4,8,12,16,24,32,64,128,256,512,1024}"
STEPS="${STEPS:-500}"
EVAL="${EVAL:-256}"
SAMPLER_STEPS="${SAMPLER_STEPS:-25}"
DEVICE="${DEVICE:-cpu}"
SHARDS="${SHARDS:-1}"
SEED="${SEED:-0}"
PROFILE="${MEMGEN_PROFILE:-native-test}"
[[ -f www/data/datasets.json ]] || bash scripts/datasets.sh
cargo build --profile "$PROFILE" -p memgen-cli
BIN="${CARGO_TARGET_DIR:-target}/$PROFILE/memgen"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
args=(sweep --data-dir www/data --dataset mnist --ks "$KS" --model unet --steps "$STEPS" --eval "$EVAL"
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
