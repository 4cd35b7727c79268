#!/usr/bin/env bash
# Build the release web app into dist/:
#   cargo (wasm32, release) -> wasm-bindgen (--target web) -> wasm-opt -Oz -> copy index.html and www/
#
#   bash scripts/build-web.sh
#
# Environment:
#   MEMGEN_WASM_OPT=0     skip wasm-opt (faster iteration; the wasm is about 30% larger)
#   MEMGEN_SKIP_SETUP=1   do not run scripts/setup.sh first (callers that already ran it set this)
#
# wasm-opt is cached: it is skipped when the wasm-bindgen output is byte-identical to the
# input of the last optimised build (hash kept in target/memgen-web/).
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
WASM_IN="$TARGET_DIR/wasm32-unknown-unknown/$PROFILE/memgen_lab.wasm"
STAGE="$TARGET_DIR/memgen-web"     # wasm-bindgen output and the wasm-opt cache
DIST="$ROOT/dist"

t0=$SECONDS
# The app's library as a cdylib (a reactor module): see `wasm_start` in src/lib.rs for why not a
# binary. `cargo rustc --crate-type` so that native builds of the library stay an rlib.
echo "build-web: cargo rustc --profile $PROFILE --target wasm32-unknown-unknown -p memgen-lab --lib --crate-type cdylib"
cargo rustc --profile "$PROFILE" --target wasm32-unknown-unknown -p memgen-lab --lib --crate-type cdylib
echo "build-web: cargo done in $((SECONDS - t0)) s"

rm -rf "$STAGE/bindgen"
mkdir -p "$STAGE/bindgen"
wasm-bindgen --target web --no-typescript --out-dir "$STAGE/bindgen" --out-name memgen-lab "$WASM_IN"
BG="$STAGE/bindgen/memgen-lab_bg.wasm"

OPT_FLAGS=(-Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
           --enable-mutable-globals --enable-reference-types --enable-multivalue)
OUT_WASM="$STAGE/memgen-lab_bg.wasm"
if [[ "${MEMGEN_WASM_OPT:-1}" == 0 ]]; then
  echo "build-web: MEMGEN_WASM_OPT=0, skipping wasm-opt"
  cp "$BG" "$OUT_WASM"
  rm -f "$STAGE/opt.key"
else
  # The cache key covers the input wasm, the flags and the wasm-opt version.
  key="$( { sha256sum < "$BG"; echo "${OPT_FLAGS[*]}"; wasm-opt --version; } | sha256sum | cut -d' ' -f1)"
  if [[ -f "$STAGE/opt.key" && "$(cat "$STAGE/opt.key")" == "$key" && -f "$STAGE/opt.wasm" ]]; then
    echo "build-web: wasm unchanged, reusing the cached wasm-opt output"
  else
    t1=$SECONDS
    echo "build-web: wasm-opt ${OPT_FLAGS[*]} (about a minute or two)"
    wasm-opt "${OPT_FLAGS[@]}" "$BG" -o "$STAGE/opt.wasm.tmp"
    mv "$STAGE/opt.wasm.tmp" "$STAGE/opt.wasm"
    echo "$key" > "$STAGE/opt.key"
    echo "build-web: wasm-opt done in $((SECONDS - t1)) s"
  fi
  cp "$STAGE/opt.wasm" "$OUT_WASM"
fi

# Assemble dist/ afresh so nothing stale is served.
rm -rf "$DIST"
mkdir -p "$DIST"
cp "$STAGE/bindgen/memgen-lab.js" "$DIST/"
cp "$OUT_WASM" "$DIST/memgen-lab_bg.wasm"
# wasm-bindgen snippets (inline JS from #[wasm_bindgen(module = ...)] / inline_js), if any.
if [[ -d "$STAGE/bindgen/snippets" ]]; then cp -r "$STAGE/bindgen/snippets" "$DIST/"; fi
cp index.html "$DIST/"
if [[ -d www ]]; then cp -r www "$DIST/www"; fi

raw=$(stat -c %s "$DIST/memgen-lab_bg.wasm")
gz=$(gzip -9 -c "$DIST/memgen-lab_bg.wasm" | wc -c)
jsgz=$(gzip -9 -c "$DIST/memgen-lab.js" | wc -c)
echo "build-web: dist/ ready in $((SECONDS - t0)) s: wasm $((raw / 1024)) KiB ($((gz / 1024)) KiB gzip -9), js $((jsgz / 1024)) KiB gzip -9"
