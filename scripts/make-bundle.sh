#!/usr/bin/env bash
# Makes the MNIST sweep bundle the Phase transition panel opens (www/bundles/mnist/) and lists
# it in www/bundles/index.json. The page shows it as precomputed, with the command line that
# the bundle's manifest records.
#
#   bash scripts/make-bundle.sh                           # CPU: the fused trainer, every core
#   ENGINE=burn JOBS=2 bash scripts/make-bundle.sh        # CPU: burn flex, 2 points at a time
#   ENGINE=burn DEVICE=wgpu bash scripts/make-bundle.sh   # a GPU through wgpu
#
# Each K runs as its own shard (`memgen sweep --shard i/n`, n = the number of K values) in
# $BUNDLE_WORK (default target/bundle-work/<settings>), JOBS at a time; a shard whose manifest
# exists is not run again, so an interrupted run resumes where it stopped (delete the folder
# to start over). `memgen merge` then joins the shards into one bundle.
#
# Calibration on a 2-core CPU (burn flex, MNIST K = 2, |S_eval| = 64, DDIM 20 steps, x̂_0
# clamped, base width 16 = 94k parameters):
#   steps × batch, lr       memorized at K = 2   wall (one core)
#   2,000 × 8, 2e-3          0.17                 3.3 min
#   5,000 × 8, 1e-3          0.63                 8 min
#   10,000 × 8, 1e-3         0.86                 17 min
# (without the x̂_0 clamp, 2,000 × 8 gave 0.05: speckled samples). At K = 1024 (5,000 steps)
# every sample was labelled generalized. The bundle must reach ≥ 0.9 at the smallest K, so the
# defaults train 20,000 steps at batch 8 per K. With burn that is about 35 min per K on one
# core, ~3.5 hours for the 12 K values with JOBS=2 on 2 cores. The fused trainer (the default,
# ENGINE=fused: the same network, batches, clipping, Adam and EMA; its first steps match
# burn's to 1e-7 in the loss) trains about 60 steps/s on 2 cores: ~6 min per K, ~80 min in all.
# Base width 8 (24k parameters) trains 2.1× faster (20.5 against 9.8 steps/s at batch 8) but
# does not memorize: 20,000 steps at K = 2 gave 0.21 memorized, and 29% of its samples were
# far from both training images (d₁ ≈ 17–21, against ≈ 11 between them). Its sinusoidal time
# embedding, as wide as the base width, has only 4 frequencies.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
# DATASET=fashion-mnist makes the Fashion-MNIST bundle (the paper's δ_s = 0.3, memgen sweep's
# default for it) with the same network and schedule, into www/bundles/fashion-mnist/.
DATASET="${DATASET:-mnist}"
KS="${KS:-2,4,8,16,32,64,128,256,512,1024,2048,4096}"
# Every other setting is `memgen sweep --preset bundle` (memgen_models::presets::Preset::Bundle,
# the one home of these numbers): base 16, three levels (28, 14, 7): 356,753 parameters; steps
# ⌈1000·K/64⌉ between 2,000 and 32,000 (memorizing takes steps ∝ K, good samples do not; every
# point records its steps); batch 64, Adam 2e-3 with a 200-step warm-up and a half cosine down
# to 5%, EMA 0.999; |S_eval| 1,000, DDIM 20 steps; each K's EMA weights kept as f16 (its samples
# are made from the f16 weights, so the page regenerates them exactly); the fused engine; a
# gallery of 64; training time as a second axis (--timeline 4: steps/8, /4, /2, all) and a kept
# run every 1,000 steps inside a K (an interrupted K goes on from its last checkpoint).
# An environment variable overrides its flag: STEPS MIN_STEPS EPOCHS_PER_K BATCH LR LR_SCHEDULE
# WARMUP BASE MULT EVAL GALLERY SAMPLER_STEPS WEIGHTS ENGINE TIMELINE CHECKPOINT.
DEVICE="${DEVICE:-cpu}"
JOBS="${JOBS:-1}"
SEED="${SEED:-0}"
PROFILE="${MEMGEN_PROFILE:-native-test}"
[[ -f www/data/datasets.json ]] || bash scripts/datasets.sh
# The reference classifier: each point's sample quality goes into the manifest.
bash scripts/refnet.sh
# --device wgpu needs burn's GPU backend, which memgen-cli builds only with --features gpu.
FEATURES=()
[[ "$DEVICE" == wgpu ]] && FEATURES=(--features gpu)
# MEMGEN_BIN=path runs a memgen built before (a copy, so the tree can be rebuilt while it runs).
if [[ -n "${MEMGEN_BIN:-}" ]]; then
  BIN="$MEMGEN_BIN"
else
  cargo build --profile "$PROFILE" -p memgen-cli "${FEATURES[@]}"
  BIN="${CARGO_TARGET_DIR:-target}/$PROFILE/memgen"
