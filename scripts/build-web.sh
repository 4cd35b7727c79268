#!/usr/bin/env bash
# Build the release web app into dist/:
#   cargo (wasm32, release) -> wasm-bindgen (--target web) -> wasm-opt -Oz -> copy index.html and www/
# twice: the full module (dist/memgen-lab*.{js,wasm}: every view, and the training worker) and
# the lite one the first view loads (dist/lite/: no training engine; src/lite.rs).
#
#   bash scripts/build-web.sh
#
# Environment:
#   MEMGEN_WASM_OPT=0     skip wasm-opt (faster iteration; the wasm is about 30% larger)
#   MEMGEN_SKIP_SETUP=1   do not run scripts/setup.sh first (callers that already ran it set this)
#
# wasm-opt is cached: it is skipped when the wasm-bindgen output is byte-identical to the
# input of the last optimised build (hash kept in target/memgen-web/<full|lite>/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ "${MEMGEN_SKIP_SETUP:-0}" != 1 ]]; then
  bash scripts/setup.sh
fi
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# MEMGEN_PROFILE=web-dev builds without LTO for quick iteration (see Cargo.toml).
PROFILE="${MEMGEN_PROFILE:-release}"
STAGE="$TARGET_DIR/memgen-web"     # wasm-bindgen output and the wasm-opt cache
DIST="$ROOT/dist"

t0=$SECONDS
OPT_FLAGS=(-Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
           --enable-mutable-globals --enable-reference-types --enable-multivalue)

# build_module PACKAGE NAME: the package's library as a cdylib (a reactor module: see
# `wasm_start` in src/lib.rs for why not a binary; `cargo rustc --crate-type` so that native
# builds stay rlibs) -> wasm-bindgen -> wasm-opt (cached) into $STAGE/NAME/.
build_module() {
  local pkg="$1" name="$2" t1=$SECONDS
  local in="$TARGET_DIR/wasm32-unknown-unknown/$PROFILE/${pkg//-/_}.wasm" out="$STAGE/$name"
  echo "build-web: cargo rustc --profile $PROFILE --target wasm32-unknown-unknown -p $pkg --lib --crate-type cdylib"
  cargo rustc --profile "$PROFILE" --target wasm32-unknown-unknown -p "$pkg" --lib --crate-type cdylib
  echo "build-web: $name: cargo done in $((SECONDS - t1)) s"
  rm -rf "$out/bindgen"
  mkdir -p "$out/bindgen"
  wasm-bindgen --target web --no-typescript --out-dir "$out/bindgen" --out-name memgen-lab "$in"
  local bg="$out/bindgen/memgen-lab_bg.wasm"
  if [[ "${MEMGEN_WASM_OPT:-1}" == 0 ]]; then
    echo "build-web: MEMGEN_WASM_OPT=0, skipping wasm-opt"
    cp "$bg" "$out/memgen-lab_bg.wasm"
    rm -f "$out/opt.key"
    return
  fi
  # The cache key covers the input wasm, the flags and the wasm-opt version.
  local key
  key="$( { sha256sum < "$bg"; echo "${OPT_FLAGS[*]}"; wasm-opt --version; } | sha256sum | cut -d' ' -f1)"
  if [[ -f "$out/opt.key" && "$(cat "$out/opt.key")" == "$key" && -f "$out/opt.wasm" ]]; then
    echo "build-web: $name: wasm unchanged, reusing the cached wasm-opt output"
  else
    local t2=$SECONDS
    echo "build-web: $name: wasm-opt ${OPT_FLAGS[*]} (about a minute or two for the full module)"
    wasm-opt "${OPT_FLAGS[@]}" "$bg" -o "$out/opt.wasm.tmp"
    mv "$out/opt.wasm.tmp" "$out/opt.wasm"
    echo "$key" > "$out/opt.key"
    echo "build-web: $name: wasm-opt done in $((SECONDS - t2)) s"
  fi
  cp "$out/opt.wasm" "$out/memgen-lab_bg.wasm"
}

# The full module (every view, and the training worker) and the lite one the first view loads
# (no training engine: src/lite.rs, crates/memgen-lab-lite); www/boot.js picks one.
build_module memgen-lab full
build_module memgen-lab-lite lite

# Assemble dist/ afresh so nothing stale is served.
rm -rf "$DIST"
mkdir -p "$DIST/lite"
for m in full lite; do
  d="$DIST"; [[ $m == lite ]] && d="$DIST/lite"
  cp "$STAGE/$m/bindgen/memgen-lab.js" "$d/"
  cp "$STAGE/$m/memgen-lab_bg.wasm" "$d/memgen-lab_bg.wasm"
  # wasm-bindgen snippets (inline JS from #[wasm_bindgen(module = ...)] / inline_js), if any.
  if [[ -d "$STAGE/$m/bindgen/snippets" ]]; then cp -r "$STAGE/$m/bindgen/snippets" "$d/"; fi
done
cp index.html "$DIST/"
if [[ -d www ]]; then cp -r www "$DIST/www"; fi

raw=$(stat -c %s "$DIST/memgen-lab_bg.wasm")
gz=$(gzip -9 -c "$DIST/memgen-lab_bg.wasm" | wc -c)
jsgz=$(gzip -9 -c "$DIST/memgen-lab.js" | wc -c)
lgz=$(gzip -9 -c "$DIST/lite/memgen-lab_bg.wasm" | wc -c)
ljsgz=$(gzip -9 -c "$DIST/lite/memgen-lab.js" | wc -c)
echo "build-web: dist/ ready in $((SECONDS - t0)) s: full wasm $((raw / 1024)) KiB ($((gz / 1024)) KiB gzip -9), js $((jsgz / 1024)) KiB gzip -9; first load (lite) wasm $((lgz / 1024)) KiB + js $((ljsgz / 1024)) KiB gzip -9"
