#!/usr/bin/env bash
# Release build of every binary, then `audioctl` relinked statically: it is the process
# every `exec` keybind starts, so its start-up is the keypress floor, and a static binary
# skips the dynamic loader (glibc's libc.a, from libc6-dev). Only audioctl: the daemon links
# libpipewire, which exists only as a shared library.
#
# `cargo rustc` passes the flags to audioctl's final link alone; its dependencies are
# ordinary rlibs. A later plain `cargo build --release` relinks it dynamically again.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
cargo rustc --release -p audioctl --bin audioctl -- \
  -C target-feature=+crt-static -C relocation-model=static
