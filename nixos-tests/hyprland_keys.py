# The key scenario: real key presses reach Hyprland, which runs the binds the
# home-manager module generated, and the volumes they change are checked with
# wpctl. One scenario for two drivers, so that they differ as little as possible:
# - the Debian VM test (scripts/vm-test.sh: tests/compositor/vm_test.py imports
#   this file), Hyprland 0.56 from Debian testing in QEMU (TCG);
# - the NixOS VM test (nixos-tests/hyprland-keys.nix: its testScript is this file
#   followed by nixos-tests/hyprland_keys_test.py), with nixpkgs' driver.
# Both press keys through QEMU's monitor (`sendkey`, holding with its hold time).
#
# Needs in the session: the generated binds, plus the test binds of
# tests/compositor/vm-extra.conf (ALT + volume keys run wpctl; SUPER ALT F12
# appends a line to $XDG_RUNTIME_DIR/keys-marker), Hyprland's log with
# debug:disable_logs = false, streams of vesktop and spotify (the built-in app
# `music`), all three at 50 % and unmuted, and python3 for
# tests/compositor/vm-latency.py. The global-shortcut part (Keys.shortcuts,
# Keys.focused) needs the daemon started with the compositor in its
# environment and the ipc example's binds (nix/examples/hyprland-ipc.nix), and
# foot.
import json
import shlex
import statistics
import typing
from typing import Callable


# typing.Protocol by its module: nixpkgs' driver prepends `from typing_extensions import
# Protocol` for its type check, and importing the name from typing again would clash.
class KeyMachine(typing.Protocol):
    """What the scenario needs from a driver's machine (nixpkgs' has all of it)."""

    def succeed(self, *commands: str, timeout: int | None = None) -> str: ...

    def wait_until_succeeds(self, command: str, timeout: int = 900) -> str: ...

    def send_monitor_command(self, command: str) -> str: ...


# name -> (percent, muted)
State = dict[str, tuple[int, bool]]

# (what it shows, QEMU sendkey keys, the volumes after it). Keys: the generated
# binds' XF86AudioRaiseVolume / LowerVolume / Mute, alone (@sink), with SUPER
# (vesktop) and with SUPER SHIFT (music).
PRESSES: list[tuple[str, str, State]] = [
    ("SUPER+raise: vesktop up", "meta_l-volumeup", {"vesktop": (55, False)}),
    ("SUPER+lower: vesktop down", "meta_l-volumedown", {"vesktop": (50, False)}),
    ("SUPER+mute: vesktop muted", "meta_l-audiomute", {"vesktop": (50, True)}),
    ("SUPER+mute again: vesktop unmuted", "meta_l-audiomute", {"vesktop": (50, False)}),
    ("raise: default sink up", "volumeup", {"sink": (55, False)}),
    ("lower: default sink down", "volumedown", {"sink": (50, False)}),
    ("mute: default sink muted", "audiomute", {"sink": (50, True)}),
    ("mute again: default sink unmuted", "audiomute", {"sink": (50, False)}),
    ("SUPER+SHIFT+raise: music up", "meta_l-shift-volumeup", {"music": (55, False)}),
    ("SUPER+SHIFT+mute: music muted", "meta_l-shift-audiomute", {"music": (55, True)}),
    ("SUPER+SHIFT+mute again: music unmuted", "meta_l-shift-audiomute", {"music": (55, False)}),
    ("SUPER+SHIFT+lower: music down", "meta_l-shift-volumedown", {"music": (50, False)}),
]

HOLD_FROM = 10
HOLD_MS = 1200
STEP = 5
MAX_VOLUME = 100

