#!/usr/bin/env bash
# Hyprland 0.56 (from the Debian testing root) checks the Hyprland configs the
# home-manager module generates: nix/golden/hyprland.conf (hyprlang) and
# nix/golden/hyprland.lua (Lua), their store paths replaced by real ones, must both get
# "config ok" from `Hyprland --verify-config`, and so must the renders with keys that
# start no process (hyprland-ipc.conf, hyprland-ipc.lua: `global` binds). Broken copies must be reported
# with the expected reason, so the check is seen to fail when it should.
# Hyprland exits 0 for some errors, so its report is what is read.
#
# The VM test's configs (the same plus tests/compositor/vm-extra.*) must pass too.
#
#   scripts/hyprland-verify.sh      (root: uses scripts/testing-root.sh's cached root)
set -euo pipefail
project=$(cd "$(dirname "$0")/.." && pwd)
cd "$project"
. scripts/lib/compositor.sh
start=$SECONDS

scripts/testing-root.sh build
work=$(mktemp -d /tmp/audio-daemon-hyprland-verify.XXXXXX)
trap 'rm -rf "$work"' EXIT
bin=/src/target/release

real_paths "$golden/hyprland.conf" "$bin" >"$work/hyprland.conf"
real_paths "$golden/hyprland.lua" "$bin" >"$work/hyprland.lua"
real_paths "$golden/hyprland-ipc.conf" "$bin" >"$work/hyprland-ipc.conf"
real_paths "$golden/hyprland-ipc.lua" "$bin" >"$work/hyprland-ipc.lua"
# As scripts/vm-test.sh runs them: with the VM test's additions.
cat "$work/hyprland.conf" tests/compositor/vm-extra.conf >"$work/hyprland-vm.conf"
cat "$work/hyprland.lua" tests/compositor/vm-extra.lua >"$work/hyprland-vm.lua"
cat "$work/hyprland-ipc.conf" tests/compositor/vm-extra.conf >"$work/hyprland-ipc-vm.conf"
cat "$work/hyprland-ipc.lua" tests/compositor/vm-extra.lua >"$work/hyprland-ipc-vm.lua"
# Broken copies: NAME|FILE|SED|expected words in Hyprland's report.
cases=(
  "good hyprlang|hyprland.conf||config ok"
  "good Lua|hyprland.lua||config ok"
  "hyprlang with the VM test's additions|hyprland-vm.conf||config ok"
  "Lua with the VM test's additions|hyprland-vm.lua||config ok"
  "good hyprlang, ipc mode|hyprland-ipc.conf||config ok"
  "good Lua, ipc mode|hyprland-ipc.lua||config ok"
  "hyprlang, ipc mode, with the VM test's additions|hyprland-ipc-vm.conf||config ok"
  "Lua, ipc mode, with the VM test's additions|hyprland-ipc-vm.lua||config ok"
  "hyprlang, ipc mode, bad bind flag|hyprland-ipc.conf|0,/^bindl=/s//bindlq=/|bind: invalid flag"
  "Lua, ipc mode, unknown dispatcher|hyprland-ipc.lua|0,/hl\.dsp\.global\(/s//hl.dsp.globl(/|attempt to call a nil value"
  "hyprlang, bad bind flag|hyprland.conf|0,/^bindel=/s//bindelq=/|bind: invalid flag"
  "Lua, unknown keysym|hyprland.lua|0,/\"SUPER \+ XF86AudioRaiseVolume\"/s//\"SUPER + XF86AudioRaiseVolumeTypo\"/|Unknown keysym"
  "Lua, unknown dispatcher|hyprland.lua|0,/hl\.dsp\.exec_cmd\(/s//hl.dsp.exec_command(/|attempt to call a nil value"
  "Lua, syntax error|hyprland.lua|/^end\)$/d|'end' expected"
)
i=0
for c in "${cases[@]}"; do
  IFS='|' read -r name file expr want <<<"$c"
  if [ -n "$expr" ]; then
    break_copy "$work/$file" "$expr" >"$work/case$i.${file##*.}"
  else
    cp "$work/$file" "$work/case$i.${file##*.}"
  fi
  i=$((i + 1))
done

# One sandbox run for all cases: each report after Hyprland's "Config parsing result"
# line, ANSI colours removed, goes to caseN.out.
scripts/root-sandbox.sh "$work" bash -c '
  Hyprland --version | sed -n "s/^Hyprland \([0-9.]*\) built.*/\1/p" >/tmp/work/version
  for f in /tmp/work/case*.conf /tmp/work/case*.lua; do
    Hyprland --i-am-really-stupid --verify-config -c "$f" >"${f%.*}.log" 2>&1 || true
    sed -e "s/\x1b\[[0-9;]*m//g" "${f%.*}.log" |
      sed -n "/=== Config parsing result/,\$p" | sed -e 1d -e "/^[[:space:]]*$/d" >"${f%.*}.out"
  done'

failed=0
i=0
for c in "${cases[@]}"; do
  IFS='|' read -r name file expr want <<<"$c"
  out=$work/case$i.out
  report=$(cat "$out" 2>/dev/null || true)
  if [ -z "$expr" ]; then
    [ "$report" = "config ok" ] && ok=1 || ok=0
  else
    { ! grep -qx 'config ok' <<<"$report" && grep -qF "$want" <<<"$report"; } && ok=1 || ok=0
  fi
  if [ "$ok" = 1 ]; then
    echo "ok: $name: $(head -n1 <<<"$report")"
  else
    failed=1
    echo "FAIL: $name: expected \"$want\", Hyprland said:"
    sed 's/^/    /' "$work/case$i.log"
  fi
  i=$((i + 1))
done
echo "== Hyprland $(cat "$work/version" 2>/dev/null) verify-config: ${#cases[@]} cases in $(elapsed "$start")"
exit "$failed"
