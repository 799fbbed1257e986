# The files home-manager writes for the README's example home (services.audio-daemon
# with Hyprland binds and waybar modules), rendered by home-manager itself:
# - hyprland.conf and hyprland.lua: the Hyprland module's own `text`
#   (lib.hm.generators.toHyprconf for hyprlang, its Lua renderer for Lua);
# - audio-daemon.service: home-manager's unit rendering (checked against the
#   file home-manager wrote, see nix/hm-home.nix); hyprland-session.target, the
#   target home-manager's Hyprland module makes the session start;
# - waybar-config.json: the list of bars home-manager's waybar module passes
#   to `pkgs.formats.json`, pretty-printed by nix/render-golden.sh as jq does.
# - hyprland-ipc.conf, hyprland-ipc.lua, config-ipc.json: the same home with
#   hyprland.mode = "ipc" (global shortcuts and the daemon config registering them);
# - sway-ipc.conf, config-sway-ipc.json: sway's config with the binds in mode "ipc"
#   (`nop audio-daemon`, press and release binds for up/down) and the daemon config
#   registering their keys.
# nix/render-golden.sh compares them with the files beside this one.
{
  lib,
  hmSrc,
  pkgs,
}:
let
  home = import ../hm-home.nix { inherit lib hmSrc pkgs; };

  example =
    configType:
    lib.recursiveUpdate (import ../examples/home.nix) {
      wayland.windowManager.hyprland = { inherit configType; };
    };

  hyprlang = home.evalHome [ (example "hyprlang") ];
  lua = home.evalHome [ (example "lua") ];

  # The same home with keys that start no process (README: "Keys that start no process"):
  # Hyprland global shortcuts, with @focused keys and a ramp, and sway `nop` binds.
  ipc = ../examples/hyprland-ipc.nix;
  hyprlangIpc = home.evalHome [
    (example "hyprlang")
    ipc
  ];
  luaIpc = home.evalHome [
    (example "lua")
    ipc
  ];
  swayIpc = home.evalHome [
    (removeAttrs (example "hyprlang") [ "wayland" ])
    {
      services.audio-daemon.hyprland.enable = lib.mkForce false;
      services.audio-daemon.sway = {
        enable = true;
        mode = "ipc";
      };
      wayland.windowManager.sway = {
        enable = true;
        config.bars = [ ];
      };
    }
  ];

  failed = lib.concatMap home.failedAssertions [
    hyprlang
    lua
    hyprlangIpc
    luaIpc
    swayIpc
  ];
in
assert lib.assertMsg (failed == [ ]) (lib.concatStringsSep "\n" failed);
{
  texts = {
    "hyprland.conf" = hyprlang.xdg.configFile."hypr/hyprland.conf".text;
    "hyprland.lua" = lua.xdg.configFile."hypr/hyprland.lua".text;
    "audio-daemon.service" = home.unitText hyprlang "audio-daemon";
    # The session target the Hyprland VM starts the daemon with (scripts/vm-test.sh).
    "hyprland-session.target" = home.targetText hyprlang "hyprland-session";
    "hyprland-ipc.conf" = hyprlangIpc.xdg.configFile."hypr/hyprland.conf".text;
    "hyprland-ipc.lua" = luaIpc.xdg.configFile."hypr/hyprland.lua".text;
    "sway-ipc.conf" = swayIpc.xdg.configFile."sway/config".source.standInText;
  };
  json = {
    "waybar-config.json" = hyprlang.xdg.configFile."waybar/config".source.standInValue;
    "config-ipc.json" = hyprlangIpc.xdg.configFile."audio-daemon/config.json".source.standInValue;
    "config-sway-ipc.json" = swayIpc.xdg.configFile."audio-daemon/config.json".source.standInValue;
  };
}