fi
args=(sweep --preset bundle --data-dir www/data --dataset "$DATASET" --ks "$KS" --model unet --device "$DEVICE" --seed "$SEED")
overrides=""
flag() { # flag VAR --flag: pass $VAR as --flag when it is set
  local v="${!1:-}"
  if [[ -n "$v" ]]; then args+=("$2" "$v"); overrides+=" $1=$v"; fi
}
flag STEPS --steps; flag MIN_STEPS --min-steps; flag EPOCHS_PER_K --epochs-per-k; flag BATCH --batch
flag LR --lr; flag LR_SCHEDULE --lr-schedule; flag WARMUP --warmup; flag BASE --base-channels
flag MULT --mult; flag EVAL --eval; flag GALLERY --gallery; flag SAMPLER_STEPS --sampler-steps
flag WEIGHTS --weights-dtype; flag ENGINE --engine; flag TIMELINE --timeline; flag CHECKPOINT --checkpoint-every
# A GPU trains with burn (the fused engine is the CPU's).
[[ "$DEVICE" == wgpu && -z "${ENGINE:-}" ]] && args+=(--engine burn) && overrides+=" ENGINE=burn"
N=$(tr ',' '\n' <<<"$KS" | grep -c .)
# Finished shards are kept in the work folder, and so is the checkpoint of the K in training
# (partial/): a run stopped part-way goes on from them. The default folder is under target/ (the
# build cache, kept across clones on one machine; never in git). To span machines, point
# BUNDLE_WORK at a folder that travels (a mounted volume, a copy made with rsync).
WORK="${BUNDLE_WORK:-target/bundle-work/$DATASET-$(printf '%s' "${args[*]}" | sha256sum | cut -c1-12)}"
CKPT_DIR="${BUNDLE_CHECKPOINTS:-$WORK/partial}"
# WHERE=1 only prints the folder these settings' shards go to.
if [[ "${WHERE:-0}" == 1 ]]; then echo "$WORK"; exit 0; fi
mkdir -p "$CKPT_DIR"
mkdir -p "$WORK"
printf '%s\n' "${args[*]}" >"$WORK/args.txt"
echo "make-bundle: $N points, $JOBS at a time, in $WORK (resumable)"
run_shard() {
  local i=$1 out="$WORK/shard-$1"
  if [[ -f "$out/manifest.json" ]]; then echo "shard $i/$N: done before"; return 0; fi
  # Not removed first: a checkpoint inside it lets an interrupted K go on.
  local tmp="$CKPT_DIR/shard-$i.tmp"
  "$BIN" "${args[@]}" --shard "$i/$N" --out "$tmp" >>"$CKPT_DIR/shard-$i.log" 2>&1
  rm -rf "$tmp"/checkpoint-k*
  mv "$tmp" "$out"
  echo "shard $i/$N: $(grep -h '^[0-9]' "$out/fractions.csv" | head -1)"
}
running=0
# Largest K first: they take longest and decide the quality criteria.
# SHARDS="11 10" runs only those (the rest later: the merge waits until every shard is done).
order="${SHARDS:-$(seq $((N - 1)) -1 0)}"
for i in $order; do
  if ((running >= JOBS)); then wait -n || exit 1; running=$((running - 1)); fi
  run_shard "$i" &
  running=$((running + 1))
done
while ((running > 0)); do wait -n || exit 1; running=$((running - 1)); done
dirs=()
missing=0
for ((i = 0; i < N; i++)); do
  dirs+=("$WORK/shard-$i")
  [[ -f "$WORK/shard-$i/manifest.json" ]] || missing=$((missing + 1))
done
if ((missing > 0)); then
  echo "make-bundle: $((N - missing)) of $N shards done in $WORK; run it again to go on"
  exit 0
fi
MERGED="target/bundle-work/$DATASET"
rm -rf "$MERGED"
# The page shows this line as the way to make the bundle again (every setting that changes it).
reproduce="DATASET=$DATASET KS=$KS DEVICE=$DEVICE SEED=$SEED${overrides} bash scripts/make-bundle.sh"
"$BIN" merge "${dirs[@]}" --out "$MERGED" --reproduce "$reproduce"
rm -rf "www/bundles/$DATASET"
mkdir -p www/bundles
cp -r "$MERGED" "www/bundles/$DATASET"
DATASET="$DATASET" python3 - <<'PY'
import os
import json
p = "www/bundles/index.json"
d = json.load(open(p))
# MNIST first: the panel opens the first bundle.
d["bundles"] = sorted(set(d.get("bundles", [])) | {os.environ["DATASET"]}, key=lambda b: (b != "mnist", b))
json.dump(d, open(p, "w"), indent=2)
open(p, "a").write("\n")
PY
cat "www/bundles/$DATASET/fractions.csv"
