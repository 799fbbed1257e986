# The rest of the testScript of nixos-tests/hyprland-keys.nix, after
# nixos-tests/hyprland_keys.py (which defines Keys): Hyprland runs in alice's
# session on tty1 of both machines, and the key scenario runs as in the Debian VM
# test (tests/compositor/vm_test.py): on `machine` with the module's exec binds
# (hyprlang), on `ipc` with the ipc example's global shortcuts (Lua), @focused
# included. Uses hyprland_keys.py's imports (json, shlex, typing) and Keys.

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


class SessionMachine(KeyMachine, typing.Protocol):
    """A KeyMachine with systemd units (nixpkgs' driver)."""

    def wait_for_unit(self, unit: str, user: str | None = None, timeout: int = 900) -> None: ...


def session_up(m: SessionMachine) -> None:
    """Waits for alice's audio units and Hyprland on `m`."""
    m.wait_for_unit("multi-user.target")
    m.wait_for_unit(f"user@{UID}.service")
    for unit in ("pipewire", "wireplumber", "fake-vesktop", "fake-spotify"):
        m.wait_for_unit(f"{unit}.service", USER)
    m.wait_until_succeeds(as_user("hyprctl monitors | grep -q '^Monitor '"), timeout=300)
    # On `ipc` the daemon starts with Hyprland's session target, so only now.
    m.wait_for_unit("audio-daemon.service", USER)


start_all()

with subtest("Hyprland runs in alice's session with the generated config"):
    session_up(machine)
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

with subtest("ipc: the daemon registered its global shortcuts in Hyprland"):
    session_up(ipc)
    ipc_audioctl = ipc.succeed(as_user("readlink -f $(command -v audioctl)")).strip()
    config = json.loads(ipc.succeed(as_user("cat ~/.config/audio-daemon/config.json")))
    ipc_keys = Keys(ipc, as_user, HYPRLAND_LOG, LATENCY_TOOL, ipc.log)
    ipc_keys.shortcuts(sorted(config["keys"]))

with subtest("ipc: the global-shortcut binds, pressed through QEMU's monitor"):
    ipc_keys.reset()
    ipc_keys.presses()

with subtest("ipc: key to applied: a global shortcut and a wpctl bind"):
    ipc_keys.latency(4, "global")

with subtest("ipc: a global shortcut's change sends a notification"):
    # mako is D-Bus activated on alice's bus (Hyprland's session imported its display).
    ipc_keys.osd("busctl --user call org.freedesktop.Notifications /org/freedesktop/Notifications"
                 " org.freedesktop.Notifications GetServerInformation >/dev/null")

with subtest("ipc: @focused, the focused-window keys and a held key's ramp"):
    player = ipc.succeed(as_user("readlink -f $(command -v audio-daemon-streams)")).strip()
    ipc_keys.focused(ipc_audioctl, player, lua=True)

with subtest("ipc: audio-daemon.service in alice's session: hardening, reload, crash, start limit, stop"):
    unit = UserUnit(ipc_keys, ipc_audioctl, "/home/alice/.config/audio-daemon/config.json")
    unit.started()
    ipc.log(unit.security())
    unit.reload()
    unit.crash()
    unit.start_limit()
    unit.stop_session()
