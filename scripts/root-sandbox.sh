#!/usr/bin/env bash
# Runs a command in the Debian testing root (scripts/testing-root.sh) without writing to
# it: the compositor checks (scripts/hyprland-verify.sh, scripts/waybar-test.sh,
# scripts/vm-test.sh) use it, and other sessions may be using the same cached root.
#
#   scripts/root-sandbox.sh [--user] WORKDIR CMD...
#
# In private mount and PID namespaces: the mounts go with the command, and so does every
# process it started (the kernel kills a PID namespace's processes when its first one
# ends), whatever way it ends. Inside:
#   /                 the cached root, bind-mounted read-only
#   /tmp /run /var/tmp /root /home /dev/shm   fresh tmpfs
#   /src              this project, read-only; /src/target is target/testing-root
#                     (the root's own build, from `scripts/testing-root.sh run ...`)
#   /tmp/work         WORKDIR, writable: inputs and results
# HOME is /tmp/work/home and XDG_RUNTIME_DIR /tmp/work/run (made by this script).
# --user runs CMD as `nobody` (uid 65534; sway and waybar refuse root), owning those.
# Holds the root's use.lock shared while running, as testing-root.sh does, so that the
# root is not replaced underneath. Needs root.
set -euo pipefail
project=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" = __inside ]; then
  shift
  root=$1 user=$2 work=$3
  shift 3
  mnt=$(mktemp -d /tmp/audio-daemon-sandbox.XXXXXX)
  # The mounts vanish with this namespace; the directory is all there is to remove.
  trap 'umount -R -l "$mnt" 2>/dev/null; rmdir "$mnt" 2>/dev/null || true' EXIT
  mount --bind "$root" "$mnt"
  mount -o remount,bind,ro "$mnt"
  mount -t proc proc "$mnt/proc"
  mount --rbind /sys "$mnt/sys"
  mount --bind /dev "$mnt/dev"
  mount --bind /dev/pts "$mnt/dev/pts"
  for d in tmp run var/tmp root home dev/shm; do
    mount -t tmpfs -o mode=1777 tmpfs "$mnt/$d"
  done
  mount --bind "$project" "$mnt/src"
  mount -o remount,bind,ro "$mnt/src"
  if [ -d "$project/target/testing-root" ]; then
    mount --bind "$project/target/testing-root" "$mnt/src/target"
    mount -o remount,bind,ro "$mnt/src/target"
  fi
  mkdir "$mnt/tmp/work"
  mount --bind "$work" "$mnt/tmp/work"
  mkdir -p "$work/home" "$work/run"
  chmod 0700 "$work/run"
  drop=()
  if [ "$user" = user ]; then
    chown 65534:65534 "$work" "$work/home" "$work/run"
    drop=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
  fi
  envs=(HOME=/tmp/work/home XDG_RUNTIME_DIR=/tmp/work/run LANG=C.UTF-8
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
  status=0
  chroot "$mnt" /usr/bin/env -i "${envs[@]}" "${drop[@]}" "$@" || status=$?
  exit "$status"
fi

user=root
if [ "${1:-}" = --user ]; then
  user=user
  shift
fi
if [ $# -lt 2 ]; then
  echo "usage: $0 [--user] WORKDIR CMD..." >&2
  exit 2
fi
[ "$(id -u)" = 0 ] || {
  echo "root-sandbox: needs root (chroot and mounts); try sudo" >&2
  exit 1
}
work=$(cd "$1" && pwd)
shift
root=$("$project/scripts/testing-root.sh" path)
[ -f "$root/.audio-daemon-root" ] || {
  echo "root-sandbox: no testing root at $root; run scripts/testing-root.sh build" >&2
  exit 1
}
cache=$(dirname "$root")
exec 7>"$cache/use.lock"
flock -s 7
exec unshare --mount --pid --fork --propagation private -- "$0" __inside "$root" "$user" "$work" "$@"
