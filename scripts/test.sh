#!/usr/bin/env bash
# The test command: unit tests, integration tests against a real private PipeWire,
# the shared end-to-end scenario (the one the NixOS VM test runs), the benchmark's
# smoke run, the attack suite, and the Nix files' offline checks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-debian.sh

cargo test --all-targets

echo "== shared scenario (nixos-tests/scenario.sh) against a private PipeWire"
./target/debug/audio-daemon-demo --scenario nixos-tests/scenario.sh

echo "== benchmark smoke run (functional checks only, no timing assertions)"
# Release build: the debug daemon is slow enough under stream churn for PipeWire to
# drop its connection (a known issue, see the issue-4 note).
cargo build --release --bins
./target/release/audio-daemon-bench --quick --json "$(mktemp -d)/bench.json"

echo "== attack suite (issue 13): fuzzing, reloads, restarts, connection floods, a stopped client"
# Release daemon, as the benchmark. AUDIO_DAEMON_ATTACK_FULL=1 fuzzes 10^6 lines.
./target/release/audio-daemon-attack

echo "== Nix files"
nix/check-parse.sh
nix/check-hm-eval.sh
