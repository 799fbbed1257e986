#!/usr/bin/env bash
# The shared end-to-end scenario: drives a running audio-daemon through
# `audioctl` and through the seed's socat line, and checks every change with
# an independent observer (`wpctl get-volume` on the stream nodes, found with
# `pw-dump`). The NixOS VM test (nixos-tests/test_script.py) and CI (Debian,
# real PipeWire, started by the project's harness) both run it.
#
# Assumes: PipeWire + WirePlumber and the daemon running for this user, and at
# least one playback stream of app "vesktop" (e.g. started with
#   audio-daemon-streams --prop application.name=vesktop \
#     --prop media.name="WEBRTC VoiceEngine" --count 1).
# The app's volume is changed (left at 50 %).
#
# Environment (all optional):
#   AUDIOCTL             client to run                     (default: audioctl)
#   AUDIO_DAEMON_SOCKET  daemon socket                     (default: $XDG_RUNTIME_DIR/audio-daemon.sock)
#   SCENARIO_APP         app name to drive                 (default: vesktop)
#   SCENARIO_PROP        property=value finding its nodes  (default: application.name=vesktop)
#   SCENARIO_STEP        the daemon's configured step      (default: 5)
#   SCENARIO_TIMEOUT     seconds to wait for a change      (default: 10)
#
# Prints each step; exits 1 on the first failure. Needs bash, coreutils, awk,
# socat, wpctl, pw-dump and python3 (JSON only).
set -euo pipefail

AUDIOCTL=${AUDIOCTL:-audioctl}
SOCKET=${AUDIO_DAEMON_SOCKET:-${XDG_RUNTIME_DIR:?XDG_RUNTIME_DIR must be set}/audio-daemon.sock}
APP=${SCENARIO_APP:-vesktop}
PROP=${SCENARIO_PROP:-application.name=vesktop}
STEP=${SCENARIO_STEP:-5}
TIMEOUT=${SCENARIO_TIMEOUT:-10}

step() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

# Reads one JSON object from stdin and prints the value at the given keys
# (strings raw, everything else as JSON: true/false/null, numbers).
json_get() {
  python3 -c '
import json, sys
value = json.loads(sys.stdin.readline())
for key in sys.argv[1:]:
    value = value[key]
print(value if isinstance(value, str) else json.dumps(value))
' "$@"
}

# IDs of the Stream/Output/Audio nodes whose PROP matches, one per line.
stream_ids() {
  pw-dump | python3 -c '
import json, sys
key, _, want = sys.argv[1].partition("=")
for obj in json.load(sys.stdin):
    if obj.get("type") != "PipeWire:Interface:Node":
        continue
    props = (obj.get("info") or {}).get("props") or {}
    if props.get("media.class") == "Stream/Output/Audio" and props.get(key) == want:
        print(obj["id"])
' "$PROP"
}

# Sends one raw line through the seed's client and prints the reply line.
seed() {
  printf '%s\n' "$1" | socat -t 5 - "UNIX-CONNECT:$SOCKET"
}

# `wpctl get-volume` of one node as "PERCENT MUTED", e.g. "50 no".
# wpctl prints "Volume: 0.50" (cubic scale, first channel) and " [MUTED]".
observed() {
  wpctl get-volume "$1" | awk '
    /^Volume:/ { printf "%d %s\n", $2 * 100 + 0.5, (/\[MUTED\]/ ? "yes" : "no"); found = 1 }
    END { if (!found) exit 1 }'
}

near() { # near A B: |A - B| <= 1 (wpctl rounds to two decimals)
  awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; exit !(d <= 1 && d >= -1) }'
}

# Waits until every stream node of the app shows PERCENT and MUTED (yes|no).
expect_observed() {
  local want_pct=$1 want_muted=$2 deadline=$((SECONDS + TIMEOUT)) id pct muted all
  while :; do
    all=1
    for id in "${IDS[@]}"; do
      read -r pct muted < <(observed "$id") || fail "wpctl get-volume $id failed"
      if ! near "$pct" "$want_pct" || [[ "$muted" != "$want_muted" ]]; then
        all=0
        break
      fi
    done
    if ((all)); then
      ok "wpctl sees ${want_pct}% muted=$want_muted on node(s) ${IDS[*]}"
      return 0
    fi
    ((SECONDS < deadline)) || fail "wpctl get-volume $id: ${pct}% muted=$muted, expected ${want_pct}% muted=$want_muted"
    sleep 0.05
  done
}

# Checks the daemon's own view through `audioctl --json get APP`.
expect_get() {
  local want_pct=$1 want_muted=$2 reply volume muted
  reply=$("$AUDIOCTL" --json get "$APP") || fail "audioctl --json get $APP failed"
  volume=$(json_get volume <<<"$reply")
  muted=$(json_get muted <<<"$reply")
  [[ "$muted" == true ]] && muted=yes || muted=no
  if ! near "$volume" "$want_pct" || [[ "$muted" != "$want_muted" ]]; then
    fail "audioctl get: $reply, expected volume $want_pct muted=$want_muted"
  fi
  ok "audioctl get: volume $volume muted=$muted"
}

expect_both() {
  expect_observed "$@"
  expect_get "$@"
}

run() { # run CMD...: prints and runs a client command, failing on non-zero exit
  printf '   $ %s\n' "$*"
  "$@" || fail "exit status $? from: $*"
}

