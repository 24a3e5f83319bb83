#!/usr/bin/env bash
# Times a loop of `git commit` on the same machine, as a reference for the
# store's commits/s (benches/commits.rs): a repository with the same shape
# (200 files in 10 directories), one changed file per commit.
#
# Usage: crates/store/benches/git_commit_loop.sh [COMMITS]   (default 300)
set -euo pipefail

commits=${1:-300}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=$work
export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@example.com

cd "$work"
git init -q -b main repo
cd repo
for d in $(seq 0 9); do
  mkdir -p "skills/d$d"
  for f in $(seq 0 19); do
    for _ in $(seq 1 20); do printf '# Skill %s/%s\n\nbody\n' "$d" "$f"; done \
      > "skills/d$d/skill-$f.md"
  done
done
git add -A && git commit -q -m Populate

# `git commit -a` (porcelain, what a person runs) and `hash-object` +
# `update-index` + `write-tree` + `commit-tree` + `update-ref` (plumbing,
# closest to what the store does per commit).
start=$(date +%s.%N)
for n in $(seq 1 "$commits"); do
  printf '# Edited %s\n' "$n" > "skills/d$((n % 10))/skill-$((n % 20)).md"
  git commit -q -a -m "Edit $n"
done
end=$(date +%s.%N)
echo "git commit -a: $commits commits in $(echo "$end - $start" | bc) s," \
  "$(echo "scale=1; $commits / ($end - $start)" | bc) commits/s"

start=$(date +%s.%N)
for n in $(seq 1 "$commits"); do
  file="skills/d$((n % 10))/skill-$((n % 20)).md"
  blob=$(printf '# Plumbed %s\n' "$n" | git hash-object -w --stdin)
  git update-index --cacheinfo 100644,"$blob","$file"
  tree=$(git write-tree)
  commit=$(git commit-tree "$tree" -p HEAD -m "Plumb $n")
  git update-ref refs/heads/main "$commit"
done
end=$(date +%s.%N)
echo "git plumbing:  $commits commits in $(echo "$end - $start" | bc) s," \
  "$(echo "scale=1; $commits / ($end - $start)" | bc) commits/s"
