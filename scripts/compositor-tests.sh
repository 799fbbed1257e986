#!/usr/bin/env bash
# The compositor checks, on the users' stack (the Debian testing root, see
# scripts/testing-root.sh), separate from `cargo test` and scripts/test.sh:
#   1. scripts/hyprland-verify.sh  Hyprland 0.56 --verify-config on the generated configs
#   2. scripts/waybar-test.sh      waybar 0.15 under headless sway shows the generated modules
#   3. scripts/vm-test.sh          Hyprland in a QEMU VM: real key presses, wpctl checks, latency
# Root needed (chroot, mounts, QEMU's 9p shares). Runs all three and fails if any did.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for check in hyprland-verify waybar-test vm-test; do
  start=$SECONDS
  echo "=== scripts/$check.sh"
  scripts/$check.sh || status=1
  echo "=== scripts/$check.sh: $((SECONDS - start)) s"
done
exit "$status"
