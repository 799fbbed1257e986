#!/usr/bin/env bash
# The users' stack on a Debian 12 machine: a Debian testing ("forky") root with
# PipeWire 1.6 and WirePlumber 0.5 (built with mmdebstrap, see /work/shared/STACKS.md),
# and the test suite run inside it against libpipewire 1.6.
#
#   scripts/testing-root.sh [test]     build the root if needed, run the suite in it
#   scripts/testing-root.sh build      only build (or check) the cached root
#   scripts/testing-root.sh run CMD..  run CMD in the root, in the project directory
#   scripts/testing-root.sh path       print the cached root's directory
#
# The root is cached in ${AUDIO_DAEMON_CACHE:-/var/cache/audio-daemon}/forky-<key>, the
# key being a hash of scripts/testing-root.packages and the build options: changing the
# list builds a new root (and removes the old one once nobody uses it). A root is built
# in a temporary directory and renamed into place only when complete, so an interrupted
# build is never used. Needs root (mmdebstrap, chroot, mounts).
#
# Every mount lives in a private mount namespace (unshare), so the mounts disappear with
# the run whatever way it ends; the trap unmounts too, for the normal exit paths. Inside,
# the host's Rust toolchain is bind-mounted (rustup's read-only) and the root's build
# goes to target/testing-root, which is mounted over the project's target/: host and root
# builds never share artifacts.
set -euo pipefail
script_args=("$@")
project=$(cd "$(dirname "$0")/.." && pwd)
cache=${AUDIO_DAEMON_CACHE:-/var/cache/audio-daemon}
suite=forky
mirror=http://deb.debian.org/debian
# The registry serves a snapshot whose Release file is past its Valid-Until date.
aptopt='Acquire::Check-Valid-Until "false"'
# Bump when the way the root is built changes (not only the package list).
format=1

packages() {
  sed -e 's/#.*//' -e 's/[[:space:]]//g' "$project/scripts/testing-root.packages" | grep -v '^$'
}

key() {
  { echo "$format $suite $mirror $aptopt"; packages | LC_ALL=C sort -u; } | sha256sum | cut -c1-16
}

root_dir() { echo "$cache/$suite-$(key)"; }

# A root is complete when its stamp (written last, before the rename) holds its key.
complete() {
  [ -f "$1/.audio-daemon-root" ] && [ "$(cat "$1/.audio-daemon-root")" = "$(key)" ] &&
    [ -x "$1/usr/bin/pipewire" ] && [ -x "$1/usr/bin/wireplumber" ]
}

need_root() {
  [ "$(id -u)" = 0 ] && return 0
  if command -v sudo >/dev/null; then
    # Keep the caller's toolchain: it is what gets bind-mounted into the root.
    exec sudo env CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" \
      AUDIO_DAEMON_CACHE="$cache" "$0" "${script_args[@]}"
  fi
  echo "testing-root: needs root (mmdebstrap, chroot and bind mounts)" >&2
  exit 1
}

# Removes a directory tree without crossing into anything mounted below it.
remove_tree() {
  if findmnt -rn -o TARGET | grep -q "^$1\(/\|$\)"; then
    echo "testing-root: not removing $1: something is mounted under it" >&2
    return 1
  fi
  rm -rf --one-file-system "$1"
}

