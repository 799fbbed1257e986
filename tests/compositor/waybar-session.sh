#!/usr/bin/env bash
# The waybar check's session, run by scripts/waybar-test.sh inside the testing root as
# a non-root user (scripts/root-sandbox.sh --user): PipeWire + WirePlumber + streams +
# the real daemon (audio-stack.sh), headless sway with two outputs, and two waybars:
#   HEADLESS-1  the module's generated bar (/tmp/work/real.json): the real
#               `audioctl waybar APP --follow` modules, plus README's one-shot module
#               refreshed by SIGRTMIN+8; waybar runs as `.waybar-wrapped`, as on NixOS;
#   HEADLESS-2  the same bar whose modules print what we expect (/tmp/work/ref.json:
#               each module follows a file here, /tmp/work/ref/MODULE).
# After each change the two outputs must become pixel-identical (grim screenshots).
# Every step first waits until the reference bar shows the new expectation, so an
# equality can never be that of two stale bars. Prints `ok:` / `FAIL:` lines.
set -euo pipefail
export BIN=/src/target/release LOGS=/tmp/work/logs
export DAEMON_CONFIG=/src/tests/compositor/audio-daemon-config.json
. /src/tests/compositor/audio-stack.sh
shots=/tmp/work/shots
mkdir -p "$shots" /tmp/work/ref /tmp/work/bin

start_audio_stack
echo "ok: PipeWire $(pipewire --version | sed -n 's/.*libpipewire \([0-9.]*\).*/\1/p' | head -n1), WirePlumber $(wireplumber --version | sed -n 's/.*libwireplumber \([0-9.]*\).*/\1/p' | head -n1), sway $(sway --version | cut -d' ' -f3): the daemon sees the vesktop and spotify streams"

WLR_BACKENDS=headless WLR_RENDERER=pixman WLR_LIBINPUT_NO_DEVICES=1 WLR_HEADLESS_OUTPUTS=2 \
  sway -c /tmp/work/sway.conf >"$LOGS/sway.log" 2>&1 &
sway_ready() { compgen -G "$XDG_RUNTIME_DIR/sway-ipc.*.sock" && compgen -G "$XDG_RUNTIME_DIR/wayland-*.lock"; }
wait_for "sway" 30 sway_ready
SWAYSOCK=$(compgen -G "$XDG_RUNTIME_DIR/sway-ipc.*.sock")
WAYLAND_DISPLAY=$(basename "$(compgen -G "$XDG_RUNTIME_DIR/wayland-*.lock")" .lock)
export SWAYSOCK WAYLAND_DISPLAY
wait_for "sway's two outputs" 30 bash -c '[ "$(swaymsg -t get_outputs | grep -c "\"name\": \"HEADLESS-")" = 2 ]'

shot() { grim -t ppm -o "$1" "$2"; }
# Both outputs before any bar: what "nothing drawn" looks like.
shot HEADLESS-2 "$shots/ref-before.ppm"

# expect MODULE TEXT CLASS PERCENT: the reference module's next line (what the real one
# must look like: the same text, CSS class and icon). Only changes are written, so the
# reference bar redraws only what changes.
declare -A expected
expect() {
  local line
  line=$(printf '{"text":"%s","tooltip":"","class":"%s","alt":"%s","percentage":%s}' "$2" "$3" "$3" "$4")
  if [ "${expected[$1]:-}" != "$line" ]; then
    expected[$1]=$line
    printf '%s\n' "$line" >>"/tmp/work/ref/$1"
  fi
}
# The four modules: vesktop (streaming and one-shot), the default sink, spotify.
expect_all() { # VESKTOP MUTED SINK SPOTIFY
  local v=$1% c=unmuted
  if [ "$2" = yes ]; then v="$1% muted" c=muted; fi
  expect vesktop "$v" $c "$1"
  expect vesktop-oneshot "$v" $c "$1"
  expect sink "$3%" unmuted "$3"
  expect spotify "$4%" unmuted "$4"
}
expect_all 50 no 50 50

