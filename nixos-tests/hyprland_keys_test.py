# The rest of the testScript of nixos-tests/hyprland-keys.nix, after
# nixos-tests/hyprland_keys.py (which defines Keys): Hyprland runs in alice's
# session on tty1 with the module's generated hyprland.conf, and the key
# scenario runs as in the Debian VM test (tests/compositor/vm_test.py).
# Uses hyprland_keys.py's imports (shlex) and Keys.

USER = "alice"
UID = 1000
RUNTIME_DIR = f"/run/user/{UID}"
HYPRLAND_LOG = "/tmp/hyprland-alice.log"
LATENCY_TOOL = "/etc/audio-daemon-test/vm-latency.py"


def as_user(command: str) -> str:
    """`command` as alice, in her session, with Hyprland's instance when it runs."""
    inner = (
        f"export XDG_RUNTIME_DIR={RUNTIME_DIR}; "
        "HYPRLAND_INSTANCE_SIGNATURE=$(ls $XDG_RUNTIME_DIR/hypr 2>/dev/null | head -n1); "
        f"export HYPRLAND_INSTANCE_SIGNATURE; {command}"
    )
    return f"su -l {USER} --shell /bin/sh -c {shlex.quote(inner)}"


start_all()
machine.wait_for_unit("multi-user.target")
machine.wait_for_unit(f"user@{UID}.service")
for unit in ("pipewire", "wireplumber", "audio-daemon", "fake-vesktop", "fake-spotify"):
    machine.wait_for_unit(f"{unit}.service", USER)

with subtest("Hyprland runs in alice's session with the generated config"):
    machine.wait_until_succeeds(as_user("hyprctl monitors | grep -q '^Monitor '"), timeout=300)
    machine.succeed(as_user("hyprctl binds | grep -q 'audioctl up vesktop'"))

audioctl = machine.succeed(as_user("readlink -f $(command -v audioctl)")).strip()
keys = Keys(machine, as_user, HYPRLAND_LOG, LATENCY_TOOL, machine.log)

with subtest("the generated binds, pressed through QEMU's monitor"):
    keys.reset()
    keys.presses()

with subtest("a held key repeats and the final volume is exact"):
    keys.hold(audioctl)

with subtest("key to applied: the generated bind and a wpctl bind"):
    keys.latency(4)
