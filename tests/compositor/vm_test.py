"""The Hyprland VM test (run by scripts/vm-test.sh, which builds its inputs).

Boots the Debian testing root in QEMU (TCG) with systemd as PID 1 and gives the test
user, alice, a session like a home-manager user's (tests/compositor/vm-guest.sh): her
user manager, PipeWire and WirePlumber from their packaged user units, the golden
audio-daemon.service in ~/.config/systemd/user (WantedBy graphical-session.target) with
the ipc example's config (nix/golden/config-ipc.json), a null sink and a vesktop and a
spotify stream. Then it runs the key scenario (nixos-tests/hyprland_keys.py) in four
Hyprland sessions one after the other. Each Hyprland runs home-manager's exec-once,
which imports its environment into the user manager and (re)starts
hyprland-session.target, and with it the daemon. Every session checks the unit
(started by the target, with the compositor's environment, no sandboxing failure),
waits until `hyprctl globalshortcuts` lists the daemon's shortcuts, then presses every
bind of its config through QEMU's monitor, each checked with wpctl, and then:
1. hyprland.conf (exec binds): a held key, key-to-applied latency against a wpctl
   bind;
2. hyprland.lua (exec binds): a held key;
3. hyprland-ipc.conf (global shortcuts, nix/examples/hyprland-ipc.nix): @focused:
   windows, focus moved with `hyprctl dispatch focuswindow`, the focused-window keys,
   a held key ramping and stopping on release;
4. hyprland-ipc.lua (the same in Lua): latency, a global shortcut's notification
   (mako, with "osd": "notify" added to the daemon's config), @focused with focus
   moved by `hyprctl dispatch 'hl.dsp.focus(...)'`, then the unit under systemd:
   `systemd-analyze --user security` (WORK/security.txt), `systemctl --user reload`,
   a SIGKILL and its restart, the start limit, and stopping the session target.
Prints result lines (`ok ...`,
`latency ...`, `FAIL ...`) and writes them to WORK/results.txt; on a failure prints
the guest's journal (system and user units), Hyprland's and the latency recorder's
logs. The VM is killed by
its PID on every path.

There is no whole-run time limit: a busy or slow machine only makes the run longer.
Every step waits for its own condition with its own deadline (the guest agent ends a
command at its deadline; the host gives up on the agent a margin later), each at
least 3x what the step takes on a quiet 2-core machine, and a step that passes its
deadline says what it waited for. A true hang therefore still ends the run, at the
step that hangs, with the guest's logs.
"""

import argparse
import json
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "nixos-tests"))

from hyprland_keys import Keys, UserUnit  # noqa: E402
from vm_driver import Machine  # noqa: E402

AUDIOCTL = "/src/target/release/audioctl"
PLAYER = "/src/target/release/audio-daemon-streams"
LATENCY_TOOL = "/src/tests/compositor/vm-latency.py"
# The daemon's config as home-manager puts it (scripts/vm-test.sh writes alice's home).
USER_CONFIG = "/home/alice/.config/audio-daemon/config.json"


def qemu_command(root):
    """QEMU from the testing root (11.x), through the root's own dynamic loader and
    libraries, with its firmware (-L) and modules (QEMU_MODULE_DIR, set by main):
    Debian 12's QEMU 7.2 crashed the guest about one boot in four with -smp 2."""
    lib = os.path.join(root, "usr", "lib", "x86_64-linux-gnu")
    return [
        os.path.join(root, "lib64", "ld-linux-x86-64.so.2"), "--library-path", lib,
        os.path.join(root, "usr", "bin", "qemu-system-x86_64"),
        "-L", os.path.join(root, "usr", "share", "qemu"),
        "-L", os.path.join(root, "usr", "share", "seabios"),
    ]


def qemu_argv(a):
    fs = []
    for tag, path, ro in (
        ("rootfs", a.root, True),
        ("src", a.project, True),
        ("target", os.path.join(a.project, "target", "testing-root"), True),
        ("out", os.path.join(a.work, "share"), False),
    ):
        fs += [
            "-fsdev", f"local,id={tag},path={path},security_model=none" + (",readonly=on" if ro else ""),
            "-device", f"virtio-9p-pci,fsdev={tag},mount_tag={tag}",
        ]
    return [
        *qemu_command(a.root), "-accel", "tcg,thread=multi", "-cpu", "max",
        "-m", "3072", "-smp", str(a.smp), "-display", "none", "-no-reboot",
        "-serial", f"file:{a.work}/serial0.log",
        "-serial", f"unix:{a.work}/ctl.sock,server=on,wait=off",
        "-monitor", f"unix:{a.work}/monitor.sock,server=on,wait=off",
        "-kernel", a.kernel, "-initrd", a.initrd,
        *fs,
        "-device", "virtio-gpu-pci",
        "-append",
        "root=rootfs rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose"
        " ro console=ttyS0 init=/lib/systemd/systemd panic=-1 quiet",
    ]