# The ipc example (nix/examples/hyprland-ipc.nix): SUPER CTRL + the volume keys act
# on the focused window's app; lower steps by 2 and, held, ramps at RAMP_RATE
# points a second from RAMP_DELAY_MS after the press.
FOCUSED_DOWN_STEP = 2
RAMP_RATE = 40
RAMP_DELAY_MS = 250
# Hyprland stamps a global shortcut's press and release with its own clock when it
# handles them (sendGlobalShortcutEvent: steadyNow()), not with the key's kernel
# time, and the daemon ramps between those stamps. So where a held key's ramp ends
# is off from the kernel's hold by RAMP_RATE x (release handling delay - press
# handling delay): tens of ms in a quiet guest (a 1-point miss seen under one busy
# host loop), more when the host is busy. The check allows this much of that
# difference; a ramp that does not run, runs at twice or half the rate, or does not
# stop still misses by far more.
HANDLING_JITTER_S = 0.25
KEY_VOLUMEDOWN = 114
# Windows (Wayland app ids) and what they run: hw1 plays from foot's child, hw2
# from a grandchild (browsers and Electron apps play from a child process), hw3
# plays nothing. {player} is the stream helper.
WINDOWS = {
    "hw1": "{player} --prop application.name=hyp-w1 --prop media.role=hyp-w1",
    "hw2": "sh -c '{player} --prop application.name=hyp-w2 --prop media.role=hyp-w2; true'",
    "hw3": "sleep infinity",
}


