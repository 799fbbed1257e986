#!/usr/bin/env bash
# Lints the NixOS VM tests' Python scripts (pyflakes, mypy --strict) against
# driver_stub.pyi, a stand-in for the NixOS test driver's globals, each as its
# test driver sees it:
# - default.nix: test_script.py;
# - hyprland-keys.nix: the shared scenario hyprland_keys.py followed by
#   hyprland_keys_test.py;
# and the shared scenario (bash -n, and shellcheck when installed). Needs python3
# with pyflakes and mypy (pip install pyflakes mypy).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# lint_script NAME GLOBALS FILE...: the FILEs as one test script. The driver defines
# the machines, start_all and subtest as globals; import them (GLOBALS) from the stub
# instead so both tools know their names and types.
lint_script() {
  local name=$1 globals=$2 dir=$work/$1
  shift 2
  mkdir "$dir"
  cp "$here/driver_stub.pyi" "$dir/driver_stub.pyi"
  {
    echo "from driver_stub import $globals  # noqa: provided by the driver"
    for f in "$@"; do cat "$here/$f"; done
  } >"$dir/test_script.py"
  echo "pyflakes + mypy --strict ($name): $*"
  python3 -m pyflakes "$dir/test_script.py"
  (cd "$dir" && python3 -m mypy --strict --no-error-summary --cache-dir "$dir/.mypy_cache" test_script.py)
}

lint_script default.nix "machine, start_all, subtest" test_script.py
lint_script hyprland-keys.nix "ipc, machine, start_all, subtest" hyprland_keys.py hyprland_keys_test.py

echo "bash -n nixos-tests/scenario.sh"
bash -n "$here/scenario.sh"
if command -v shellcheck >/dev/null; then
  echo "shellcheck nixos-tests/scenario.sh nixos-tests/lint.sh nix/*.sh"
  shellcheck "$here/scenario.sh" "$here/lint.sh" "$here"/../nix/*.sh
else
  echo "shellcheck not installed: skipped"
fi
echo "OK: lint passed"
