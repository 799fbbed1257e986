#!/usr/bin/env bash
# The Hyprland VM test: real Hyprland 0.56 in a QEMU VM (TCG: no KVM or GPU needed)
# booted read-only from the Debian testing root with systemd as PID 1, in the test user's
# systemd user session (the golden audio-daemon.service), running the home-manager module's
# generated hyprland.conf, hyprland.lua, hyprland-ipc.conf and hyprland-ipc.lua (nix/golden/, store paths
# replaced by this project's binaries built in the root) and the daemon config of the
# ipc example; keys pressed through QEMU's monitor, volumes checked with wpctl in the
# guest. See tests/compositor/vm_test.py.
#
#   scripts/vm-test.sh [--only SESSION]...   (root; QEMU 11 comes from the testing root;
#                                            SESSION: conf, lua, ipc-conf or ipc-lua)
#
# The VM's initramfs (the root's initramfs-tools with only the virtio/9p modules and
# the project mount) is cached next to the root, keyed by the root, the kernel and
# tests/compositor/initramfs/. Keeps its work directory (printed): results.txt, the
# guest's logs (share/logs/), the console (serial0.log).
set -euo pipefail
project=$(cd "$(dirname "$0")/.." && pwd)
cd "$project"
. scripts/lib/compositor.sh
start=$SECONDS

scripts/testing-root.sh build
root=$(scripts/testing-root.sh path)
cache=$(dirname "$root")
echo "== building the binaries in the testing root (target/testing-root/release)"
scripts/testing-root.sh run scripts/build-release.sh 2>&1 | grep -v '^\s*\(Compiling\|Finished\)' || true
build_done=$SECONDS

kernels=("$root"/boot/vmlinuz-*)
[ "${#kernels[@]}" = 1 ] || {
  echo "FAIL: expected one kernel in $root/boot, found ${kernels[*]}" >&2
  exit 1
}
kernel=${kernels[0]}
kver=${kernel##*/vmlinuz-}
key=$({
  cat "$root/.audio-daemon-root"
  echo "$kver"
  cat tests/compositor/vm-initrd.sh
  find tests/compositor/initramfs -type f | LC_ALL=C sort | xargs cat
} | sha256sum | cut -c1-16)
initrd=$cache/vm-initrd-$key.img
if [ ! -f "$initrd" ]; then
  echo "== building the VM's initramfs ($initrd)"
  w=$(mktemp -d)
  scripts/root-sandbox.sh "$w" bash /src/tests/compositor/vm-initrd.sh "$kver" 2>&1 | grep -v 'No zstd' || true
  [ -s "$w/initrd.img" ] || {
    echo "FAIL: the initramfs was not built" >&2
    exit 1
  }
  mv "$w/initrd.img" "$initrd.tmp.$$" && mv "$initrd.tmp.$$" "$initrd"
  rm -rf "$w"
  for old in "$cache"/vm-initrd-*.img; do [ "$old" = "$initrd" ] || rm -f "$old"; done
fi
initrd_done=$SECONDS

work=$(mktemp -d "${TMPDIR:-/tmp}/audio-daemon-vm.XXXXXX")
mkdir -p "$work/share"
bin=/src/target/release
# The four Hyprland configs: exec binds and (hyprland-ipc.*, nix/examples/hyprland-ipc.nix)
# keys that start no process, each in hyprlang and Lua, with the test-only additions.
for config in hyprland.conf hyprland.lua hyprland-ipc.conf hyprland-ipc.lua; do
  {
    real_paths "$golden/$config" "$bin"
    cat "tests/compositor/vm-extra.${config##*.}"
  } >"$work/share/$config"
done
# The test user alice: the root's passwd, group and shadow with her added, which the
# VM's initramfs binds over its read-only /etc (tests/compositor/initramfs/).
mkdir -p "$work/share/etc"
{ cat "$root/etc/passwd"; echo 'alice:x:1000:1000:alice:/home/alice:/bin/bash'; } >"$work/share/etc/passwd"
{
  sed -E -e 's/^(video|input|render):([^:]*):([0-9]+):$/\1:\2:\3:alice/' \
    -e 's/^(video|input|render):([^:]*):([0-9]+):(.+)$/\1:\2:\3:\4,alice/' "$root/etc/group"
  echo 'alice:x:1000:'
} >"$work/share/etc/group"
{ cat "$root/etc/shadow"; echo 'alice:!:20000:0:99999:7:::'; } >"$work/share/etc/shadow"
chmod 0644 "$work/share/etc/passwd" "$work/share/etc/group"
chmod 0640 "$work/share/etc/shadow"
# Her home as home-manager writes it (the guest copies it into her tmpfs home):
# - the daemon's config: the ipc example's, which registers the ipc binds' keys (the
#   daemon runs with it in every session), with feedback on for the global shortcut's
#   notification;
# - the golden audio-daemon.service, enabled (WantedBy) as home-manager links it, and
#   home-manager's hyprland-session.target; X-Reload-Triggers is home-manager's own key
#   (its activation reads it), not systemd's, and names a store path: dropped;
# - Debian's root enables waybar, foot-server and mako for every graphical session and
#   PipeWire's filter-chain for every session: a home-manager user has none of them
#   unless asked, and under llvmpipe each drawn bar or notification costs the emulated
#   CPU dearly: all are masked, and the OSD check starts mako itself (start_mako in
#   tests/compositor/vm-guest.sh).
home=$work/share/home
units=$home/.config/systemd/user
mkdir -p "$home/.config/audio-daemon" "$units/graphical-session.target.wants"
real_paths "$golden/config-ipc.json" "$bin" |
  python3 -c 'import json, sys; c = json.load(sys.stdin); c["osd"] = "notify"; print(json.dumps(c, indent=2))' \
    >"$home/.config/audio-daemon/config.json"
grep -v '^X-Reload-Triggers=' "$golden/audio-daemon.service" | real_paths /dev/stdin "$bin" >"$units/audio-daemon.service"
cp "$golden/hyprland-session.target" "$units/hyprland-session.target"
ln -s ../audio-daemon.service "$units/graphical-session.target.wants/audio-daemon.service"
for masked in waybar.service foot-server.service foot-server.socket mako.service filter-chain.service; do
  ln -s /dev/null "$units/$masked"
done
# mako's D-Bus service file starts it without systemd, so the mask above does not stop a
# Notify from starting it: the user's own service file (read before the system's) makes
# that activation fail at once instead.
mkdir -p "$home/.local/share/dbus-1/services"
printf '[D-BUS Service]\nName=org.freedesktop.Notifications\nExec=/bin/false\n' \
  >"$home/.local/share/dbus-1/services/org.freedesktop.Notifications.service"

# The root must stay while the VM reads it (testing-root.sh replaces roots only
# when nobody holds use.lock).
exec 7>"$cache/use.lock"
flock -s 7
status=0
python3 tests/compositor/vm_test.py --root "$root" --kernel "$kernel" --initrd "$initrd" \
  --project "$project" --work "$work" "$@" || status=$?
echo "== VM test: $((build_done - start)) s build, $((initrd_done - build_done)) s initramfs, $((SECONDS - initrd_done)) s VM; results: $work/results.txt"
exit "$status"
