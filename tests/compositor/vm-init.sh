#!/bin/bash
# PID 1 of the Hyprland VM (scripts/vm-test.sh): the testing root is / (9p, read-only),
# the project /src (9p, read-only, mounted by the initramfs), the root's build
# /src/target (9p), and /mnt a writable share whose files the host reads (logs/).
# Starts udev and seatd, then the guest agent (tests/compositor/vm-agent.py) on the
# second serial port, through which the host runs everything else
# (tests/compositor/vm-guest.sh). When the agent ends, so does the VM.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Mounted by the initramfs (tests/compositor/initramfs/): the root has no mount(8).
mkdir -p /mnt/logs
exec >>/mnt/logs/init.log 2>&1
echo "init: $(date +%T.%N) started"

modprobe virtio_gpu
/usr/lib/systemd/systemd-udevd --daemon
# Only what Hyprland's libinput and DRM backends look up (all devices: 35 s more).
udevadm trigger --action=add --subsystem-match=input --subsystem-match=drm
udevadm settle --timeout=60
echo "init: $(date +%T.%N) udev settled: $(ls /dev/dri 2>&1 | tr '\n' ' ')"
seatd -g root >/mnt/logs/seatd.log 2>&1 &

mkdir -p /run/user/0 && chmod 0700 /run/user/0
python3 /src/tests/compositor/vm-agent.py /dev/ttyS1
echo "init: agent ended ($?), powering off"
sync
echo o >/proc/sysrq-trigger
