#!/usr/bin/env bash
# The reference classifiers of sample quality (docs/SCIENCE.md §7): one small CNN per dataset,
# trained by `memgen refnet` on the training split (about 85 s each on 2 cores), written to
# www/data/<dataset>-refnet.safetensors with www/data/<dataset>-refnet.json beside it (its
# SHA-256, test accuracy, config and the command that made it; the page checks the weights
# against that checksum).
#
#   bash scripts/refnet.sh                 # mnist and fashion-mnist
#   DATASETS=mnist bash scripts/refnet.sh
#
# Cached in .cache/refnet/ (the build cache) under a key of the classifier's code and the
# training file's checksum: a second run with the same code and data copies the file back.
# Needs the datasets (scripts/datasets.sh); builds memgen with the native-test profile
# unless MEMGEN_BIN names one.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
DATASETS="${DATASETS:-mnist fashion-mnist}"
PROFILE="${MEMGEN_PROFILE:-native-test}"
[[ -f www/data/datasets.json ]] || bash scripts/datasets.sh
# MEMGEN_BIN=path uses a memgen built before (as make-bundle.sh does), and builds nothing.
BIN="${MEMGEN_BIN:-${CARGO_TARGET_DIR:-target}/$PROFILE/memgen}"
if [[ -z "${MEMGEN_BIN:-}" ]] && [[ "${MEMGEN_REFNET_NO_BUILD:-0}" != 1 || ! -x "$BIN" ]]; then
  cargo build --quiet --profile "$PROFILE" -p memgen-cli
fi
CACHE=.cache/refnet
mkdir -p "$CACHE"
# The code that decides the weights: the network, its convolutions, the matrix kernel, Adam,
# the batch order and the command.
code_sha="$(cat crates/memgen-models/src/refnet.rs crates/memgen-models/src/unet/fused.rs crates/memgen-models/src/toy/fused.rs \
  crates/memgen-models/src/optim.rs crates/memgen-models/src/epoch.rs crates/memgen-cli/src/quality.rs | sha256sum | cut -c1-16)"
for ds in $DATASETS; do
  train_sha="$(node -e "const m=require('./www/data/datasets.json');console.log(m.files.find(f=>f.dataset===process.argv[1]&&f.split==='train').sha256)" "$ds")"
  key="$ds-$code_sha-${train_sha:0:16}"
  out="www/data/$ds-refnet.safetensors"
  if [[ -f "$CACHE/$key.safetensors" && -f "$CACHE/$key.json" ]] &&
    [[ "$(sha256sum "$CACHE/$key.safetensors" | cut -d' ' -f1)" == "$(sed -n 's/.*"sha256": *"\([0-9a-f]*\)".*/\1/p' "$CACHE/$key.json" | head -1)" ]]; then
    cp "$CACHE/$key.safetensors" "$out"
    cp "$CACHE/$key.json" "www/data/$ds-refnet.json"
    echo "refnet $ds: cached ($key)"
    continue
  fi
  echo "refnet $ds: training (cache key $key)…"
  "$BIN" refnet --dataset "$ds" --out "$out.tmp" >"$CACHE/$key.out"
  mv "$out.tmp" "$out"
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const side = { file: process.argv[2], sha256: r.sha256, bytes: r.bytes, test_accuracy: r.test_accuracy, params: r.params,
      train_s: r.train_s, info: r.info, command: "memgen refnet --dataset " + process.argv[3] };
    process.stdout.write(JSON.stringify(side, null, 1) + "\n");' "$CACHE/$key.out" "$(basename "$out")" "$ds" >"www/data/$ds-refnet.json"
  cp "$out" "$CACHE/$key.safetensors"
  cp "www/data/$ds-refnet.json" "$CACHE/$key.json"
  echo "refnet $ds: test accuracy $(sed -n 's/.*"test_accuracy": *\([0-9.]*\).*/\1/p' "www/data/$ds-refnet.json" | head -1)"
done
