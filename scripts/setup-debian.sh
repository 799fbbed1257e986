#!/usr/bin/env bash
# Installs what building and testing need on Debian 12 (root or sudo). Does nothing
# when everything is already there, and nothing at all outside Debian/Ubuntu.
set -euo pipefail
# sway + mako (+ busctl, which makoctl calls, dbus-monitor, setpriv): the on-screen
# feedback test runs a real notification daemon under headless sway as `nobody`.
need_cmds=(pipewire wireplumber wpctl pw-cli pw-dump dbus-daemon pkg-config clang cc socat python3 nix-instantiate
  sway mako busctl dbus-monitor setpriv
  foot wtype unshare)
missing=0
for c in "${need_cmds[@]}"; do command -v "$c" >/dev/null || missing=1; done
pkg-config --exists libpipewire-0.3 libspa-0.2 2>/dev/null || missing=1
# glibc's static libc.a: scripts/build-release.sh links audioctl statically.
[ -n "$(gcc -print-file-name=libc.a 2>/dev/null | grep /)" ] || missing=1
[ "$missing" = 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "setup: not a Debian system; install PipeWire (+ dev headers), WirePlumber, dbus, clang, pkg-config, socat yourself (or use 'nix develop')" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
  pipewire pipewire-bin wireplumber dbus libpipewire-0.3-dev libspa-0.2-dev \
  clang libclang-dev pkg-config gcc libc6-dev socat python3 nix-bin \
  sway mako-notifier systemd dbus-bin util-linux foot wtype fonts-dejavu-core
