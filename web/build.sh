#!/usr/bin/env bash
# Builds the page's wasm into web/pkg/ (with the digits beside it).
# Needs the wasm32 target and wasm-bindgen-cli of the version in
# Cargo.lock; says what is missing instead of installing it.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
missing=()
rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
  || missing+=("rustup target add wasm32-unknown-unknown")
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
[ "$have" = "$want" ] || missing+=("cargo install wasm-bindgen-cli --version $want   (found: ${have:-none})")
if [ ${#missing[@]} -gt 0 ]; then
  echo "web/build.sh: missing:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi
cargo build --release -p wgconv-web --target wasm32-unknown-unknown
wasm-bindgen --target web --no-typescript --out-dir web/pkg \
  target/wasm32-unknown-unknown/release/wgconv_web.wasm
cp data/digits.csv.gz web/pkg/
echo "built web/pkg ($(du -k web/pkg/wgconv_web_bg.wasm | cut -f1) KiB of wasm)"