waybar --version | head -n1 | sed 's/^/ok: /'
waybar -c /tmp/work/ref.json -s /etc/xdg/waybar/style.css >"$LOGS/waybar-ref.log" 2>&1 &
# nixpkgs runs waybar through a wrapper: the process is `.waybar-wrapped`, argv[0] waybar.
ln -s /usr/bin/waybar /tmp/work/bin/.waybar-wrapped
(exec -a waybar /tmp/work/bin/.waybar-wrapped -c /tmp/work/real.json -s /etc/xdg/waybar/style.css \
  >"$LOGS/waybar.log" 2>&1) &
WAYBAR_PID=$!
wait_for "the .waybar-wrapped process" 10 grep -qx .waybar-wrapped "/proc/$WAYBAR_PID/comm"

# The reference bar shows the new expectation once it has changed from the last state
# (or from nothing) and then holds still: the lines are written before, each module
# redraws within milliseconds of its line, and 0.3 s without a change means all have.
ref_new() { shot HEADLESS-2 "$shots/ref.ppm" && ! cmp -s "$shots/ref.ppm" "$shots/ref-before.ppm"; }
ref_still() {
  local i
  for i in 1 2 3; do
    sleep 0.1
    shot HEADLESS-2 "$shots/ref-again.ppm"
    cmp -s "$shots/ref.ppm" "$shots/ref-again.ppm" || {
      cp "$shots/ref-again.ppm" "$shots/ref.ppm"
      return 1
    }
  done
}
# Both outputs show the same pixels, in fresh screenshots of each (the clock may tick).
bars_match() {
  shot HEADLESS-1 "$shots/real.ppm" && shot HEADLESS-2 "$shots/ref.ppm" &&
    cmp -s "$shots/real.ppm" "$shots/ref.ppm"
}

failed=0
# step NAME [COMMAND...]: waits until the reference bar shows the expectation written by
# expect_all, runs COMMAND, then waits until the generated bar looks the same.
step() {
  local name=$1
  shift
  wait_for "the reference bar to show: $name" 20 ref_new &&
    wait_for "the reference bar to hold still: $name" 20 ref_still || {
    failed=1
    return
  }
  if [ $# -gt 0 ]; then "$@" >/dev/null; fi
  if wait_for "the generated bar to show: $name" 20 bars_match; then
    cp "$shots/real.ppm" "$shots/$name.ppm"
    echo "ok: bar shows: $name"
  else
    failed=1
    cp "$shots/real.ppm" "$shots/FAILED-$name-real.ppm"
    cp "$shots/ref.ppm" "$shots/FAILED-$name-expected.ppm"
    echo "FAIL: bar does not show: $name (screenshots: FAILED-$name-{real,expected}.ppm)"
  fi
  cp "$shots/ref.ppm" "$shots/ref-before.ppm"
}

step "initial-50"
expect_all 55 no 50 50
step "vesktop-up-55" "$BIN/audioctl" up vesktop
expect_all 55 yes 50 50
step "vesktop-muted" "$BIN/audioctl" mute vesktop
expect_all 55 yes 55 50
step "sink-up-55" "$BIN/audioctl" up @sink
# A change by another mixer: the bar follows it too.
expect_all 55 yes 55 30
step "spotify-30-by-wpctl" wpctl set-volume "$SPOTIFY_ID" 0.3
expect_all 55 no 55 30
step "vesktop-unmuted" "$BIN/audioctl" mute vesktop

# The same state shown twice is the same picture; different states differ.
if cmp -s "$shots/vesktop-up-55.ppm" "$shots/initial-50.ppm"; then
  failed=1
  echo "FAIL: the bar looked the same at 50 % and at 55 %"
fi

# The bar as it ends, for the artifacts and README: the top strip of HEADLESS-1 down to
# where sway's usable area starts (below the bar's exclusive zone).
bar_height=$(swaymsg -t get_workspaces | python3 -c '
import json, sys
print(next(w["rect"]["y"] for w in json.load(sys.stdin) if w["output"] == "HEADLESS-1"))')
width=$(swaymsg -t get_outputs | python3 -c '
import json, sys
print(next(o["rect"]["width"] for o in json.load(sys.stdin) if o["name"] == "HEADLESS-1"))')
if [ "$bar_height" -gt 0 ]; then
  # HEADLESS-1 sits at 0,0 of the layout.
  grim -g "0,0 ${width}x$bar_height" /tmp/work/bar.png
else
  failed=1
  echo "FAIL: the bar reserves no space on HEADLESS-1 (is waybar running?)"
fi
exit "$failed"
