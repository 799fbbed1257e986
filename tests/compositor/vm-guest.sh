# Sourced before every command the host runs in the Hyprland VM by the guest agent
# (tests/compositor/vm-agent.py, a system service): as root, or as the test user for
# commands that start with `#as-user` (and for `as_user` here). The VM boots systemd
# as PID 1; the user, alice (uid 1000, as in the NixOS test), gets a session like a
# home-manager user's: her user manager
# (user@1000.service) with PipeWire and WirePlumber from their packaged user units, the
# daemon from the golden audio-daemon.service in ~/.config/systemd/user, wanted by
# graphical-session.target, which home-manager's hyprland-session.target binds, and
# Hyprland started with the golden config, whose exec-once imports its environment
# into the user manager and starts that target.
export LANG=C.UTF-8 BIN=/src/target/release LOGS=/mnt/logs
export VM_USER=alice VM_UID=1000
# The user's home as scripts/vm-test.sh prepared it (copied to /home/alice).
export DAEMON_CONFIG=/home/alice/.config/audio-daemon/config.json
. /src/tests/compositor/audio-stack.sh

# as_user CMD: CMD as alice, in her session's environment (this file sourced again).
as_user() {
  setpriv --reuid="$VM_UID" --regid="$VM_UID" --init-groups \
    env -i PATH="$PATH" HOME=/home/alice USER=alice LOGNAME=alice \
    bash -c 'source /src/tests/compositor/vm-guest.sh && eval "$1"' bash "$1"
}

if [ "$(id -u)" = "$VM_UID" ]; then
  export XDG_RUNTIME_DIR=/run/user/$VM_UID
  export DBUS_SESSION_BUS_ADDRESS=unix:path=$XDG_RUNTIME_DIR/bus
  export LIBSEAT_BACKEND=seatd
  if [ -f "$XDG_RUNTIME_DIR/stream-ids" ]; then . "$XDG_RUNTIME_DIR/stream-ids"; fi
  # hyprctl finds Hyprland through HYPRLAND_INSTANCE_SIGNATURE, its runtime directory.
  hypr_socket() { compgen -G "$XDG_RUNTIME_DIR/hypr/*/.socket.sock" | head -n1; }
  if [ -n "$(hypr_socket)" ]; then
    HYPRLAND_INSTANCE_SIGNATURE=$(basename "$(dirname "$(hypr_socket)")")
    export HYPRLAND_INSTANCE_SIGNATURE
  fi
fi

# As root: the home home-manager would have written (scripts/vm-test.sh renders it into
# the share), then alice's user manager, started as logind starts it at login.
start_session() {
  mkdir -p "$LOGS" && chmod 1777 "$LOGS"
  as_user 'cp -r /mnt/home/. ~/'
  systemctl start "user@$VM_UID.service"
  wait_for "alice's user manager" 120 as_user 'systemctl --user is-system-running --wait >/dev/null; systemctl --user is-active default.target'
}

# As root: start_hyprland NAME CONFIG starts Hyprland as alice on the VM's virtio-gpu
# output with CONFIG, its output (its whole log: debug:enable_stdout_logs) in
# $LOGS/hyprland-NAME.stdout; wait_hyprland NAME waits until its IPC lists a monitor
# and the daemon runs (started by the session target Hyprland's exec-once starts).
start_hyprland() {
  as_user "rm -rf \$XDG_RUNTIME_DIR/hypr \$XDG_RUNTIME_DIR/keys-marker
    Hyprland -c $2 >$LOGS/hyprland-$1.stdout 2>&1 </dev/null &
    echo \$! >\$XDG_RUNTIME_DIR/hyprland.pid"
}
hypr_up() {
  as_user 'sock=$(hypr_socket) && [ -n "$sock" ] && hyprctl monitors | grep -q "^Monitor "'
}
daemon_up() {
  as_user '[ "$(systemctl --user is-active hyprland-session.target audio-daemon.service)" = "$(printf "active\nactive")" ] &&
    $BIN/audioctl get vesktop >/dev/null'
}
wait_hyprland() {
  wait_for "Hyprland ($1) to start" 300 hypr_up || return 1
  wait_for "the session target to start audio-daemon.service" 120 daemon_up || return 1
  as_user 'hyprctl version | head -n1'
}

stop_hyprland() {
  local pid
  pid=$(cat /run/user/$VM_UID/hyprland.pid)
  kill "$pid"
  # Gone, or a zombie that nobody has reaped yet.
  wait_for "Hyprland to exit" 60 bash -c "! kill -0 $pid 2>/dev/null || grep -q '^[0-9]* (.*) Z' /proc/$pid/stat"
}

# As alice: start_mako starts mako (Debian's mako.service is masked in the session and
# its D-Bus activation blocked, see scripts/vm-test.sh) on the running Hyprland's
# display, serving the session bus.
notifications_owned() {
  # Owned, not only activatable: `busctl list` shows activatable names too.
  busctl --user call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
    NameHasOwner s org.freedesktop.Notifications 2>/dev/null | grep -q true
}
start_mako() {
  local display
  display=$(hyprctl instances -j | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["wl_socket"])')
  WAYLAND_DISPLAY=$display mako --default-timeout 0 </dev/null >"$LOGS/mako.log" 2>&1 &
  echo $! >"$XDG_RUNTIME_DIR/mako.pid"
  wait_for "mako on the session bus" 60 notifications_owned
}
# stop_mako: under llvmpipe every bubble mako draws stalls the emulated CPUs for up to
# seconds, so mako runs only for the notification check.
stop_mako() {
  kill "$(cat "$XDG_RUNTIME_DIR/mako.pid")"
}
