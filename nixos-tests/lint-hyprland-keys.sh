#!/usr/bin/env bash
# Lints the Hyprland keys VM test's script (nixos-tests/hyprland-keys.nix: the
# shared scenario hyprland_keys.py followed by hyprland_keys_test.py, as the test
# driver sees it) with pyflakes and mypy --strict against driver_stub.pyi.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/driver_stub.pyi" "$work/driver_stub.pyi"
{
  echo "from driver_stub import ipc, machine, start_all, subtest  # noqa: provided by the driver"
  cat "$here/hyprland_keys.py" "$here/hyprland_keys_test.py"
} >"$work/test_script.py"
echo "pyflakes + mypy --strict: nixos-tests/hyprland_keys.py + hyprland_keys_test.py"
python3 -m pyflakes "$work/test_script.py"
(cd "$work" && python3 -m mypy --strict --no-error-summary --cache-dir "$work/.mypy_cache" test_script.py)
echo "OK: lint passed"
