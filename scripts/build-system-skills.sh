#!/usr/bin/env bash
# Builds every compiled system skill into the component next to it:
# volumes/system/skills/<name>.md whose front matter says
# `type: wasm-component` or `compiled: true` becomes <name>.wasm, built
# and checked by llmos-skill-build (crates/skill-build).
#
#   scripts/build-system-skills.sh [DIR]    default: volumes/system/skills
#
# A component newer than its skill file whose provenance names the file's
# current source digest is kept, so a repeated build takes seconds. A build
# error stops the script with the file, line and message.
#
# It runs from any directory (it works from the repository root), so the
# workflows component's build command in spin.toml can call it under both
# `llmos build` and `spin build`. The Python and JavaScript toolchains are
# the ones `./dev setup` installs (see tools/skill-toolchains/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-volumes/system/skills}
[ -d "$dir" ] || { echo "build-system-skills: no directory $dir" >&2; exit 1; }

# Whether the front matter of $1 (between the first two `---` lines)
# marks a compiled skill. Top-level keys only: they start the line.
is_compiled() {
  awk '
    NR == 1 { if ($0 !~ /^---[[:space:]]*$/) exit; next }
    /^---[[:space:]]*$/ { exit }
    /^type:[[:space:]]*["'\'']?wasm-component["'\'']?[[:space:]]*(#.*)?$/ { found = 1 }
    /^compiled:[[:space:]]*true[[:space:]]*(#.*)?$/ { found = 1 }
    END { exit found ? 0 : 1 }
  ' "$1"
}

skills=()
for file in "$dir"/*.md; do
  [ -e "$file" ] || continue
  if is_compiled "$file"; then skills+=("$file"); fi
done
if [ ${#skills[@]} -eq 0 ]; then
  echo "build-system-skills: no compiled skills in $dir"
  exit 0
fi

# The builder itself, from this checkout (a no-op when it is up to date).
cargo build --release --quiet -p llmos-skill-build
builder=${CARGO_TARGET_DIR:-target}/release/llmos-skill-build

for file in "${skills[@]}"; do
  if ! "$builder" --root . --skip-fresh "$file"; then
    echo "build-system-skills: $file did not build (see above)" >&2
    exit 1
  fi
done
