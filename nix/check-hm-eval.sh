#!/usr/bin/env bash
# Evaluates the home-manager module inside the real home-manager module set,
# offline, and prints what it generates (Hyprland binds for hyprlang and Lua,
# waybar modules, the systemd unit). The assertions live in nix/eval-hm.nix,
# which the flake's checks.<system>.hm-eval also runs with the real nixpkgs.
#
#   HM_SRC=/path/to/home-manager NIXPKGS_LIB_SRC=/path/to/nixpkgs.lib nix/check-hm-eval.sh
#
# HM_SRC is a home-manager source tree; NIXPKGS_LIB_SRC a tree holding nixpkgs'
# lib/ (nixpkgs itself or nix-community/nixpkgs.lib). Without both, the check
# says SKIPPED and exits 0. Needs nix-instantiate (Nix >= 2.8) and python3.
set -euo pipefail

if [[ -z "${HM_SRC:-}" || -z "${NIXPKGS_LIB_SRC:-}" ]]; then
  echo "SKIPPED: HM_SRC/NIXPKGS_LIB_SRC not set (home-manager and nixpkgs lib source trees)"
  exit 0
fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
hm=$(cd "$HM_SRC" && pwd)
nixpkgs_lib=$(cd "$NIXPKGS_LIB_SRC" && pwd)
for f in "$hm/modules/modules.nix" "$nixpkgs_lib/lib/default.nix"; do
  [[ -f "$f" ]] || { echo "FAIL: $f not found" >&2; exit 1; }
done

# The stand-in `pkgs.path`: the project's option-only stand-ins for the files
# home-manager imports from nixpkgs, plus nixpkgs' real lib/.
path=$(mktemp -d)
trap 'rm -rf "$path"' EXIT
cp -r "$repo/nix/stand-ins/nixpkgs-path/." "$path/"
ln -s "$nixpkgs_lib/lib" "$path/lib"

expr='
  let
    lib = import (NIXPKGS_LIB + "/lib");
  in
  import REPO/nix/eval-hm.nix {
    inherit lib;
    hmSrc = HM;
    pkgs = import REPO/nix/stand-ins/pkgs.nix { inherit lib; path = PATH; };
  }'
expr=${expr//NIXPKGS_LIB/$nixpkgs_lib}
expr=${expr//REPO/$repo}
expr=${expr//HM/$hm}
expr=${expr//PATH/$path}

echo "evaluating $repo/home-manager with home-manager $hm and nixpkgs lib $nixpkgs_lib"
out=$(mktemp)
trap 'rm -rf "$path" "$out"' EXIT
if ! nix-instantiate --eval --strict --json --readonly-mode --show-trace -E "$expr" >"$out"; then
  echo "FAIL: evaluation or an expectation in nix/eval-hm.nix failed (message above)" >&2
  exit 1
fi

python3 - "$out" <<'PY'
import json
import sys

with open(sys.argv[1]) as f:
    r = json.load(f)

def section(title):
    print(f"\n=== {title} ===")

section("Hyprland (configType = \"hyprlang\"): settings.bindel")
for line in r["hyprlang"]["bindel"]:
    print(f"bindel = {line}")
section("Hyprland (configType = \"hyprlang\"): settings.bindl")
for line in r["hyprlang"]["bindl"]:
    print(f"bindl = {line}")
section("Hyprland (configType = \"lua\"): hyprland.lua, bind section")
print(r["luaBinds"])
section("waybar: programs.waybar.settings.mainBar (generated parts)")
print(json.dumps(r["waybar"], indent=2, sort_keys=True))
section("systemd: audio-daemon.service")
print(r["systemdUnit"], end="")
section("assertion messages (deliberately broken configs)")
for case, messages in r["assertionMessages"].items():
    for m in messages:
        print(f"[{case}] {m}")
print(f"\nOK: {r['checksPassed']} expectations in nix/eval-hm.nix hold")
PY
