#!/usr/bin/env bash
# Builds the browser workbench into frontend/dist:
#   Rust (Sycamore) → wasm32-unknown-unknown → wasm-bindgen → wasm-opt,
# the same for the component worker's module (the skill runtime that runs
# compiled skills in the browser, src/bin/component-worker), plus
# index.html, style.css and the npm runtime assets the page serves itself
# (nothing is loaded from a CDN).
#
# Needs: the wasm32-unknown-unknown target, wasm-bindgen-cli of the same
# version as the wasm-bindgen crate in Cargo.lock, and `npm ci` in
# frontend/ (for wasm-opt from binaryen). `./dev setup` installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target_dir=${CARGO_TARGET_DIR:-$root/target}
dist=$root/frontend/dist

# Both binaries of the package: the page and the component worker.
cargo build --target wasm32-unknown-unknown --profile web -p llmos-frontend --bins
wasm=$target_dir/wasm32-unknown-unknown/web/llmos-frontend.wasm
worker_wasm=$target_dir/wasm32-unknown-unknown/web/component-worker.wasm

if ! command -v wasm-bindgen >/dev/null; then
  echo "build-frontend: wasm-bindgen not found; run ./dev setup" >&2
  exit 1
fi
want=$(scripts/lock-version.sh wasm-bindgen)
have=$(wasm-bindgen --version | awk '{print $2}')
if [ "$want" != "$have" ]; then
  echo "build-frontend: wasm-bindgen $have is installed but Cargo.lock has $want; run ./dev setup" >&2
  exit 1
fi

staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
wasm-bindgen --target web --no-typescript --out-name llmos_frontend --out-dir "$staging/pkg" "$wasm"
wasm-bindgen --target web --no-typescript --out-name component_worker --out-dir "$staging/pkg" "$worker_wasm"

wasm_opt=$root/frontend/node_modules/.bin/wasm-opt
optimise() { # optimise LEVEL FILE
  "$wasm_opt" "$1" --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$2" -o "$2.opt"
  mv "$2.opt" "$2"
}
if [ -x "$wasm_opt" ]; then
  # -Oz: the page is downloaded on every cold start; size wins over speed.
  # The worker's module is an interpreter that skills spend their time
  # in: -O3. The two run in parallel (two cores).
  optimise -Oz "$staging/pkg/llmos_frontend_bg.wasm" &
  page_opt=$!
  optimise -O3 "$staging/pkg/component_worker_bg.wasm"
  wait "$page_opt"
else
  echo "build-frontend: wasm-opt not found (npm ci in frontend/); shipping unoptimised wasm" >&2
fi

cp frontend/index.html frontend/style.css "$staging/"
if [ -f frontend/assets.sh ]; then
  # Runtime assets from npm packages (Pyodide, Three.js, ngspice).
  bash frontend/assets.sh "$staging"
fi

# The gzip form of every text and wasm asset over 2 KB, beside it: the web
# component sends it to clients that accept gzip, so nothing is compressed
# per request. (-n: no name or time inside, so a rebuild is byte-identical.)
find "$staging" -type f -size +2k \( -name '*.js' -o -name '*.mjs' -o -name '*.css' \
  -o -name '*.html' -o -name '*.json' -o -name '*.wasm' -o -name '*.svg' -o -name '*.txt' \) \
  -print0 | xargs -0 -r -n 4 -P 2 gzip -6 -n -k -f

# Swap in the new build in one step so a running server never serves a mix.
rm -rf "$dist.old"
if [ -d "$dist" ]; then mv "$dist" "$dist.old"; fi
mv "$staging" "$dist"
trap - EXIT
rm -rf "$dist.old"
chmod -R a+rX "$dist"
echo "build-frontend: $(du -sh "$dist" | cut -f1) in frontend/dist ($(wc -c <"$dist/pkg/llmos_frontend_bg.wasm") bytes of page wasm, $(wc -c <"$dist/pkg/component_worker_bg.wasm") of component worker)"
