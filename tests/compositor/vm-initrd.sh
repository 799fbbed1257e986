#!/usr/bin/env bash
# Builds the Hyprland VM's initramfs inside the testing root (run by scripts/vm-test.sh
# through scripts/root-sandbox.sh, so the root itself is not touched): the root's
# initramfs-tools with tests/compositor/initramfs/ as its configuration (only the virtio
# and 9p modules, and a script that mounts the project at /src). Writes
# /tmp/work/initrd.img for the kernel version given.
set -euo pipefail
kver=$1
conf=/tmp/work/initramfs-conf
cp -a /etc/initramfs-tools "$conf"
sed -i 's/^MODULES=.*/MODULES=list/' "$conf/initramfs.conf"
cp /src/tests/compositor/initramfs/modules "$conf/modules"
cp -r /src/tests/compositor/initramfs/scripts/. "$conf/scripts/"
TMPDIR=/tmp mkinitramfs -d "$conf" -o /tmp/work/initrd.img "$kver"
