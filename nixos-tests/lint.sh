#!/usr/bin/env bash
# Lints the VM test's Python script (pyflakes, mypy) against driver_stub.pyi,
# a stand-in for the NixOS test driver's globals, and the shared scenario
# (bash -n, and shellcheck when installed). Needs python3 with pyflakes and
# mypy (pip install pyflakes mypy).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The driver defines machine/start_all/subtest as globals; import them from
# the stub instead so both tools know their names and types.
cp "$here/driver_stub.pyi" "$work/driver_stub.pyi"
{
  echo "from driver_stub import machine, start_all, subtest  # noqa: provided by the driver"
  cat "$here/test_script.py"
} >"$work/test_script.py"

echo "pyflakes nixos-tests/test_script.py"
python3 -m pyflakes "$work/test_script.py"
echo "mypy --strict nixos-tests/test_script.py"
(cd "$work" && python3 -m mypy --strict --no-error-summary --cache-dir "$work/.mypy_cache" test_script.py)
echo "bash -n nixos-tests/scenario.sh"
bash -n "$here/scenario.sh"
if command -v shellcheck >/dev/null; then
  echo "shellcheck nixos-tests/scenario.sh nixos-tests/lint.sh nix/*.sh"
  shellcheck "$here/scenario.sh" "$here/lint.sh" "$here"/../nix/*.sh
else
  echo "shellcheck not installed: skipped"
fi
echo "OK: lint passed"