build() {
  need_root
  mkdir -p "$cache"
  local root tmp
  root=$(root_dir)
  exec 8>"$cache/build.lock"
  flock -x 8
  if complete "$root"; then
    flock -u 8
    return 0
  fi
  command -v mmdebstrap >/dev/null || {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap
  }
  # Leftovers of interrupted builds (we hold the build lock: nobody else is building).
  for d in "$cache"/.build-*; do
    [ -e "$d" ] && remove_tree "$d"
  done
  [ -e "$root" ] && remove_tree "$root"
  tmp="$cache/.build-$suite-$(key)-$$"
  echo "== building the $suite root in $root ($(packages | wc -l) packages)"
  local start=$SECONDS
  # mmdebstrap mounts inside the new root while installing: a private mount namespace
  # makes sure nothing stays mounted if it is interrupted.
  unshare --mount --propagation private -- \
    mmdebstrap --quiet --variant=apt --aptopt="$aptopt" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --include="$(packages | paste -sd,)" \
    "$suite" "$tmp" "$mirror" || {
    remove_tree "$tmp" || true
    echo "testing-root: mmdebstrap failed" >&2
    exit 1
  }
  key >"$tmp/.audio-daemon-root"
  mv -T "$tmp" "$root"
  echo "== built the $suite root in $((SECONDS - start)) s ($(du -sh --one-file-system "$root" | cut -f1))"
  # Older roots go once no run holds them (runs take use.lock shared).
  exec 7>"$cache/use.lock"
  if flock -xn 7; then
    for d in "$cache/$suite"-*; do
      [ "$d" != "$root" ] && [ -d "$d" ] && remove_tree "$d"
    done
  fi
  exec 7>&-
  flock -u 8
}

# Runs "$@" in the root, in the project directory, with every mount in a private
# mount namespace.
run() {
  need_root
  local root
  root=$(root_dir)
  complete "$root" || {
    echo "testing-root: no complete root at $root; run '$0 build'" >&2
    exit 1
  }
  mkdir -p "$project/target/testing-root"
  # A root with another key may have other libpipewire headers: start that build over.
  if [ "$(cat "$project/target/testing-root/.root-key" 2>/dev/null)" != "$(key)" ]; then
    remove_tree "$project/target/testing-root"
    mkdir -p "$project/target/testing-root"
    key >"$project/target/testing-root/.root-key"
  fi
  exec 7>"$cache/use.lock"
  flock -s 7
  unshare --mount --propagation private -- "$0" __inside "$root" "$@"
}

# In the private mount namespace: mount, chroot, run, unmount.
inside() {
  local root=$1
  shift
  local cargo_home=${CARGO_HOME:-$HOME/.cargo} rustup_home=${RUSTUP_HOME:-$HOME/.rustup}
  mounted=() # global: the EXIT trap runs after this function has returned
  cleanup() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
      umount -l "${mounted[i]}" 2>/dev/null || true
    done
  }
  trap cleanup EXIT
  bind() { # bind SRC DEST [ro]
    mkdir -p "$2"
    mount --bind "$1" "$2"
    mounted+=("$2")
    if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2"; fi
  }
  # The root on itself: inside the chroot `/` is then a mount point, which tools that
  # make mount namespaces of their own need (`unshare --mount-proc` in the sway check).
  bind "$root" "$root"
  bind /proc "$root/proc"
  bind /sys "$root/sys"
  bind /dev "$root/dev"
  bind /dev/pts "$root/dev/pts"
  [ -d /dev/shm ] && bind /dev/shm "$root/dev/shm"
  bind "$cargo_home" "$root/opt/cargo"
  bind "$rustup_home" "$root/opt/rustup" ro
  bind "$project" "$root/src"
  bind "$project/target/testing-root" "$root/src/target"
  local status=0
  chroot "$root" /usr/bin/env -i \
    HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 \
    PATH=/opt/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    CARGO_HOME=/opt/cargo RUSTUP_HOME=/opt/rustup \
    AUDIO_DAEMON_IN_TESTING_ROOT=1 \
    bash -c 'cd /src && exec "$@"' bash "$@" || status=$?
  return "$status"
}

case "${1:-test}" in
  build) build ;;
  path) root_dir ;;
  run)
    shift
    run "$@"
    ;;
  test)
    build
    run scripts/test.sh host
    ;;
  __inside)
    shift
    inside "$@"
    ;;
  *)
    echo "usage: $0 [test|build|run CMD...|path]" >&2
    exit 2
    ;;
esac
