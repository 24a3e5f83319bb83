#!/usr/bin/env bash
# Copies the browser runtimes into a built page directory (frontend/dist or
# the build's staging directory), so that the app serves every byte it runs:
#
#   js/                 worker scripts (python, js, spice), sandbox.js and
#                       python-runtime.mjs
#   vendor/pyodide/     Pyodide core: loader, wasm, stdlib zip, lock file,
#                       and the memory snapshot made here (python-snapshot.mjs)
#   vendor/three/       three.js module build (the module and its core)
#   vendor/eecircuit/   eecircuit-engine: ngspice in one module, wasm inside
#   docs/               the API reference page (/docs): its own page, script
#                       and style, and Swagger UI's bundle and style
#   csp-hashes.txt      hashes of the inline scripts of index.html
#
# Only the files the runtimes load are copied, nothing else from the
# packages (no console pages, type definitions, source maps, examples).
# Usage: frontend/assets.sh DIST (run by scripts/build-frontend.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dist=${1:?usage: assets.sh DIST}
modules=$here/node_modules

need() {
  if [ ! -f "$1" ]; then
    echo "assets.sh: $1 is missing; run npm ci in frontend/" >&2
    exit 1
  fi
}

copy() { # copy PACKAGE_DIR DEST FILE...
  local from=$1 to=$2
  shift 2
  mkdir -p "$to"
  for file in "$@"; do
    need "$from/$file"
    cp "$from/$file" "$to/$file"
  done
}

# Worker scripts and the module they share: served from /js/, where the
# web component gives the workers their own Content-Security-Policy.
mkdir -p "$dist/js"
cp "$here"/js/*-worker.js "$here/js/sandbox.js" "$here/js/python-runtime.mjs" "$dist/js/"

# Pyodide: loadPyodide({indexURL: "/vendor/pyodide/"}) reads the asm module,
# the wasm binary, the standard library zip and the package lock file.
copy "$modules/pyodide" "$dist/vendor/pyodide" \
  pyodide.mjs pyodide.asm.mjs pyodide.asm.wasm python_stdlib.zip pyodide-lock.json

# The started interpreter the Python worker restores (a few seconds here,
# saved in every cold start of the page). UTC: see python-snapshot.mjs.
TZ=UTC node "$here/python-snapshot.mjs" "$dist/vendor/pyodide/python-snapshot.bin.gz"

# three.js: the module build imports its core as ./three.core.js.
copy "$modules/three/build" "$dist/vendor/three" three.module.js three.core.js

# eecircuit-engine: one ES module with the ngspice wasm embedded.
copy "$modules/eecircuit-engine/dist" "$dist/vendor/eecircuit" eecircuit-engine.mjs

# The API reference at /docs: the page of docs/ and Swagger UI's
# self-contained bundle (no standalone preset: the page has its own header).
mkdir -p "$dist/docs"
cp "$here/docs/index.html" "$here/docs/docs.js" "$here/docs/docs.css" "$dist/docs/"
copy "$modules/swagger-ui-dist" "$dist/docs" swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE

# Licences of what is shipped, beside it.
cp "$modules/three/LICENSE" "$dist/vendor/three/LICENSE"
cp "$modules/eecircuit-engine/LICENSE" "$dist/vendor/eecircuit/LICENSE"

# The page's inline scripts, as Content-Security-Policy hashes: the web
# component allows exactly these ('sha256-…', one a line) and no other
# inline script.
node - "$dist/index.html" >"$dist/csp-hashes.txt" <<'JS'
const { createHash } = require("node:crypto");
const html = require("node:fs").readFileSync(process.argv[2], "utf8");
for (const [, attributes, body] of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
  if (/\bsrc\s*=/i.test(attributes)) continue;
  console.log(`'sha256-${createHash("sha256").update(body, "utf8").digest("base64")}'`);
}
JS