class Keys:
    def __init__(
        self,
        machine: KeyMachine,
        sh: Callable[[str], str],
        hyprland_log: str,
        latency_tool: str,
        report: Callable[[str], None],
    ) -> None:
        """`sh` turns a command into one that runs in the user's session;
        `hyprland_log` is a shell word naming Hyprland's log file there;
        `latency_tool` the path of tests/compositor/vm-latency.py;
        `report` takes each result line."""
        self.m = machine
        self.sh = sh
        self.log_file = hyprland_log
        self.latency_tool = latency_tool
        self.report = report
        self.nodes = {"sink": "@DEFAULT_AUDIO_SINK@"}
        for app, name in (("vesktop", "vesktop"), ("music", "spotify")):
            self.nodes[app] = str(self.stream_id(name))
        self.state: State = {app: (50, False) for app in self.nodes}

    def run(self, cmd: str, timeout: int = 60) -> str:
        return self.m.succeed(self.sh(cmd), timeout=timeout)

    def stream_id(self, application: str) -> int:
        # Filtered in the guest: pw-dump's whole graph is large for a serial line.
        find = (
            "import json, sys; print(json.dumps([o['id'] for o in json.load(sys.stdin)"
            " if (o.get('info') or {}).get('props', {}).get('media.class') == 'Stream/Output/Audio'"
            f" and o['info']['props'].get('application.name') == {application!r}]))"
        )
        ids = json.loads(self.run(f"pw-dump | python3 -c {shlex.quote(find)}"))
        assert len(ids) == 1, f"expected one {application} stream, found {ids}"
        return int(ids[0])

    def expect(self, what: str, timeout: int = 60) -> None:
        """Waits until wpctl shows self.state on every node; reports the line."""
        checks = []
        for app, (percent, muted) in sorted(self.state.items()):
            want = f"Volume: {percent / 100:.2f}" + (" [MUTED]" if muted else "")
            checks.append(f'[ "$(wpctl get-volume {self.nodes[app]})" = {shlex.quote(want)} ]')
        try:
            self.m.wait_until_succeeds(self.sh(" && ".join(checks)), timeout=timeout)
        except Exception:
            seen = self.run(
                "; ".join(f"echo {app}: $(wpctl get-volume {node})" for app, node in self.nodes.items())
            )
            self.report(f"FAIL keys {what}: expected {self.state}, wpctl shows: {seen.strip()}")
            raise
        self.report(f"ok keys {what}: " + ", ".join(f"{a} {p}%{' muted' if m else ''}" for a, (p, m) in sorted(self.state.items())))

    def press(self, keys: str, hold_ms: int | None = None) -> None:
        hold = f" {hold_ms}" if hold_ms is not None else ""
        command = f"sendkey {keys}{hold}"
        out = self.m.send_monitor_command(command)
        # Both drivers return the human monitor's answer: its echo of the command (a
        # line of terminal redraws), whatever QEMU said, and its next prompt. Anything
        # said is QEMU refusing the keys ("invalid parameter: …").
        lines = out.replace("\r", "").split("\n")
        said = "\n".join(lines[1:-1]).strip()
        assert len(lines) >= 2 and lines[-1].startswith("(qemu)") and not said, f"{command}: {out!r}"

    def fired(self, command: str) -> int:
        """How many times Hyprland has run `command` (its log's executor lines)."""
        pattern = shlex.quote(f"[executor] Executing {command}")
        return int(self.run(f"grep -cF {pattern} {self.log_file} || true").strip() or 0)

    def reset(self) -> None:
        """Back to 50 % and unmuted everywhere, through wpctl."""
        for node in self.nodes.values():
            self.run(f"wpctl set-volume {node} 0.5 && wpctl set-mute {node} 0")
        self.state = {app: (50, False) for app in self.nodes}
        self.expect("reset to 50% by wpctl")

    def marker(self) -> None:
        """Presses SUPER ALT F12 and waits for its bind: Hyprland has then handled
        every key event before it."""
        before = int(self.run("cat $XDG_RUNTIME_DIR/keys-marker 2>/dev/null | wc -l").strip())
        self.press("meta_l-alt-f12")
        self.m.wait_until_succeeds(
            self.sh(f'[ "$(cat $XDG_RUNTIME_DIR/keys-marker 2>/dev/null | wc -l)" -gt {before} ]'),
            timeout=60,
        )

    def presses(self) -> None:
        self.expect("start")
        for what, keys, change in PRESSES:
            self.press(keys)
            self.state.update(change)
            self.expect(what)

    def hold(self, audioctl: str) -> int:
        """Holds SUPER+raise: bindel repeats it; the final volume is exact."""
        self.run(f"python3 {self.latency_tool} start && python3 {self.latency_tool} mark")
        self.run(f"wpctl set-volume {self.nodes['vesktop']} {HOLD_FROM / 100:.2f}")
        self.state["vesktop"] = (HOLD_FROM, False)
        self.expect(f"vesktop set to {HOLD_FROM}% by wpctl")
        command = f"{audioctl} up vesktop"
        before = self.fired(command)
        self.press("meta_l-volumeup", HOLD_MS)
        # QEMU releases the keys after HOLD_MS; the marker is pressed only then (a
        # key pressed during the hold would join the held combination).
        self.run(f"python3 {self.latency_tool} wait-release 115 {HOLD_MS / 1000 + 30}", timeout=90)
        self.marker()
        n = self.fired(command) - before
        self.state["vesktop"] = (min(MAX_VOLUME, HOLD_FROM + STEP * n), False)
        if n < 3:
            self.report(f"FAIL keys hold: held {HOLD_MS} ms, Hyprland ran the bind {n} times (no repeat)")
            raise AssertionError("the held key did not repeat")
        self.expect(f"held SUPER+raise {HOLD_MS} ms: Hyprland ran it {n} times, vesktop exact")
        return n

    def latency(self, rounds: int, label: str = "audioctl") -> dict[str, float]:
        """Key to PipeWire applied, for the generated bind (`label`: audioctl for
        exec binds, global for global shortcuts) and for the same step through
        wpctl, alternating; measured in the guest from the key's kernel input event
        to the daemon's change event for the default sink."""
        self.run(f"python3 {self.latency_tool} start && python3 {self.latency_tool} mark")
        order = [
            ("volumeup", label, 55),
            ("alt-volumedown", "wpctl", 50),
            ("alt-volumeup", "wpctl", 55),
            ("volumedown", label, 50),
        ]
        events = 0
        for _ in range(rounds):
            for keys, _tool, percent in order:
                self.press(keys)
                events += 1
                self.run(f"python3 {self.latency_tool} wait-events {events} 60", timeout=90)
                self.state["sink"] = (percent, False)
        self.expect(f"latency run: {rounds * 4} presses, the sink back at 50%")
        out = self.run(f"python3 {self.latency_tool} report {label}")
        samples: dict[str, list[float]] = {label: [], "wpctl": []}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "latency":
                samples[parts[1]].append(float(parts[2]))
        for tool, values in samples.items():
            if len(values) != rounds * 2:
                self.report(f"FAIL latency: {len(values)} {tool} samples, expected {rounds * 2}\n{out}")
                raise AssertionError("latency samples missing")
        medians = {tool: statistics.median(v) for tool, v in samples.items()}
        for tool, values in samples.items():
            self.report(
                f"latency {tool}: median {medians[tool]:.1f} ms, min {min(values):.1f}, max {max(values):.1f} (n={len(values)})"
            )
        self.report(f"latency ratio {label}/wpctl: {medians[label] / medians['wpctl']:.3f}")
        return medians

    def shortcuts(self, config_keys: list[str]) -> None:
        """Waits until Hyprland lists every key of the daemon's config as a global
        shortcut of app id audio-daemon: the daemon found this Hyprland instance
        (also one started after it) and registered them."""
        ids = sorted(f"audio-daemon:{k}" for k in config_keys)
        check = " && ".join(f'echo "$s" | grep -qF {shlex.quote(i)}' for i in ids)
        try:
            self.m.wait_until_succeeds(self.sh(f's=$(hyprctl globalshortcuts) && {check}'), timeout=60)
        except Exception:
            listed = self.run("hyprctl globalshortcuts || true")
            self.report(f"FAIL shortcuts: expected {ids}, Hyprland lists:\n{listed}")
            raise
        self.report(f"ok shortcuts: Hyprland lists the daemon's {len(ids)} global shortcuts")

    def osd(self, server: str, done: str = "true") -> None:
        """A global-shortcut press makes the daemon send its notification (the daemon's
        config has "osd": "notify"): dbus-monitor on the user's session bus, an
        independent observer, sees the Notify call with the new level. `server` makes
        sure a notification server is there, `done` runs after the check (an emulated
        CPU draws mako's bubbles too slowly to read them back from mako's list; the
        sway check does that)."""
        self.run(server, timeout=120)
        self.reset()
        log = "$XDG_RUNTIME_DIR/notify-monitor.log"
        rule = "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"
        self.run(
            f"rm -f {log}; dbus-monitor --session {shlex.quote(rule)} >{log} 2>&1 </dev/null &"
            " echo $! >$XDG_RUNTIME_DIR/notify-monitor.pid"
        )
        try:
            # dbus-monitor writes its own NameAcquired signal first: it listens now.
            self.m.wait_until_succeeds(self.sh(f"grep -q NameAcquired {log}"), timeout=60)
            self.press("volumeup")
            self.state["sink"] = (55, False)
            self.expect("raise (global sink-up) with the OSD on")
            try:
                self.m.wait_until_succeeds(self.sh(f"grep -qF 'string \"55%\"' {log}"), timeout=30)
            except Exception:
                self.report(f"FAIL osd: no Notify call with 55% after the global shortcut: {self.run(f'cat {log}')}")
                raise
        finally:
            self.run("kill $(cat $XDG_RUNTIME_DIR/notify-monitor.pid)")
            self.run(done)
        self.report("ok osd: the global shortcut's change sent the daemon's notification (dbus-monitor: Notify, body 55%)")

    def focused_window(self, audioctl: str) -> dict[str, object]:
        reply = json.loads(self.run(f"{audioctl} get @focused --json"))
        window = reply.get("window")
        return window if isinstance(window, dict) else {}

    def focus(self, app: str, audioctl: str, lua: bool) -> None:
        """Focuses window `app` with `hyprctl dispatch` and waits for the daemon to
        see it. Under a Lua config `hyprctl dispatch` evaluates Lua (hl.dsp.focus);
        under hyprlang it takes the dispatcher focuswindow."""
        if lua:
            dispatch = shlex.quote('hl.dsp.focus({ window = "class:^%s$" })' % app)
        else:
            dispatch = f"focuswindow {shlex.quote(f'class:^{app}$')}"
        self.run(f"hyprctl dispatch {dispatch}")
        seen = '"class":"%s"' % app
        try:
            self.m.wait_until_succeeds(
                self.sh(f"{audioctl} get @focused --json | grep -qF {shlex.quote(seen)}"),
                timeout=30,
            )
        except Exception:
            self.report(f"FAIL focus {app}: the daemon sees {self.focused_window(audioctl)}")
            raise

    def focused(self, audioctl: str, player: str, lua: bool) -> None:
        """@focused in real Hyprland: windows that play, focus moved with hyprctl
        (`lua`: the config is Lua), audioctl and the ipc example's global keys acting
        on the focused window's streams only (wpctl checks every node each time), a
        held key ramping and stopping on release, and a window without streams."""
        # The windows of an earlier Hyprland session are gone, and their streams with
        # them, before new ones with the same names open.
        self.m.wait_until_succeeds(self.sh("! pw-dump | grep -qF '\"application.name\": \"hyp-w'"), timeout=60)
        wayland = (
            "WAYLAND_DISPLAY=$(hyprctl instances -j"
            " | python3 -c 'import json, sys; print(json.load(sys.stdin)[0][\"wl_socket\"])')"
        )
        for app, command in WINDOWS.items():
            command = command.format(player=player)
            self.run(
                f"{wayland} setsid -f foot --app-id {app} {command}"
                f" </dev/null >${{LOGS:-/tmp}}/foot-{app}.log 2>&1"
            )
        for app in WINDOWS:
            listed = '"class": "%s"' % app
            self.m.wait_until_succeeds(self.sh(f"hyprctl clients -j | grep -qF {shlex.quote(listed)}"), timeout=120)
        for app, name in (("hw1", "hyp-w1"), ("hw2", "hyp-w2")):
            playing = '"application.name": "%s"' % name
            self.m.wait_until_succeeds(self.sh(f"pw-dump | grep -qF {shlex.quote(playing)}"), timeout=60)
            self.nodes[app] = str(self.stream_id(name))
        self.reset()
        self.report("ok focused: windows hw1, hw2 (playing from a grandchild) and hw3 (silent) open")

        self.focus("hw1", audioctl, lua)
        window = self.focused_window(audioctl)
        if window.get("matched_by") != "pid":
            self.report(f"FAIL focused: hw1's streams not found by pid: {window}")
            raise AssertionError("matched_by")
        self.run(f"{audioctl} up @focused 10")
        self.state["hw1"] = (60, False)
        how = "hl.dsp.focus" if lua else "focuswindow"
        self.expect(f"focus hw1 ({how}) + audioctl up @focused 10: only hw1 moved")

        self.focus("hw2", audioctl, lua)
        self.press("meta_l-ctrl-volumeup")
        self.state["hw2"] = (50 + STEP, False)
        self.expect("focus hw2 + SUPER+CTRL+raise (global focused-up): only hw2 moved")
        self.press("meta_l-ctrl-audiomute")
        self.state["hw2"] = (50 + STEP, True)
        self.expect("SUPER+CTRL+mute (global focused-mute): hw2 muted")
        self.press("meta_l-ctrl-audiomute")
        self.state["hw2"] = (50 + STEP, False)
        self.expect("SUPER+CTRL+mute again: hw2 unmuted")

        # Held: one step of FOCUSED_DOWN_STEP at the press, then RAMP_RATE points a
        # second from RAMP_DELAY_MS until the release, timed by the kernel's events.
        start = 50 + STEP
        self.run(f"python3 {self.latency_tool} start && python3 {self.latency_tool} mark")
        self.press("meta_l-ctrl-volumedown", HOLD_MS)
        self.run(f"python3 {self.latency_tool} wait-release {KEY_VOLUMEDOWN} {HOLD_MS / 1000 + 30}", timeout=90)
        self.marker()
        held = float(self.run(f"python3 {self.latency_tool} held {KEY_VOLUMEDOWN}"))
        want = start - FOCUSED_DOWN_STEP - RAMP_RATE * max(0.0, held - RAMP_DELAY_MS) / 1000
        tolerance = FOCUSED_DOWN_STEP + RAMP_RATE * HANDLING_JITTER_S
        # A ramp that did not stop at the release would keep moving (to 0 within a
        # second at this rate): two readings 0.5 s apart, 15 ramp updates, must agree.
        node = self.nodes["hw2"]
        settle = (
            f"a=$(wpctl get-volume {node}); sleep 0.5; b=$(wpctl get-volume {node});"
            ' [ "$a" = "$b" ] && echo "$b"'
        )
        final_line = self.m.wait_until_succeeds(self.sh(settle), timeout=30).strip()
        final = round(float(final_line.split()[1]) * 100)
        if abs(final - want) > tolerance:
            self.report(
                f"FAIL focused hold: held {held:.0f} ms, hw2 at {final}%, expected {want:.1f}"
                f" +- {tolerance:.0f} ({start} - {FOCUSED_DOWN_STEP} - {RAMP_RATE}/s from {RAMP_DELAY_MS} ms)"
            )
            raise AssertionError("ramp")
        self.state["hw2"] = (final, False)
        self.expect(
            f"held SUPER+CTRL+lower {held:.0f} ms (global focused-down-2): hw2 ramped {start} -> {final}%"
            f" (expected {want:.1f} +- {tolerance:.0f}, off by {final - want:+.1f}), stopped on release, nothing else moved"
        )

        self.focus("hw3", audioctl, lua)
        out = self.run(f"{audioctl} up @focused 2>&1; echo exit=$?")
        if "exit=1" not in out or "hw3" not in out or "no streams" not in out:
            self.report(f"FAIL focused: a window without streams: {out.strip()}")
            raise AssertionError("no_streams")
        self.expect(f"focus hw3 (no streams): audioctl says {out.splitlines()[0].strip()!r}, nothing moved")


