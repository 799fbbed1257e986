# Keys that start no process, as a user would write them on top of the README's example
# home: Hyprland global shortcuts (hyprland.mode = "ipc") for the default volume keys,
# plus the focused window's app on SUPER CTRL + the volume keys (holding lower ramps it
# down in steps of 2), and the ramp's speed.
#
# One module for everything that runs it: nix/golden/render.nix renders it
# (hyprland-ipc.conf, hyprland-ipc.lua, config-ipc.json), scripts/vm-test.sh runs those
# renders in real Hyprland, and nixos-tests/hyprland-keys.nix's `ipc` machine uses it.
{ options, ... }:
let
  focused = key: action: amount: {
    mods = [
      "SUPER"
      "CTRL"
    ];
    inherit key action amount;
    app = "@focused";
  };
in
{
  services.audio-daemon = {
    hyprland.mode = "ipc";
    hyprland.binds = options.services.audio-daemon.hyprland.binds.default ++ [
      (focused "XF86AudioRaiseVolume" "up" null)
      (focused "XF86AudioLowerVolume" "down" 2)
      (focused "XF86AudioMute" "mute" null)
    ];
    settings.ramp = {
      rate = 40;
      update_hz = 30;
      delay_ms = 250;
    };
  };
}