def main():
    p = argparse.ArgumentParser()
    for opt in ("--root", "--kernel", "--initrd", "--project", "--work"):
        p.add_argument(opt, required=True)
    p.add_argument("--latency-rounds", type=int, default=4)
    p.add_argument("--smp", type=int, default=2, help="virtual CPUs (multi-threaded TCG)")
    p.add_argument("--only", action="append", help="run only this session (conf, lua, ipc-conf, ipc-lua); repeatable")
    a = p.parse_args()
    os.environ["QEMU_MODULE_DIR"] = os.path.join(a.root, "usr", "lib", "x86_64-linux-gnu", "qemu")

    results = open(os.path.join(a.work, "results.txt"), "w")
    start = time.monotonic()

    def report(line):
        stamp = f"[{time.monotonic() - start:6.1f}s] "
        print(stamp + line, flush=True)
        results.write(line + "\n")
        results.flush()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    timings = {}
    ok = False
    def user(command):
        """`command` as the test user, in her session (the agent's `#as-user`)."""
        return "#as-user\n" + command

    with Machine(qemu_argv(a), a.work, log=report) as m:
        try:
            m.start(boot_timeout=300)
            timings["boot to guest agent"] = time.monotonic() - start
            state = m.succeed("systemctl is-system-running --wait || true", timeout=300).strip()
            failed = m.succeed("systemctl --failed --no-legend --plain | cut -d' ' -f1 | paste -sd' '").strip()
            report(f"ok boot: {m.succeed('uname -r').strip()}, systemd PID 1: {state}; failed units: {failed or 'none'}")
            def timed(what, step):
                t = time.monotonic()
                result = step()
                timings[what] = time.monotonic() - t
                return result

            timed("user session up", lambda: m.succeed("start_session", timeout=300))
            timed("audio up", lambda: m.succeed(user("start_test_audio"), timeout=300))
            report("ok audio: " + m.succeed(user(
                "echo PipeWire $(pipewire --version | sed -n 's/.*libpipewire \\([0-9.]*\\).*/\\1/p' | head -n1),"
                " WirePlumber $(wireplumber --version | sed -n 's/.*libwireplumber \\([0-9.]*\\).*/\\1/p' | head -n1),"
                " from the user units: $(systemctl --user is-active pipewire.socket pipewire.service wireplumber.service | paste -sd' ')"
            )).strip())
            config_keys = sorted(json.loads(m.succeed("cat $DAEMON_CONFIG"))["keys"])
            rounds = a.latency_rounds

            def unit_checks(k):
                """The unit under systemd, in the last session: a reload, a crash, its
                start limit, and the session target's stop."""
                u = UserUnit(k, AUDIOCTL, USER_CONFIG)
                with open(os.path.join(a.work, "security.txt"), "w") as f:
                    f.write(u.security())
                u.reload()
                u.crash()
                u.start_limit()
                u.stop_session()

            # (name, config in the share, then what runs on the Keys of that session).
            # Each session is a new Hyprland whose exec-once (home-manager's) imports
            # its environment into alice's user manager and restarts
            # hyprland-session.target, which (re)starts the daemon: each session first
            # checks the unit and that the daemon registered its shortcuts in this
            # Hyprland, then presses every bind of that config.
            sessions = [
                ("conf", "hyprland.conf", [
                    ("keys", lambda k: k.hold(AUDIOCTL)),
                    ("latency", lambda k: k.latency(rounds)),
                ]),
                ("lua", "hyprland.lua", [("keys", lambda k: k.hold(AUDIOCTL))]),
                ("ipc-conf", "hyprland-ipc.conf", [("@focused", lambda k: k.focused(AUDIOCTL, PLAYER, lua=False))]),
                ("ipc-lua", "hyprland-ipc.lua", [
                    ("latency", lambda k: k.latency(rounds, "global")),
                    ("osd", lambda k: k.osd("start_mako", "stop_mako")),
                    ("@focused", lambda k: k.focused(AUDIOCTL, PLAYER, lua=True)),
                    ("systemd unit", unit_checks),
                ]),
            ]
            for name, config, steps in sessions:
                if a.only and name not in a.only:
                    continue
                version = timed(
                    f"Hyprland ({config}) up",
                    lambda: m.succeed(f"start_hyprland {name} /mnt/{config} && wait_hyprland {name}", timeout=400),
                )
                report(f"ok {config}: {version.strip()}")
                keys = Keys(m, user, f"/mnt/logs/hyprland-{name}.stdout", LATENCY_TOOL, report)
                UserUnit(keys, AUDIOCTL, USER_CONFIG).started()
                # What the guest's CPUs are busy with, for the logs.
                m.succeed(f"top -b -n 1 -w 200 | head -25 >$LOGS/top-{name}.txt")
                keys.shortcuts(config_keys)
                keys.reset()
                timed(f"{config}: binds", keys.presses)
                for what, step in steps:
                    timed(f"{config}: {what}", lambda: step(keys))
                m.succeed("stop_hyprland", timeout=120)
            ok = True
        except Exception as e:  # noqa: BLE001 - every failure ends the same way
            report(f"FAIL {type(e).__name__}: {e}")
            # The whole journal (system and user units) for the logs below.
            try:
                m.execute("journalctl -b --no-pager >/mnt/logs/journal.log 2>&1", timeout=60)
            except Exception as j:  # noqa: BLE001 - the VM may be gone
                report(f"(no journal: {j})")
    # The VM is gone (killed by PID when the `with` block ended).
    timings["total"] = time.monotonic() - start
    for what, seconds in timings.items():
        report(f"time {what}: {seconds:.0f} s")
    if not ok:
        logs = os.path.join(a.work, "share", "logs")
        for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
            if name.split("-")[0].split(".")[0] in ("hyprland", "journal", "latency", "mako"):
                print(f"---- guest log {name} (last 60 lines)")
                with open(os.path.join(logs, name), errors="replace") as f:
                    print("".join(f.readlines()[-60:]), end="")
        print("---- console (last 20 lines)")
        with open(os.path.join(a.work, "serial0.log"), errors="replace") as f:
            print("".join(f.readlines()[-20:]), end="")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
