# Hyprland key binds, for both of home-manager's Hyprland config languages
# (hyprlang and Lua): `exec audioctl …` binds, or global shortcuts the daemon
# registers (mode = "ipc"; see binds.nix).
{
  config,
  lib,
  options,
  ...
}:
let
  cfg = config.services.audio-daemon;
  shared = import ./lib.nix { inherit lib cfg; };

  # `configType` exists from home-manager 26.05 on; before that the Hyprland
  # module only writes hyprlang, so that is what the binds must be.
  hasConfigType = lib.hasAttrByPath [
    "wayland"
    "windowManager"
    "hyprland"
    "configType"
  ] options;
  configType =
    if hasConfigType then config.wayland.windowManager.hyprland.configType else "hyprlang";

  binds = import ./binds.nix { inherit lib shared; };
  inherit (binds) isStep;
  ipc = cfg.hyprland.mode == "ipc";

  bindCommand = bind: shared.ctlCommand bind.action bind.app bind.amount;
  globalName = bind: "audio-daemon:${binds.keyId bind}";

  # hyprlang, exec mode: `bindel = SUPER SHIFT, XF86AudioRaiseVolume, exec, CMD`.
  # `e` repeats while held, `l` also works on the lock screen.
  hyprlangBind =
    bind: "${lib.concatStringsSep " " bind.mods}, ${bind.key}, exec, ${bindCommand bind}";
  # ipc mode: `bindl = SUPER, XF86AudioRaiseVolume, global, audio-daemon:vesktop-up`.
  # No `e`: Hyprland sends `pressed` and `released`, and the daemon ramps.
  hyprlangGlobal = bind: "${lib.concatStringsSep " " bind.mods}, ${bind.key}, global, ${globalName bind}";

  # Lua: `hl.bind("SUPER + SHIFT + KEY", hl.dsp.exec_cmd("CMD"),
  # { locked = true, repeating = true })`, rendered by home-manager's hyprland
  # module from an `_args` list; ipc mode: `hl.dsp.global("audio-daemon:ID")`,
  # not repeating.
  toLua = lib.generators.toLua { };
  luaBind = bind: {
    _args = [
      (lib.concatStringsSep " + " (bind.mods ++ [ bind.key ]))
      (lib.generators.mkLuaInline (
        if ipc then
          "hl.dsp.global(${toLua (globalName bind)})"
        else
          "hl.dsp.exec_cmd(${toLua (bindCommand bind)})"
      ))
      ({ locked = true; } // lib.optionalAttrs (isStep bind && !ipc) { repeating = true; })
    ];
  };

  stepBinds = lib.filter isStep cfg.hyprland.binds;
  muteBinds = lib.filter (bind: !isStep bind) cfg.hyprland.binds;

  # The hyprlang binds, for home-manager's settings and for the file to source.
  hyprlangSettings =
    if ipc then
      { bindl = map hyprlangGlobal cfg.hyprland.binds; }
    else
      {
        bindel = map hyprlangBind stepBinds;
        bindl = map hyprlangBind muteBinds;
      };

  # Without home-manager's Hyprland module (a hand-written config): the binds as
  # files to `source` (hyprlang) or `dofile` (Lua), each line as the module renders it.
  hmHyprland = config.wayland.windowManager.hyprland.enable or false;
  confFile = "audio-daemon/hyprland-binds.conf";
  luaFile = "audio-daemon/hyprland-binds.lua";
  inXdg = file: "${config.xdg.configHome}/${file}";
  toLuaLine = lib.generators.toLua { multiline = false; };
  luaLine = bind: "hl.bind(${lib.concatMapStringsSep ", " toLuaLine (luaBind bind)._args})";
  header = comment: "${comment} audio-daemon's key binds, written by home-manager (services.audio-daemon.hyprland).\n";
in
{
  options.services.audio-daemon.hyprland = {
    enable = lib.mkEnableOption "Hyprland volume key binds";

    mode = binds.modeOption "Hyprland" ''
      Hyprland triggers the global shortcut `audio-daemon:ID` (a
      `bindl ... global` bind) that the daemon registers from the `keys` this
      module adds to its config; holding an up/down key ramps the volume
      smoothly (`settings.ramp`) until it is released.
    '';

    sourced = binds.sourcedOption {
      compositor = "Hyprland";
      files = "{file}`$XDG_CONFIG_HOME/${confFile}` (hyprlang: `source = ...`) and {file}`$XDG_CONFIG_HOME/${luaFile}` (Lua: `dofile(...)`)";
    };

    binds = binds.bindsOption {
      example = ''
        [
          { mods = [ "SUPER" ]; key = "XF86AudioRaiseVolume"; app = "vesktop"; action = "up"; amount = 2; }
          { mods = [ "SUPER" ]; key = "XF86AudioLowerVolume"; app = "vesktop"; action = "down"; amount = 2; }
          { mods = [ "SUPER" ]; key = "XF86AudioMute"; app = "@focused"; action = "mute"; }
        ]
      '';
      description = ''
        Keys that change an app's volume. In `exec` mode, for
        {option}`wayland.windowManager.hyprland.configType` `"hyprlang"`
        (and with a home-manager older than 26.05, which has no
        `configType`) they become `bindel` (up / down: repeating, also when
        locked) and `bindl` (mute) entries; for `"lua"`, `hl.bind` calls
        with `repeating` and `locked` set the same way. In `ipc` mode they
        become `bindl ... global, audio-daemon:ID` entries (Lua:
        `hl.dsp.global`, `locked`) and `settings.keys.ID` entries.
      '';
    };
  };

  config = lib.mkIf (cfg.enable && cfg.hyprland.enable) (
    lib.mkMerge [
      {
        assertions =
          binds.bindAssertions "hyprland.binds" cfg.hyprland.binds
          ++ lib.optionals ipc (binds.collidingIds "hyprland.binds" cfg.hyprland.binds);
      }
      (lib.mkIf ipc { services.audio-daemon.settings.keys = binds.daemonKeys cfg.hyprland.binds; })
      # Whether or not home-manager's Hyprland module is on (when off, it writes
      # nothing): conditioning these on its `enable` would make that option depend on
      # them where the module is one freeform option (home-manager < 26.05).
      (lib.mkIf (configType == "hyprlang") {
        wayland.windowManager.hyprland.settings = hyprlangSettings;
      })
      (lib.mkIf (configType == "lua") {
        wayland.windowManager.hyprland.settings.bind = map luaBind cfg.hyprland.binds;
      })
      (lib.mkIf (!hmHyprland) {
        xdg.configFile.${confFile}.text =
          header "#" + lib.hm.generators.toHyprconf { attrs = hyprlangSettings; };
        xdg.configFile.${luaFile}.text =
          header "--" + lib.concatMapStrings (bind: luaLine bind + "\n") cfg.hyprland.binds;
        warnings = lib.optional (!cfg.hyprland.sourced) (
          binds.unsourcedWarning {
            option = "hyprland";
            module = "wayland.windowManager.hyprland";
            lines = [
              "source = ${inXdg confFile}          # hyprland.conf"
              "dofile(\"${inXdg luaFile}\")   -- hyprland.lua"
            ];
          }
        );
      })
    ]
  );
}
