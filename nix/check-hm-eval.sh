#!/usr/bin/env bash
# Evaluates the home-manager module inside the real home-manager module set,
# offline, and prints what it generates (Hyprland binds for hyprlang and Lua,
# waybar modules, the systemd unit, assertion messages). The expectations
# live in nix/eval-hm.nix, which the flake's checks.<system>.hm-eval also runs
# with the real nixpkgs.
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

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
echo "evaluating home-manager/ with home-manager $HM_SRC and nixpkgs lib $NIXPKGS_LIB_SRC"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! "$here/offline-eval.sh" "$here/eval-hm.nix" >"$out"; then
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
section("Hyprland, mode = \"ipc\" (hyprlang): settings.bindl")
for line in r["binds"]["hyprlangIpc"]:
    print(f"bindl = {line}")
section("mode = \"ipc\": the daemon's settings.keys")
print(json.dumps(r["binds"]["daemonKeys"], indent=2, sort_keys=True))
for mode in ("Exec", "Ipc"):
    section(f"sway, mode = \"{mode.lower()}\": config.keybindings (ours)")
    for k, v in sorted(r["binds"][f"sway{mode}"].items()):
        print(f"bindsym {k} {v}")
section("waybar: programs.waybar.settings.mainBar (generated parts)")
print(json.dumps(r["waybar"], indent=2, sort_keys=True, ensure_ascii=False))
section("systemd: audio-daemon.service")
print(r["systemdUnit"], end="")
section("assertion messages (deliberately broken configs)")
for case, messages in r["assertionMessages"].items():
    for m in messages:
        print(f"[{case}] {m}")
print(f"\nOK: {r['checksPassed']} expectations in nix/eval-hm.nix hold")
PY
