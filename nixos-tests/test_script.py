# Test script of the audio-daemon NixOS VM test (nixos-tests/default.nix).
# Runs inside the NixOS test driver, which provides `machine`, `start_all`
# and `subtest`; nixos-tests/lint.sh checks it against driver_stub.pyi.
import json
import re
import shlex
from typing import Any

USER = "alice"
UID = 1000
RUNTIME_DIR = f"/run/user/{UID}"
SOCKET = f"{RUNTIME_DIR}/audio-daemon.sock"
HOME = f"/home/{USER}"
STORE_AUDIOCTL = r"/nix/store/[0-9a-z]{32}-audio-daemon-[^/ ]+/bin/audioctl"


def as_user(command: str) -> str:
    """A shell command line that runs `command` as the user, in their session."""
    inner = f"export XDG_RUNTIME_DIR={RUNTIME_DIR}; {command}"
    return f"su -l {USER} --shell /bin/sh -c {shlex.quote(inner)}"


def user_succeed(command: str) -> str:
    return machine.succeed(as_user(command))


def stream_ids() -> list[int]:
    """Node IDs of the Vesktop-like playback streams, from pw-dump."""
    objects = json.loads(user_succeed("pw-dump"))
    return [
        o["id"]
        for o in objects
        if o.get("type") == "PipeWire:Interface:Node"
        and (o.get("info") or {}).get("props", {}).get("media.class")
        == "Stream/Output/Audio"
        and o["info"]["props"].get("application.name") == "vesktop"
    ]


def reply_check(app: str, condition: str) -> str:
    """A command that succeeds when `condition` (Python, on reply `r`) holds
    for `audioctl --json get APP`."""
    check = f"import json, sys; r = json.load(sys.stdin); sys.exit(not ({condition}))"
    return as_user(f"audioctl --json get {shlex.quote(app)} | python3 -c {shlex.quote(check)}")


def get_volume(app: str) -> dict[str, Any]:
    reply: dict[str, Any] = json.loads(user_succeed(f"audioctl --json get {shlex.quote(app)}"))
    return reply


def wpctl_percent(node_id: int) -> int:
    out = user_succeed(f"wpctl get-volume {node_id}")
    match = re.match(r"Volume: (\d+\.\d+)", out)
    assert match, f"unexpected wpctl output: {out!r}"
    return round(float(match.group(1)) * 100)


start_all()
machine.wait_for_unit("multi-user.target")
machine.wait_for_unit(f"user@{UID}.service")
machine.wait_for_unit(f"home-manager-{USER}.service")

with subtest("the daemon runs as the user's service and listens"):
    machine.wait_for_unit("pipewire.service", USER)
    machine.wait_for_unit("wireplumber.service", USER)
    machine.wait_for_unit("audio-daemon.service", USER)
    machine.wait_for_open_unix_socket(SOCKET, timeout=60)
    machine.wait_for_unit("fake-vesktop.service", USER)
    machine.wait_until_succeeds(reply_check("vesktop", "r['streams']"), timeout=60)

with subtest("the socket is private: mode 0600, owned by the user"):
    mode, owner = machine.succeed(f"stat -c '%a %U' {SOCKET}").split()
    assert mode == "600", f"socket mode is {mode}, expected 600"
    assert owner == USER, f"socket owner is {owner}, expected {USER}"

with subtest("the shared scenario (audioctl, the seed's socat line, wpctl)"):
    user_succeed("bash /etc/audio-daemon-test/scenario.sh")

with subtest("an external wpctl set-volume is seen by get"):
    ids = stream_ids()
    assert ids, "no vesktop stream node in pw-dump"
    for node_id in ids:
        user_succeed(f"wpctl set-volume {node_id} 0.3")
    machine.wait_until_succeeds(
        reply_check("vesktop", "round(r['volume']) == 30"), timeout=10
    )
    reply = get_volume("vesktop")
    assert reply["ok"] is True and round(reply["volume"]) == 30, reply

with subtest("latency: in-daemon round trip over 1000 requests"):
    stats = json.loads(user_succeed("audioctl latency vesktop 1000"))
    machine.log(f"audioctl latency vesktop 1000: {stats}")
    assert stats["count"] == 1000, stats
    # Generous: the VM is emulated and shares a loaded build machine.
    assert stats["p99_us"] < 20_000, f"p99 {stats['p99_us']} us >= 20 ms: {stats}"

