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

# type_check NAME MACHINES FILE...: the driver's own type check of the FILEs as one
# test script: its prepend (driver_prepend.py, a stand-in with the same imports), a
# `NAME: Machine;` line per machine, the script, and mypy with the driver's flags.
type_check() {
  local name=$1 machines=$2 dir=$work/$1-driver m
  shift 2
  mkdir -p "$dir/test_driver"
  cp "$here/driver_stub.pyi" "$dir/driver_stub.pyi"
  : >"$dir/test_driver/__init__.pyi"
  echo "from driver_stub import Machine as Machine" >"$dir/test_driver/machine.pyi"
  echo "class Driver: ..." >"$dir/test_driver/driver.pyi"
  echo "class VLan: ..." >"$dir/test_driver/vlan.pyi"
  echo "class Logger: ..." >"$dir/test_driver/logger.pyi"
  {
    cat "$here/driver_prepend.py"
    for m in $machines; do echo "$m: Machine;"; done
    for f in "$@"; do cat "$here/$f"; done
  } >"$dir/testScriptWithTypes"
  echo "the driver's type check ($name): $*"
  (cd "$dir" && python3 -m mypy --no-implicit-optional --pretty --no-color-output \
    --no-error-summary --cache-dir "$dir/.mypy_cache" testScriptWithTypes)
}

lint_script default.nix "machine, start_all, subtest" test_script.py
lint_script hyprland-keys.nix "ipc, machine, start_all, subtest" hyprland_keys.py hyprland_keys_test.py
type_check default.nix "machine" test_script.py
type_check hyprland-keys.nix "machine ipc" hyprland_keys.py hyprland_keys_test.py

echo "bash -n nixos-tests/scenario.sh"
bash -n "$here/scenario.sh"
if command -v shellcheck >/dev/null; then
  echo "shellcheck nixos-tests/scenario.sh nixos-tests/lint.sh nix/*.sh"
  shellcheck "$here/scenario.sh" "$here/lint.sh" "$here"/../nix/*.sh
else
  echo "shellcheck not installed: skipped"
fi
echo "OK: lint passed"