seed_ok() { # seed_ok LINE: the reply must say ok
  local reply
  printf '   $ echo %s | socat - UNIX-CONNECT:%s\n' "$1" "$SOCKET"
  reply=$(seed "$1") || fail "socat could not talk to $SOCKET"
  printf '   < %s\n' "$reply"
  [[ "$(json_get ok <<<"$reply")" == true ]] || fail "expected an ok reply to $1"
}

seed_error() { # seed_error LINE: the reply must be an error with a code
  local reply error
  printf '   $ echo %s | socat - UNIX-CONNECT:%s\n' "$1" "$SOCKET"
  reply=$(seed "$1") || fail "socat could not talk to $SOCKET"
  printf '   < %s\n' "$reply"
  [[ "$(json_get ok <<<"$reply")" == false ]] || fail "expected an error reply to $1"
  error=$(json_get error <<<"$reply") || fail "error reply without an \"error\" field"
  [[ -n "$error" ]] || fail "empty error code in the reply to $1"
}

client_fails() { # client_fails STATUS CMD...: exit status must be STATUS
  local want=$1 status=0
  shift
  printf '   $ %s   (expect exit %s)\n' "$*" "$want"
  "$@" >/dev/null 2>&1 || status=$?
  [[ "$status" == "$want" ]] || fail "exit status $status, expected $want, from: $*"
}

step "find the stream node(s) of $APP ($PROP) and reach the daemon at $SOCKET"
deadline=$((SECONDS + TIMEOUT))
until mapfile -t IDS < <(stream_ids) && ((${#IDS[@]} > 0)) &&
  [[ "$("$AUDIOCTL" --json get "$APP" 2>/dev/null | json_get streams 2>/dev/null)" != "[]" ]]; do
  ((SECONDS < deadline)) || fail "no stream node with $PROP, or the daemon does not see one for $APP"
  sleep 0.1
done
ok "stream node(s): ${IDS[*]}"

step "set a known state: 50 %, unmuted"
run "$AUDIOCTL" mute "$APP" off
run "$AUDIOCTL" set "$APP" 50
expect_both 50 no

step "up 10 / down 20 with explicit amounts"
run "$AUDIOCTL" up "$APP" 10
expect_both 60 no
run "$AUDIOCTL" down "$APP" 20
expect_both 40 no

step "up / down by the configured step ($STEP)"
run "$AUDIOCTL" up "$APP"
expect_both $((40 + STEP)) no
run "$AUDIOCTL" down "$APP"
expect_both 40 no

step "mute on / toggle / off (volume untouched)"
run "$AUDIOCTL" mute "$APP" on
expect_both 40 yes
run "$AUDIOCTL" mute "$APP"
expect_both 40 no
run "$AUDIOCTL" mute "$APP" on
run "$AUDIOCTL" mute "$APP" off
expect_both 40 no

step "the seed's client line (socat)"
seed_ok "{\"app\":\"$APP\",\"action\":\"up\"}"
expect_both $((40 + STEP)) no
seed_ok "{\"app\":\"$APP\",\"action\":\"down\",\"amount\":10}"
expect_both $((30 + STEP)) no
seed_ok "{\"app\":\"$APP\",\"action\":\"mute\"}"
expect_both $((30 + STEP)) yes
seed_ok "{\"app\":\"$APP\",\"action\":\"mute\"}"
expect_both $((30 + STEP)) no
seed_ok "{\"app\":\"$APP\",\"action\":\"get\"}"
reply=$(seed "{\"app\":\"$APP\",\"action\":\"get\"}")
near "$(json_get volume <<<"$reply")" $((30 + STEP)) || fail "get reply $reply, expected volume $((30 + STEP))"
ok "get reply: $reply"

step "an external change (wpctl set-volume ... 0.5) is seen by get"
for id in "${IDS[@]}"; do
  run wpctl set-volume "$id" 0.5
done
deadline=$((SECONDS + TIMEOUT))
until near "$("$AUDIOCTL" --json get "$APP" | json_get volume)" 50; do
  ((SECONDS < deadline)) || fail "audioctl get never showed 50 after wpctl set-volume 0.5: $("$AUDIOCTL" --json get "$APP")"
  sleep 0.05
done
expect_both 50 no

step "bad input gets an error reply and changes nothing"
seed_error 'this is not json'
seed_error '{"app":"vesktop","action":"explode"}'
seed_error '{"app":"no-such-app-here","action":"up"}'
seed_error "{\"app\":\"$APP\",\"action\":\"up\",\"amount\":-5}"
seed_error "{\"app\":\"$APP\",\"action\":\"set\",\"amount\":1e999}"
seed_error "{\"app\":\"$APP\",\"action\":\"set\",\"amount\":\"NaN\"}"
seed_error "{\"app\":\"$APP\",\"action\":\"set\"}"
seed_error '[]'
client_fails 1 "$AUDIOCTL" up no-such-app-here
client_fails 2 "$AUDIOCTL" set "$APP" not-a-number
client_fails 2 "$AUDIOCTL" frobnicate "$APP"
expect_both 50 no

printf '\nPASS: scenario for %s (node(s) %s) via %s\n' "$APP" "${IDS[*]}" "$SOCKET"
