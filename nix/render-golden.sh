#!/usr/bin/env bash
# Renders what the home-manager module makes home-manager write (see
# nix/golden/render.nix) and compares it with the golden files in nix/golden/:
# hyprland.conf, hyprland.lua, waybar-config.json, audio-daemon.service, hyprland-session.target, and the
# ipc-mode renders hyprland-ipc.conf, hyprland-ipc.lua, sway-ipc.conf, config-ipc.json,
# config-sway-ipc.json.
#
#   HM_SRC=/path/to/home-manager NIXPKGS_LIB_SRC=/path/to/nixpkgs.lib nix/render-golden.sh [--update]
#
# --update rewrites the golden files instead. Store paths appear as
# /nix/store/...-NAME, so a test with real store paths can substitute them.
# Without HM_SRC/NIXPKGS_LIB_SRC it says SKIPPED and exits 0.
set -euo pipefail

update=false
case "${1:-}" in
  "") ;;
  --update) update=true ;;
  *) echo "usage: $0 [--update]" >&2; exit 2 ;;
esac

if [[ -z "${HM_SRC:-}" || -z "${NIXPKGS_LIB_SRC:-}" ]]; then
  echo "SKIPPED: HM_SRC/NIXPKGS_LIB_SRC not set (home-manager and nixpkgs lib source trees)"
  exit 0
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
golden=$here/golden
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$here/offline-eval.sh" "$golden/render.nix" >"$work/render.json"
mkdir "$work/out"
python3 - "$work/render.json" "$work/out" <<'PY'
import json
import re
import sys

with open(sys.argv[1]) as f:
    render = json.load(f)

# Every store hash (nix base32: no e, o, u, t) becomes "...".
def placeholders(text):
    return re.sub(r"/nix/store/[0-9a-df-np-sv-z]{32}-", "/nix/store/...-", text)

files = dict(render["texts"])
# As `jq .` prints what pkgs.formats.json generates: builtins.toJSON's sorted
# keys, two-space indent, UTF-8 as is.
for name, value in render["json"].items():
    files[name] = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
for name, text in files.items():
    with open(f"{sys.argv[2]}/{name}", "w") as f:
        f.write(placeholders(text))
PY

names=(audio-daemon.service hyprland-session.target hyprland.conf hyprland.lua waybar-config.json
  hyprland-ipc.conf hyprland-ipc.lua sway-ipc.conf config-ipc.json config-sway-ipc.json)
if $update; then
  for name in "${names[@]}"; do
    cp "$work/out/$name" "$golden/$name"
    echo "wrote nix/golden/$name ($(wc -l <"$golden/$name") lines)"
  done
  exit 0
fi

status=0
for name in "${names[@]}"; do
  if diff -u --label "nix/golden/$name" --label "rendered $name" "$golden/$name" "$work/out/$name"; then
    echo "ok: nix/golden/$name"
  else
    status=1
  fi
done
if ((status != 0)); then
  echo "FAIL: the rendered files differ from nix/golden/ (diff above); if the change is intended, run nix/render-golden.sh --update" >&2
  exit 1
fi
echo "OK: ${#names[@]} golden files match"
