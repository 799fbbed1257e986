#!/usr/bin/env bash
# The test command (README): unit tests, integration tests against a real private
# PipeWire, the shared end-to-end scenario (the one the NixOS VM test runs), @focused and
# compositor keys on headless sway, the benchmark smoke runs, the attack suite, and the
# Nix files' offline checks; on both stacks; then the compositor checks.
#
#   scripts/test.sh              everything: host stack, testing-root stack, compositors
#   scripts/test.sh quick        the edit-test loop: fmt, clippy, unit and integration
#                                tests on this machine's PipeWire (no VM, no testing root)
#   scripts/test.sh host         this machine's PipeWire only (Debian 12: 0.3.65 / WirePlumber 0.4.13)
#   scripts/test.sh testing      the users' stack only: PipeWire 1.6 / WirePlumber 0.5 in a
#                                Debian testing root (scripts/testing-root.sh, which runs
#                                `scripts/test.sh host` inside that root)
#   scripts/test.sh compositors  Hyprland --verify-config, waybar, the Hyprland VM test
#                                (scripts/compositor-tests.sh; needs root and QEMU)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
case "$mode" in
  all | host) ;;
  quick)
    scripts/setup-debian.sh
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings
    cargo build --workspace --bins
    exec cargo test --workspace --all-targets
    ;;
  testing) exec scripts/testing-root.sh test ;;
  compositors) exec scripts/compositor-tests.sh ;;
  *) echo "usage: $0 [all|quick|host|testing|compositors]" >&2 && exit 2 ;;
esac
# The testing root has its packages already (and no Nix).
[ -n "${AUDIO_DAEMON_IN_TESTING_ROOT:-}" ] || scripts/setup-debian.sh
# The testing root (mmdebstrap: mostly downloads and dpkg, about 2 min on a fresh machine)
# is built while this machine's stack is tested, and waited for before its turn. After
# setup-debian: both use apt.
root_build=
if [ "$mode" = all ]; then
  root_log=$(mktemp)
  # Its own process group, so that a failure here stops all of it (by its PID, which
  # leads the group); an interrupted build is never used (testing-root.sh).
  setsid scripts/testing-root.sh build >"$root_log" 2>&1 &
  root_build=$!
  trap '[ -z "$root_build" ] || kill -- "-$root_build" 2>/dev/null || true' EXIT
fi
echo "== stack: $(. /etc/os-release && echo "$PRETTY_NAME"), $(pipewire --version | grep -m1 -o 'libpipewire [0-9.]*'), $(wireplumber --version | grep -m1 -o 'libwireplumber [0-9.]*')"

# The integration tests start the stream helper from the tools crate: build every
# binary first (`cargo test` builds only the binaries of the package under test).
cargo build --workspace --bins
cargo test --workspace --all-targets

echo "== shared scenario (nixos-tests/scenario.sh) against a private PipeWire"
./target/debug/audio-daemon-demo --scenario nixos-tests/scenario.sh

echo "== @focused and compositor keys on real headless sway (as nobody, in a PID namespace)"
./target/debug/audio-daemon-sway check --golden nix/golden

echo "== benchmark smoke run (functional checks only, no timing assertions)"
# Release build: the debug daemon is slow enough under stream churn for PipeWire to
# drop its connection (a known issue, see the issue-4 note).
scripts/build-release.sh
./target/release/audio-daemon-bench --quick --json "$(mktemp -d)/bench.json"
# Key to PipeWire applied on headless sway (nop+IPC, exec audioctl, exec wpctl) and a
# held key's ramp; fails only on a functional failure (the ramp check), never on timing.
./target/release/audio-daemon-sway bench --quick

echo "== attack suite (issue 13): fuzzing, reloads, restarts, connection floods, a stopped client"
# Release daemon, as the benchmark. AUDIO_DAEMON_ATTACK_FULL=1 fuzzes 10^6 lines.
./target/release/audio-daemon-attack

echo "== protocol reference in README.md and the ipc crate agree"
scripts/check-protocol-docs.sh

if [ -z "${AUDIO_DAEMON_IN_TESTING_ROOT:-}" ]; then
  echo "== Nix files"
  # The NixOS tests' scripts: pyflakes, mypy --strict, and the type check nixpkgs'
  # driver runs (its prepend, its flags).
  python3 -m mypy --version >/dev/null 2>&1 && python3 -m pyflakes --version >/dev/null 2>&1 ||
    python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore mypy pyflakes
  nixos-tests/lint.sh
  nix/check-parse.sh
  nix/check-hm-eval.sh
  nix/render-golden.sh
fi

if [ "$mode" = all ]; then
  echo "== the users' stack: PipeWire 1.6 / WirePlumber 0.5 in the Debian testing root"
  root_status=0
  wait "$root_build" || root_status=$?
  root_build=
  cat "$root_log"
  rm -f "$root_log"
  [ "$root_status" = 0 ] || {
    echo "FAIL: building the testing root (exit $root_status)" >&2
    exit 1
  }
  scripts/testing-root.sh test
  echo "== compositor checks: Hyprland --verify-config, waybar, Hyprland in a VM"
  scripts/compositor-tests.sh
fi
