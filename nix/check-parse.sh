#!/usr/bin/env bash
# Parses every .nix file of the repository with `nix-instantiate --parse`
# (Debian: apt-get install nix-bin); fails on the first file that does not
# parse. Files ignored by git (target/, fetched trees) are skipped.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard -- '*.nix')
else
  mapfile -t files < <(find . -name '*.nix' -not -path './target/*' -not -path './.git/*' | sort)
fi
((${#files[@]} > 0)) || { echo "FAIL: no .nix files found" >&2; exit 1; }

for f in "${files[@]}"; do
  if nix-instantiate --parse "$f" >/dev/null; then
    echo "ok: $f"
  else
    echo "FAIL: $f does not parse" >&2
    exit 1
  fi
done
echo "OK: ${#files[@]} .nix files parse"
