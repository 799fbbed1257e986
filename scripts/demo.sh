#!/usr/bin/env bash
# The main command on a machine without a desktop session: a private PipeWire with a
# few app-like streams, the real daemon, and keypresses driven through audioctl.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
scripts/build-release.sh
exec ./target/release/audio-daemon-demo "$@"
