#!/usr/bin/env bash
# Command 1: set up, build and serve the lab.
#
#   bash scripts/run.sh [--port N]        (or PORT=N; default 8080, a free one if 8080 is taken)
#
# On a fresh Debian 12 machine with rustup, node and apt it installs what is missing (Rust
# toolchain and wasm32 target from rust-toolchain.toml, wasm-bindgen-cli at the Cargo.lock
# version, npm packages), builds the data sets (scripts/datasets.sh, when present) and the
# release web app into dist/, then serves dist/ on http://127.0.0.1:PORT until Ctrl-C.
# A second run reuses every cache (cargo, wasm-opt, npm, data sets).
#
#   MEMGEN_NO_SERVE=1   build only
#   MEMGEN_WASM_OPT=0   skip wasm-opt
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

serve_args=()
while (($#)); do
  case "$1" in
    --port) serve_args+=(--port "$2"); shift 2 ;;
    --port=*) serve_args+=(--port "${1#--port=}"); shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

if [[ -f scripts/datasets.sh ]]; then
  echo "run: data sets (scripts/datasets.sh)"
  bash scripts/datasets.sh
fi

MEMGEN_SKIP_SETUP=1 bash scripts/build-web.sh

if [[ "${MEMGEN_NO_SERVE:-0}" == 1 ]]; then
  echo "run: built dist/ (MEMGEN_NO_SERVE=1, not serving)"
  exit 0
fi
echo "run: serving the lab; open the URL below (Ctrl-C to stop)"
exec node scripts/serve.mjs "${serve_args[@]}"
