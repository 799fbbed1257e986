#!/usr/bin/env bash
# @focused and global-shortcut keys in real Hyprland: the guest side of the VM test
# (scripts/vm-test*, issue 9). Run inside the guest, as the session's user, once
# Hyprland, PipeWire, WirePlumber and the daemon are up:
#   - the daemon started with tests/compositor/hyprland-keys-config.json merged into
#     its config, and with HYPRLAND_INSTANCE_SIGNATURE in its environment;
#   - Hyprland's config including tests/compositor/hyprland-keys.conf (or .lua);
#   - BIN: the directory with audioctl and audio-daemon-streams; wpctl, pw-dump,
#     hyprctl, foot, wtype and python3 on PATH.
# Keys are pressed with wtype (Hyprland implements the virtual keyboard protocol), so
# the guest needs no help from the host; QEMU `sendkey` works as well.
# Prints "ok ..." per check; exits non-zero at the first failure.
#
# Plugging it into scripts/vm-test.sh (not done here: that VM cannot run on this
# machine's budget, and a wrong edit would break its scenario): merge
# hyprland-keys-config.json's "keys" and "ramp" into tests/compositor/
# audio-daemon-config.json, append hyprland-keys.conf to vm-extra.conf (and
# hyprland-keys.lua to vm-extra.lua, with HYPR_CONFIG_LANG=lua), and run
# `bash /src/tests/compositor/hyprland-focus-keys.sh` through the agent after the
# audio stack is up (vm-guest.sh already exports BIN and HYPRLAND_INSTANCE_SIGNATURE).
set -euo pipefail
: "${BIN:?BIN must name the directory with audioctl and audio-daemon-streams}"
: "${HYPRLAND_INSTANCE_SIGNATURE:?not inside Hyprland}"
ctl() { "$BIN/audioctl" "$@"; }

# wait_for WHAT SECONDS CMD...: a condition with a deadline, not a sleep.
wait_for() {
  local what=$1 limit=$2 deadline
  shift 2
  deadline=$(($(date +%s%N) + limit * 1000000000))
  until "$@" >/dev/null 2>&1; do
    if (($(date +%s%N) > deadline)); then
      echo "FAIL: timed out after ${limit} s waiting for $what" >&2
      return 1
    fi
    sleep 0.05
  done
}

percent() { wpctl get-volume "$1" | awk '/^Volume:/ { printf "%d\n", $2 * 100 + 0.5 }'; }
at_percent() { [ "$(percent "$1")" = "$2" ]; }
stream_id() {
  pw-dump | python3 -c '
import json, sys
for o in json.load(sys.stdin):
    p = (o.get("info") or {}).get("props") or {}
    if p.get("media.class") == "Stream/Output/Audio" and p.get("application.name") == sys.argv[1]:
        print(o["id"])' "$1"
}
has_stream() { [ -n "$(stream_id "$1")" ]; }
has_window() { hyprctl clients -j | grep -q "\"class\": \"$1\""; }
focused_is() { ctl get @focused --json | grep -q "\"window\":{\"class\":\"$1\""; }
focus() {
  # hyprlang dispatcher; under a Lua config `hyprctl dispatch` evaluates Lua instead.
  if [ "${HYPR_CONFIG_LANG:-hyprlang}" = lua ]; then
    hyprctl dispatch "hl.dsp.focus({ window = \"class:$1\" })" >/dev/null
  else
    hyprctl dispatch focuswindow "class:$1" >/dev/null
  fi
  wait_for "@focused to be $1" 20 focused_is "$1"
}
ok() { echo "ok   $*"; }

# Two windows: hw1 plays from its own child, hw2 from a grandchild (as browsers do).
foot --app-id hw1 "$BIN/audio-daemon-streams" --prop application.name=hyp-w1 --prop media.role=hyp-w1 &
foot --app-id hw2 sh -c "$BIN/audio-daemon-streams --prop application.name=hyp-w2 --prop media.role=hyp-w2; true" &
for w in hw1 hw2; do wait_for "window $w" 60 has_window "$w"; done
for s in hyp-w1 hyp-w2; do wait_for "stream $s" 60 has_stream "$s"; done
S1=$(stream_id hyp-w1)
S2=$(stream_id hyp-w2)
for s in "$S1" "$S2"; do
  wpctl set-volume "$s" 0.5
  wait_for "stream $s at 50" 10 at_percent "$s" 50
done

hyprctl globalshortcuts | grep -q "audio-daemon:focused-up" ||
  { echo "FAIL: the daemon's shortcuts are not registered: $(hyprctl globalshortcuts)" >&2; exit 1; }
ok "the daemon registered its global shortcuts"

focus hw1
ctl up @focused 10 >/dev/null
wait_for "hw1 at 60" 10 at_percent "$S1" 60
at_percent "$S2" 50 || { echo "FAIL: hw2 moved with hw1 focused" >&2; exit 1; }
ok "focuswindow hw1 + audioctl up @focused: only hw1's stream moved"

focus hw2
wtype -M logo -k F1 -m logo
wait_for "hw2 at 55 by the global key" 10 at_percent "$S2" 55
at_percent "$S1" 60 || { echo "FAIL: hw1 moved with hw2 focused" >&2; exit 1; }
ok "SUPER+F1 (global audio-daemon:focused-up) raised the focused hw2 only"

# Held about a second: one step of 2, then 40 %/s after 250 ms: about 55 + 2 + 30.
start=$(date +%s%N)
wtype -M logo -P F2 -s 1000 -p F2 -m logo
held_ms=$((($(date +%s%N) - start) / 1000000))
settled() {
  local a b
  a=$(percent "$S2")
  sleep 0.4 # an observation window of 12 ramp ticks: a ramp still running would move
  b=$(percent "$S2")
  [ "$a" = "$b" ]
}
wait_for "the ramp to stop after release" 10 settled
final=$(percent "$S2")
max=$((55 + 2 + 40 * held_ms / 1000 + 2))
if ((final < 60 || final > max)); then
  echo "FAIL: held SUPER+F2 for ${held_ms} ms: hw2 at ${final} %, expected 60..${max}" >&2
  exit 1
fi
at_percent "$S1" 60 || { echo "FAIL: hw1 moved during the ramp" >&2; exit 1; }
ok "held SUPER+F2 ramped hw2 from 55 to ${final} % in ${held_ms} ms and stopped on release"
