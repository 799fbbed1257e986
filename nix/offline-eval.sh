#!/usr/bin/env bash
# Evaluates FILE, a Nix function of `{ lib, hmSrc, pkgs }`, offline: `lib` is
# nixpkgs' lib from NIXPKGS_LIB_SRC, `hmSrc` the home-manager tree HM_SRC,
# `pkgs` the project's stand-in (nix/stand-ins/pkgs.nix). Prints the result as
# JSON on stdout; evaluation errors go to stderr and exit 1.
#
#   HM_SRC=/path/to/home-manager NIXPKGS_LIB_SRC=/path/to/nixpkgs.lib nix/offline-eval.sh FILE
#
# Used by check-hm-eval.sh and render-golden.sh, which say SKIPPED themselves
# when the trees are absent. Needs nix-instantiate (Nix >= 2.8).
set -euo pipefail

file=$(realpath "${1:?usage: offline-eval.sh FILE}")
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
hm=$(cd "${HM_SRC:?HM_SRC not set}" && pwd)
nixpkgs_lib=$(cd "${NIXPKGS_LIB_SRC:?NIXPKGS_LIB_SRC not set}" && pwd)
for f in "$hm/modules/modules.nix" "$nixpkgs_lib/lib/default.nix"; do
  [[ -f "$f" ]] || { echo "FAIL: $f not found" >&2; exit 1; }
done

# The stand-in `pkgs.path`: the project's option-only stand-ins for the files
# home-manager imports from nixpkgs, plus nixpkgs' real lib/.
path=$(mktemp -d)
trap 'rm -rf "$path"' EXIT
cp -r "$repo/nix/stand-ins/nixpkgs-path/." "$path/"
ln -s "$nixpkgs_lib/lib" "$path/lib"

nix-instantiate --eval --strict --json --readonly-mode --show-trace \
  --arg file "$file" --arg lib "import $nixpkgs_lib/lib" --arg hmSrc "$hm" \
  --arg standIns "$repo/nix/stand-ins/pkgs.nix" --arg path "$path" \
  -E '{ file, lib, hmSrc, standIns, path }:
      import file { inherit lib hmSrc; pkgs = import standIns { inherit lib path; }; }' \
  2> >(grep -v "^warning: the group 'nixbld'" >&2)
