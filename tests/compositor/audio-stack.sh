# The audio side of the compositor checks, sourced by tests/compositor/waybar-session.sh
# (headless sway, in scripts/root-sandbox.sh) and tests/compositor/vm-guest.sh (the
# Hyprland VM, start_test_audio only: there the user's systemd units start the rest): a
# session bus, PipeWire, WirePlumber, a null sink, app-like streams and the real daemon,
# as the user's session would have them. Every process is started in
# the background of the caller; whatever contains the caller (the sandbox's PID
# namespace, the VM) ends them.
#
# Needs: XDG_RUNTIME_DIR, HOME, BIN (audio-daemon, audioctl, audio-daemon-streams),
# LOGS (a directory for the logs), DAEMON_CONFIG (the daemon's config file).

# wait_for WHAT SECONDS CMD...: runs CMD until it succeeds; fails after SECONDS.
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

# `wpctl get-volume` of one node as "PERCENT MUTED", e.g. "50 no" (the cubic percent
# wpctl, waybar and the daemon show).
observed() {
  wpctl get-volume "$1" | awk '
    /^Volume:/ { printf "%d %s\n", $2 * 100 + 0.5, (/\[MUTED\]/ ? "yes" : "no"); found = 1 }
    END { if (!found) exit 1 }'
}

# Node ids of the playback streams whose application.name is $1.
stream_ids() {
  pw-dump | python3 -c '
import json, sys
for obj in json.load(sys.stdin):
    props = (obj.get("info") or {}).get("props") or {}
    if props.get("media.class") == "Stream/Output/Audio" and props.get("application.name") == sys.argv[1]:
        print(obj["id"])
' "$1"
}

sink_is_default() { wpctl inspect @DEFAULT_AUDIO_SINK@ | grep -q 'node.name = "compositor-test-sink"'; }
app_has_streams() { "$BIN/audioctl" get "$1" | grep -q '(1 stream)'; }

# start_streams NAME PROP...: one stream with the given properties, kept until the
# session ends (its stdin is a FIFO held open here); waits until it streams.
start_streams() {
  local name=$1 fifo
  shift
  fifo=$XDG_RUNTIME_DIR/streams-$name.in
  mkfifo "$fifo"
  "$BIN/audio-daemon-streams" "$@" <>"$fifo" >"$LOGS/streams-$name.out" 2>"$LOGS/streams-$name.log" &
  wait_for "the $name stream" 20 grep -qx ready "$LOGS/streams-$name.out"
}

# The session's environment (also for commands run later in the same session).
audio_env() {
  export XDG_CONFIG_HOME=$HOME/.config XDG_STATE_HOME=$HOME/.local/state
  export DBUS_SESSION_BUS_ADDRESS=unix:path=$XDG_RUNTIME_DIR/bus
}

# start_test_audio: on a running PipeWire (and WirePlumber), a null sink for WirePlumber
# to make the default, and a vesktop-like and a Spotify-like stream (the `spotify` app of
# the module's example settings and the built-in `music`); their node ids go to
# $XDG_RUNTIME_DIR/stream-ids.
start_test_audio() {
  wait_for "the PipeWire socket" 60 test -S "$XDG_RUNTIME_DIR/pipewire-0"
  pw-cli create-node adapter '{ factory.name=support.null-audio-sink node.name=compositor-test-sink
    node.description="Test sink" media.class=Audio/Sink object.linger=true audio.position=[FL FR] }' \
    >/dev/null
  wait_for "WirePlumber to make the null sink the default" 60 sink_is_default
  start_streams vesktop --prop application.name=vesktop --prop "media.name=WEBRTC VoiceEngine"
  start_streams spotify --prop application.name=spotify --prop media.name=Spotify
  VESKTOP_ID=$(stream_ids vesktop)
  SPOTIFY_ID=$(stream_ids spotify)
  printf 'VESKTOP_ID=%s\nSPOTIFY_ID=%s\n' "$VESKTOP_ID" "$SPOTIFY_ID" >"$XDG_RUNTIME_DIR/stream-ids"
}

start_audio_stack() {
  audio_env
  mkdir -p "$XDG_CONFIG_HOME" "$XDG_STATE_HOME" "$LOGS"
  dbus-daemon --session --nofork --nopidfile --address="$DBUS_SESSION_BUS_ADDRESS" \
    >"$LOGS/dbus.log" 2>&1 &
  wait_for "the session bus" 20 test -S "$XDG_RUNTIME_DIR/bus"
  pipewire >"$LOGS/pipewire.log" 2>&1 &
  # WirePlumber gives up at once ("Failed to connect to PipeWire", exit) when it starts
  # before PipeWire listens, which a busy machine makes likely (seen in CI): it starts
  # only once PipeWire answers a client.
  wait_for "PipeWire to answer" 60 pw-cli info 0
  wireplumber >"$LOGS/wireplumber.log" 2>&1 &
  start_test_audio
  "$BIN/audio-daemon" --config "$DAEMON_CONFIG" >"$LOGS/daemon.log" 2>&1 &
  wait_for "the daemon to see vesktop's stream" 30 app_has_streams vesktop
  wait_for "the daemon to see spotify's stream" 30 app_has_streams spotify
  # Known volumes to start from, set through WirePlumber, not the daemon.
  wpctl set-volume "$VESKTOP_ID" 0.5
  wpctl set-volume "$SPOTIFY_ID" 0.5
  wpctl set-volume @DEFAULT_AUDIO_SINK@ 0.5
  wait_for "vesktop at 50 %" 10 bash -c "[ \"\$(wpctl get-volume $VESKTOP_ID)\" = 'Volume: 0.50' ]"
  wait_for "the sink at 50 %" 10 bash -c "[ \"\$(wpctl get-volume @DEFAULT_AUDIO_SINK@)\" = 'Volume: 0.50' ]"
}
