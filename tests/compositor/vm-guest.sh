# Sourced before every command the host runs in the Hyprland VM (tests/compositor/
# vm-agent.py): the session's environment, and the helpers the host calls.
export XDG_RUNTIME_DIR=/run/user/0 HOME=/root LIBSEAT_BACKEND=seatd LANG=C.UTF-8
export BIN=/src/target/release LOGS=/mnt/logs
# The ipc example's config (scripts/vm-test.sh copies nix/golden/config-ipc.json).
export DAEMON_CONFIG=/mnt/audio-daemon-config.json
. /src/tests/compositor/audio-stack.sh
audio_env
if [ -f "$XDG_RUNTIME_DIR/stream-ids" ]; then . "$XDG_RUNTIME_DIR/stream-ids"; fi

# hyprctl finds Hyprland through HYPRLAND_INSTANCE_SIGNATURE, its runtime directory.
hypr_socket() { compgen -G "$XDG_RUNTIME_DIR/hypr/*/.socket.sock" | head -n1; }
if [ -n "$(hypr_socket)" ]; then
  HYPRLAND_INSTANCE_SIGNATURE=$(basename "$(dirname "$(hypr_socket)")")
  export HYPRLAND_INSTANCE_SIGNATURE
fi
hypr_up() {
  local sock
  sock=$(hypr_socket) && [ -n "$sock" ] &&
    HYPRLAND_INSTANCE_SIGNATURE=$(basename "$(dirname "$sock")") hyprctl monitors | grep -q '^Monitor '
}

# start_hyprland NAME CONFIG: starts Hyprland on the VM's virtio-gpu output with
# CONFIG, its output (its whole log: debug:enable_stdout_logs) in
# $LOGS/hyprland-NAME.stdout; wait_hyprland NAME waits until its IPC lists a monitor.
start_hyprland() {
  rm -rf "$XDG_RUNTIME_DIR/hypr" "$XDG_RUNTIME_DIR/keys-marker"
  Hyprland --i-am-really-stupid -c "$2" >"$LOGS/hyprland-$1.stdout" 2>&1 &
  echo $! >"$XDG_RUNTIME_DIR/hyprland.pid"
}
wait_hyprland() {
  wait_for "Hyprland ($1) to start" 300 hypr_up || return 1
  HYPRLAND_INSTANCE_SIGNATURE=$(basename "$(dirname "$(hypr_socket)")") hyprctl version | head -n1
}

stop_hyprland() {
  local pid
  pid=$(cat "$XDG_RUNTIME_DIR/hyprland.pid")
  kill "$pid"
  # Gone, or a zombie that init has not reaped yet.
  wait_for "Hyprland to exit" 60 bash -c "! kill -0 $pid 2>/dev/null || grep -q '^[0-9]* (.*) Z' /proc/$pid/stat"
}

# start_mako: mako on the running Hyprland's display (once per Hyprland: it exits with
# its display), serving the session bus; waits until it owns the notifications name.
start_mako() {
  local display
  display=$(hyprctl instances -j | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["wl_socket"])')
  busctl --user list 2>/dev/null | grep -q '^org.freedesktop.Notifications ' ||
    WAYLAND_DISPLAY=$display setsid -f mako --default-timeout 0 </dev/null >"$LOGS/mako.log" 2>&1
  wait_for "mako on the session bus" 60 bash -c "busctl --user list | grep -q '^org.freedesktop.Notifications '"
}
