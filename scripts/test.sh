#!/usr/bin/env bash
# The test command: unit tests, integration tests against a real private PipeWire,
# the shared end-to-end scenario (the one the NixOS VM test runs), the benchmark's
# smoke run, and the Nix files' offline checks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh

cargo test --all-targets

echo "== shared scenario (nixos-tests/scenario.sh) against a private PipeWire"
./target/debug/audio-daemon-demo --scenario nixos-tests/scenario.sh

if [ -x target/debug/audio-daemon-bench ]; then
  echo "== benchmark smoke run (functional checks only, no timing assertions)"
  ./target/debug/audio-daemon-bench --quick --json "$(mktemp -d)/bench.json"
fi

echo "== Nix files"
nix/check-parse.sh
nix/check-hm-eval.sh