with subtest("Hyprland config has the binds, and a bind's command works"):
    conf = machine.succeed(f"cat {HOME}/.config/hypr/hyprland.conf")
    for mods, key, action, app, flag in [
        ("", "XF86AudioRaiseVolume", "up", "@sink", "bindel"),
        ("", "XF86AudioLowerVolume", "down", "@sink", "bindel"),
        ("", "XF86AudioMute", "mute", "@sink", "bindl"),
        ("SUPER", "XF86AudioRaiseVolume", "up", "vesktop", "bindel"),
        ("SUPER", "XF86AudioMute", "mute", "vesktop", "bindl"),
        ("SUPER SHIFT", "XF86AudioLowerVolume", "down", "music", "bindel"),
    ]:
        line = rf"^{flag}={mods}, {key}, exec, {STORE_AUDIOCTL} {action} {app}$"
        assert re.search(line, conf, re.MULTILINE), f"no {line!r} in:\n{conf}"

    # Run SUPER + XF86AudioRaiseVolume's command exactly as Hyprland would.
    match = re.search(
        rf"^bindel=SUPER, XF86AudioRaiseVolume, exec, ({STORE_AUDIOCTL} up vesktop)$",
        conf,
        re.MULTILINE,
    )
    assert match
    node_id = stream_ids()[0]
    before = wpctl_percent(node_id)
    assert before <= 95, f"volume {before}% leaves no room for +5"
    user_succeed(match.group(1))
    machine.wait_until_succeeds(
        as_user(f"wpctl get-volume {node_id} | grep -q 'Volume: {(before + 5) / 100:.2f}'"),
        timeout=10,
    )

with subtest("waybar config has the modules, and their command prints JSON"):
    bars = json.loads(machine.succeed(f"cat {HOME}/.config/waybar/config"))
    bar = next(b for b in bars if "custom/audio-vesktop" in b.get("modules-right", []))
    assert bar["modules-right"] == [
        "clock",
        "custom/audio-default-sink",
        "custom/audio-vesktop",
    ], bar["modules-right"]
    module = bar["custom/audio-vesktop"]
    assert module["return-type"] == "json", module
    # The app's label and an icon picked by state (alt) or volume.
    assert module["format"] == "{icon} Discord {text}", module
    assert {"muted", "unmuted", "inactive", "default"} <= set(module["format-icons"]), module
    assert re.fullmatch(rf"{STORE_AUDIOCTL} waybar vesktop --follow", module["exec"]), module
    assert re.fullmatch(rf"{STORE_AUDIOCTL} mute vesktop", module["on-click"]), module
    assert re.fullmatch(rf"{STORE_AUDIOCTL} up vesktop", module["on-scroll-up"]), module
    assert re.fullmatch(rf"{STORE_AUDIOCTL} down vesktop", module["on-scroll-down"]), module
    assert bar["custom/audio-default-sink"]["exec"].endswith(" waybar @sink --follow")

    # One line of what the module streams (without --follow: print once).
    once = module["exec"].removesuffix(" --follow")
    line = json.loads(user_succeed(once).splitlines()[0])
    assert set(line) >= {"text", "tooltip", "class", "percentage"}, line
    assert line["class"] in ("muted", "unmuted", "inactive"), line

with subtest("config.json is generated and SIGHUP reloads without a restart"):
    config = json.loads(machine.succeed(f"cat {HOME}/.config/audio-daemon/config.json"))
    assert config["step"] == 5, config
    pid = machine.succeed(
        as_user("systemctl --user show -p MainPID --value audio-daemon.service")
    ).strip()
    user_succeed("systemctl --user reload audio-daemon.service")
    machine.wait_for_open_unix_socket(SOCKET, timeout=10)
    get_volume("vesktop")
    pid_after = machine.succeed(
        as_user("systemctl --user show -p MainPID --value audio-daemon.service")
    ).strip()
    assert pid == pid_after, f"reload restarted the daemon: {pid} -> {pid_after}"

with subtest("a config change through home-manager reloads the daemon, never restarts it"):
    pid = machine.succeed(
        as_user("systemctl --user show -p MainPID --value audio-daemon.service")
    ).strip()
    machine.succeed("/run/current-system/specialisation/step10/bin/switch-to-configuration test")
    machine.wait_for_unit(f"home-manager-{USER}.service")
    config = json.loads(machine.succeed(f"cat {HOME}/.config/audio-daemon/config.json"))
    assert config["step"] == 10, config
    node_id = stream_ids()[0]
    before = wpctl_percent(node_id)
    assert before <= 90, f"volume {before}% leaves no room for +10"
    # The daemon reads its config only at start and on SIGHUP: the same
    # process stepping by 10 has reloaded.
    user_succeed("audioctl up vesktop")
    machine.wait_until_succeeds(
        as_user(f"wpctl get-volume {node_id} | grep -q 'Volume: {(before + 10) / 100:.2f}'"),
        timeout=10,
    )
    pid_after = machine.succeed(
        as_user("systemctl --user show -p MainPID --value audio-daemon.service")
    ).strip()
    assert pid == pid_after, f"the config change restarted the daemon: {pid} -> {pid_after}"