UNIT = "audio-daemon.service"
# The golden unit's RestartSec (nix/golden/audio-daemon.service).
RESTART_SEC = 5
# Exit statuses systemd gives a unit whose sandboxing could not be set up.
SANDBOX_FAILURES = ("218/CAPABILITIES", "226/NAMESPACE", "224/USER", "Failed to set up")


class UserUnit:
    """audio-daemon.service in the user's systemd session, as home-manager installs
    it (WantedBy the session's graphical-session.target), observed with
    `systemctl --user` and `journalctl --user`. `keys` runs the user's commands and
    checks volumes with wpctl; `config` is the daemon's config file (the user's
    ~/.config/audio-daemon/config.json, which the unit's daemon reads)."""

    def __init__(self, keys: Keys, audioctl: str, config: str) -> None:
        self.k = keys
        self.audioctl = audioctl
        self.config = config

    def show(self, prop: str) -> str:
        return self.k.run(f"systemctl --user show -p {prop} --value {UNIT}").strip()

    def journal(self) -> str:
        return self.k.run(f"journalctl --user -u {UNIT} --no-pager -o cat || true")

    def started(self) -> None:
        """The session target started the unit, with the compositor's environment
        (which @focused and the global shortcuts need), and every hardening directive
        it declares held: no sandboxing failure in its journal."""
        env = self.k.run("systemctl --user show-environment")
        missing = [v for v in ("HYPRLAND_INSTANCE_SIGNATURE=", "WAYLAND_DISPLAY=") if v not in env]
        state = self.show("ActiveState")
        failures = [line for line in self.journal().splitlines() if any(f in line for f in SANDBOX_FAILURES)]
        if missing or state != "active" or failures:
            self.k.report(f"FAIL unit: {state}, environment lacks {missing}, journal: {failures}")
            raise AssertionError("unit")
        services = self.k.run(
            "systemctl --user list-units --type=service --state=running --no-legend --plain | cut -d' ' -f1 | paste -sd' '"
        ).strip()
        self.k.report(
            f"ok unit: {UNIT} active (MainPID {self.show('MainPID')}) from graphical-session.target,"
            " with HYPRLAND_INSTANCE_SIGNATURE and WAYLAND_DISPLAY imported by Hyprland's exec-once;"
            f" no sandboxing failure in journalctl --user; the user's running services: {services}"
        )

    def security(self) -> str:
        """systemd-analyze's exposure score of the unit as it runs."""
        out = self.k.run(f"systemd-analyze --user security --no-pager {UNIT}")
        self.k.report(f"ok unit security: {out.strip().splitlines()[-1].strip()}")
        return out

    def edit_config(self, python: str) -> None:
        """Changes the config file: `python` edits the dict `c`."""
        # Replaced, not written through: home-manager's file is a link into the store.
        edit = (
            f"import json, os; p = {self.config!r}; c = json.load(open(p)); {python};"
            " os.remove(p); json.dump(c, open(p, 'w'))"
        )
        self.k.run(f"python3 -c {shlex.quote(edit)}")

    def reloads(self) -> int:
        return self.journal().count("configuration reloaded")

    def reload(self) -> None:
        """`systemctl --user reload` (what X-Reload-Triggers makes home-manager run on a
        switch) applies a changed config to the same process: a step of 7."""
        pid = self.show("MainPID")
        for step in (7, STEP):
            before = self.reloads()
            self.edit_config(f"c['step'] = {step}")
            self.k.run(f"systemctl --user reload {UNIT}")
            self.k.m.wait_until_succeeds(
                self.k.sh(f'[ "$(journalctl --user -u {UNIT} -o cat | grep -c "configuration reloaded")" -gt {before} ]'),
                timeout=60,
            )
            self.k.run(f"{self.audioctl} set vesktop 50 && {self.audioctl} up vesktop")
            self.k.state["vesktop"] = (50 + step, False)
            self.k.expect(f"reloaded with step {step}: audioctl up vesktop")
        if self.show("MainPID") != pid:
            self.k.report(f"FAIL unit reload: MainPID {pid} became {self.show('MainPID')}")
            raise AssertionError("reload restarted the daemon")
        self.k.report(f"ok unit reload: systemctl --user reload applied step 7 then {STEP}, MainPID {pid} unchanged")

    def crash(self) -> None:
        """SIGKILL (a crash the daemon gets no chance to clean up after): systemd
        restarts it after RestartSec; it remembers the app volume it had set, and a
        global shortcut works again. Not SIGSEGV: Rust's std catches a SIGSEGV to tell
        stack overflows apart, and one sent by kill(2) faults nothing, so the daemon
        lived on (seen in the VM)."""
        self.k.run(f"{self.audioctl} set vesktop 42")
        self.k.state["vesktop"] = (42, False)
        self.k.expect("audioctl set vesktop 42 (remembered)")
        pid = self.show("MainPID")
        restarts = int(self.show("NRestarts"))
        # The state file is written a moment after a change (state_write_delay_ms): wait
        # until it holds 42 before the crash. Under StateDirectory= it is
        # ~/.local/state/audio-daemon/volumes.json.
        saved = (
            "import json, os, sys; f = os.path.expanduser('~/.local/state/audio-daemon/volumes.json');"
            " sys.exit(0 if round(json.load(open(f))['apps']['vesktop']['volume']) == 42 else 1)"
        )
        self.k.m.wait_until_succeeds(self.k.sh(f"python3 -c {shlex.quote(saved)}"), timeout=60)
        killed = float(self.k.run(f"date +%s.%N; systemctl --user kill -s SIGKILL {UNIT}").split()[0])
        self.k.m.wait_until_succeeds(
            self.k.sh(
                f'p=$(systemctl --user show -p MainPID --value {UNIT}); [ "$p" != 0 ] && [ "$p" != {pid} ]'
                f" && systemctl --user is-active -q {UNIT} && {self.audioctl} get vesktop >/dev/null"
            ),
            timeout=90,
        )
        started = self.show("ExecMainStartTimestamp --timestamp=unix").lstrip("@")
        delay = float(started) - killed
        n = int(self.show("NRestarts")) - restarts
        if n != 1 or delay < RESTART_SEC - 0.5:
            self.k.report(f"FAIL unit crash: {n} restarts, restarted {delay:.1f} s after SIGKILL")
            raise AssertionError("crash restart")
        got = json.loads(self.k.run(f"{self.audioctl} get vesktop --json"))
        if round(got.get("volume") or 0) != 42:
            self.k.report(f"FAIL unit crash: the restarted daemon says vesktop is at {got.get('volume')}")
            raise AssertionError("remembered volume")
        self.k.expect("after the crash: vesktop still at 42 (wpctl)")
        # The new daemon answers its socket before it has registered its shortcuts
        # with Hyprland (they are registered from a task started after the socket is
        # bound): a press before that would do nothing.
        self.k.shortcuts(sorted(json.loads(self.k.run(f"cat {self.config}"))["keys"]))
        self.k.press("volumeup")
        self.k.state["sink"] = (self.k.state["sink"][0] + STEP, False)
        self.k.expect("after the crash: raise (global sink-up) works")
        self.k.report(
            f"ok unit crash: SIGKILL -> restarted after {delay:.1f} s (RestartSec={RESTART_SEC}s), MainPID {pid} ->"
            f" {self.show('MainPID')}, vesktop kept at 42 %, the volume key works"
        )

    def start_limit(self) -> None:
        """A daemon that fails at every start (a config it cannot parse) stops being
        restarted at the unit's start limit; a good config and reset-failed bring it
        back."""
        self.k.run(f"cp {self.config} {self.config}.good && rm {self.config} && echo '{{ not json' > {self.config}")
        self.k.run(f"systemctl --user restart {UNIT} || true")
        self.k.m.wait_until_succeeds(
            self.k.sh(f'[ "$(systemctl --user show -p Result --value {UNIT})" = start-limit-hit ]'), timeout=180
        )
        starts = self.journal().count("Started ")
        restarts = self.show("NRestarts")  # reset-failed zeroes it
        self.k.run(f"mv {self.config}.good {self.config} && systemctl --user reset-failed {UNIT}"
                   f" && systemctl --user start {UNIT}")
        self.k.m.wait_until_succeeds(self.k.sh(f"{self.audioctl} get vesktop >/dev/null"), timeout=60)
        self.k.report(
            f"ok unit start limit: a bad config -> start-limit-hit after {restarts} restarts"
            f" ({starts} starts in its journal); reset-failed + a good config: running again"
        )

    def stop_session(self) -> None:
        """Stopping the session target stops the daemon, which removes its socket."""
        self.k.run("systemctl --user stop hyprland-session.target")
        self.k.m.wait_until_succeeds(
            self.k.sh(f"! systemctl --user is-active -q {UNIT} && ! test -e $XDG_RUNTIME_DIR/audio-daemon.sock"),
            timeout=60,
        )
        self.k.report(f"ok unit: stopping hyprland-session.target stopped {UNIT} ({self.show('ActiveState')}) and its socket is gone")
