#!/usr/bin/env bash
# Set up everything the lab needs to build, serve and test. Idempotent and cached:
# a second run only checks versions and returns in about a second.
#
#   bash scripts/setup.sh              # Rust toolchain + wasm target, wasm-bindgen-cli, npm packages
#   bash scripts/setup.sh --chromium   # ... and Debian's Chromium for the browser tests
#
# Can also be sourced (`. scripts/setup.sh`): it then runs the same steps and leaves
# ~/.cargo/bin and node_modules/.bin on PATH in the caller's shell.
#
# Only package registries are used: crates.io (cargo), npm (npm ci), Debian (apt-get).
# Nothing is downloaded from anywhere else.

_memgen_setup() {
  local want_chromium=0 arg
  for arg in "$@"; do
    case "$arg" in
      --chromium) want_chromium=1 ;;
      -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; return 0 ;;
      *) echo "setup: unknown argument: $arg" >&2; return 2 ;;
    esac
  done
  [[ "${MEMGEN_NEED_CHROMIUM:-0}" == 1 ]] && want_chromium=1

  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
  cd "$root" || return 1

  local SUDO=""
  if [[ "$(id -u)" != 0 ]] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

  local apt_updated=0
  apt_install() {
    if [[ $apt_updated == 0 ]]; then
      echo "setup: apt-get update"
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
      apt_updated=1
    fi
    echo "setup: apt-get install -y $*"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
  }

  # ---- Rust toolchain (rust-toolchain.toml names channel, target and components) ----
  export PATH="$HOME/.cargo/bin:$PATH"
  if ! command -v rustup >/dev/null 2>&1; then
    echo "setup: rustup is required (https://rustup.rs); it is not on PATH" >&2
    return 1
  fi
  local channel
  channel="$(sed -n 's/^[[:space:]]*channel[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' rust-toolchain.toml | head -n1)"
  if [[ -z "$channel" ]]; then
    echo "setup: no channel in rust-toolchain.toml" >&2; return 1
  fi
  local toolchains targets
  toolchains="$(rustup toolchain list 2>/dev/null || true)"
  if ! grep -q "^${channel}[-[:space:]]" <<<"$toolchains"; then
    echo "setup: installing Rust $channel"
    # rustup >= 1.28: `rustup toolchain install` with no name reads rust-toolchain.toml.
    rustup toolchain install || rustup toolchain install "$channel" --profile minimal \
      --target wasm32-unknown-unknown --component rustfmt --component clippy || return 1
  fi
  targets="$(rustup target list --installed --toolchain "$channel" 2>/dev/null || true)"
  if ! grep -qx wasm32-unknown-unknown <<<"$targets"; then
    rustup target add --toolchain "$channel" wasm32-unknown-unknown || return 1
  fi

  # ---- wasm-bindgen-cli at exactly the version of the wasm-bindgen crate in Cargo.lock ----
  local wb_version wb_have
  wb_version="$(awk '
      /^\[\[package\]\]/ { inpkg = 1; name = ""; next }
      inpkg && /^name = / { gsub(/"/, "", $3); name = $3; next }
      inpkg && /^version = / && name == "wasm-bindgen" { gsub(/"/, "", $3); print $3; exit }
    ' Cargo.lock 2>/dev/null)"
  if [[ -z "$wb_version" ]]; then
    echo "setup: no wasm-bindgen in Cargo.lock; run 'cargo generate-lockfile' first" >&2
    return 1
  fi
  wb_have="$( (wasm-bindgen --version 2>/dev/null || true) | awk '{print $2}')"
  if [[ "$wb_have" != "$wb_version" ]]; then
    echo "setup: installing wasm-bindgen-cli $wb_version (have: ${wb_have:-none}); about 2 minutes"
    # No --locked: a locked dependency of wasm-bindgen-cli is missing from the registry mirror.
    cargo install wasm-bindgen-cli --version "=$wb_version" --force || return 1
  fi

  # ---- Node and the npm packages (playwright-core, binaryen's wasm-opt), pinned in package-lock.json ----
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm || return 1
  fi
  local node_major
  node_major="$(node -p 'process.versions.node.split(".")[0]')"
  if (( node_major < 20 )); then
    echo "setup: warning: node $(node --version) is older than 20 (playwright-core wants >= 20)" >&2
  fi
  local lock_hash stamp="node_modules/.memgen-setup-stamp"
  lock_hash="$( (cat package.json package-lock.json 2>/dev/null || true) | sha256sum | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" \
        || ! -x node_modules/.bin/wasm-opt || ! -d node_modules/playwright-core ]]; then
    echo "setup: installing npm packages"
    if [[ -f package-lock.json ]]; then
      npm ci --no-audit --no-fund || return 1
    else
      npm install --no-audit --no-fund || return 1
    fi
    lock_hash="$( (cat package.json package-lock.json 2>/dev/null || true) | sha256sum | cut -d' ' -f1)"
    echo "$lock_hash" > "$stamp"
  fi
  export PATH="$root/node_modules/.bin:$PATH"

  # ---- Chromium (Debian's package ships SwiftShader: WebGPU without a GPU) ----
  if [[ $want_chromium == 1 && ! -x /usr/bin/chromium ]]; then
    apt_install chromium || return 1
  fi

  # ---- Build cache: compiled dependencies kept per user, outside the clone ----
  # Like ~/.cargo/registry and ~/.npm: a fresh clone links target/ (and .cache/, the pinned
  # dataset downloads) to folders under ~/.cache/memgen-lab/, so a second clone on the same
  # machine compiles only the lab's own crates (cargo's fingerprints decide what is stale; see
  # below for clones that take turns). MEMGEN_BUILD_CACHE=0 keeps both in the clone; an existing
  # target/ or .cache/ and CARGO_TARGET_DIR are left alone. Past 40 GiB (MEMGEN_BUILD_CACHE_GIB)
  # the cache is emptied and refilled.
  if [[ "${MEMGEN_BUILD_CACHE:-1}" != 0 ]]; then
    local cache="${MEMGEN_BUILD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/memgen-lab}" name
    for name in target .cache; do
      if [[ ! -e "$name" && ! -L "$name" && ( "$name" != target || -z "${CARGO_TARGET_DIR:-}" ) ]]; then
        mkdir -p "$cache/${name#.}" && ln -s "$cache/${name#.}" "$name" && echo "setup: $name -> $cache/${name#.} (build cache)"
      fi
    done
    # cargo names the lab's own crates' build units by their paths relative to the workspace
    # and judges them fresh by their sources' mtimes, so clones sharing the cache share those
    # units: a clone whose edits are older than another clone's last build would get that
    # clone's build (seen here: a wasm module without a day's edits, and cdylibs such as the
    # page's modules have no hash in their names at all). So when another clone used the cache
    # last, this clone's tracked files are touched and cargo rebuilds the lab's crates (not the
    # dependencies) from them.
    if [[ -L target && -d "$cache/target" ]]; then
      local owner="$cache/target/.memgen-clone" here
      here="$(pwd -P)"
      if [[ -f "$owner" && "$(cat "$owner")" != "$here" ]]; then
        echo "setup: the build cache was last used by the clone at $(cat "$owner"): the lab's own crates are rebuilt from this clone's sources"
        git ls-files -z 2>/dev/null | xargs -0 -r touch -c --
      fi
      printf '%s\n' "$here" >"$owner"
    fi
    if [[ -L target && -d "$cache/target" ]]; then
      local gib
      gib="$(du -s --block-size=1G "$cache/target" 2>/dev/null | cut -f1)"
      if (( ${gib:-0} > ${MEMGEN_BUILD_CACHE_GIB:-40} )); then
        echo "setup: the build cache holds ${gib} GiB, over ${MEMGEN_BUILD_CACHE_GIB:-40}: emptying it"
        find "$cache/target" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
      fi
    fi
  fi

  echo "setup: ok (rust $channel + wasm32, wasm-bindgen $wb_version, node $(node --version)$([[ -x /usr/bin/chromium ]] && echo ", chromium"))"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  _memgen_setup "$@"
else
  # Sourced: run in a subshell-free way but keep the caller's working directory.
  _memgen_setup_pwd="$PWD"
  _memgen_setup "$@"
  _memgen_setup_rc=$?
  cd "$_memgen_setup_pwd" || true
  unset _memgen_setup_pwd
  # shellcheck disable=SC2317
  return $_memgen_setup_rc 2>/dev/null || true
fi
