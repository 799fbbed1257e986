#!/usr/bin/env bash
# The protocol reference exists twice: in README.md (where users look) and in the
# audio-daemon-ipc crate's README (its rustdoc and crates.io page). Fails when they differ.
set -euo pipefail
cd "$(dirname "$0")/.."
section() { sed -n '/<!-- protocol:start/,/<!-- protocol:end -->/p' "$1"; }
a=$(section README.md)
b=$(section crates/audio-daemon-ipc/README.md)
if [ -z "$a" ] || [ "$a" != "$b" ]; then
  echo "protocol docs differ between README.md and crates/audio-daemon-ipc/README.md:" >&2
  diff <(echo "$a") <(echo "$b") >&2 || true
  exit 1
fi
echo "protocol docs: README.md and the ipc crate's README agree"
